// The taec CLI end to end: real files in, real files out, exit codes and messages for bad input.
#include <gmock/gmock.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/image.h"
#include "io/npy.h"
#include "test_util.h"

namespace {

using ::testing::HasSubstr;

using taec_test::CliResult;
using taec_test::quote;
using taec_test::run_cli;

std::string golden(const std::string& model, const std::string& file) {
  return taec_test::golden_dir() + "/" + model + "/" + file;
}

TEST(Cli, HelpAndVersion) {
  CliResult help = run_cli("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("decode"));
  EXPECT_THAT(help.out, HasSubstr("encode"));
  CliResult decode_help = run_cli("decode --help");
  EXPECT_EQ(decode_help.exit_code, 0);
  EXPECT_THAT(decode_help.out, HasSubstr("--layout"));
  EXPECT_EQ(run_cli("--version").exit_code, 0);
  EXPECT_EQ(run_cli("frobnicate").exit_code, 2);
}

TEST(Cli, InfoDescribesTheCheckpoint) {
  TAEC_REQUIRE_FIXTURES();
  CliResult r = run_cli("info " + quote(taec_test::model_path("taef2_decoder.pth")) + " --tensors");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("variant:         taef2"));
  EXPECT_THAT(r.out, HasSubstr("latent channels: 32"));
  EXPECT_THAT(r.out, HasSubstr("tensors:         79"));
  EXPECT_THAT(r.out, HasSubstr("0a44a31e1ae59eb9dbf9359d24942fd3ef5928162c1800d97a28c61d51be0ab5"));
  EXPECT_THAT(r.out, HasSubstr("3.pool.1.weight"));
}

// The PNG taec writes must equal the reference output clamped to [0,1] and rounded to 8 bits.
TEST(Cli, DecodeWritesThePngOfTheClampedReference) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  CliResult r = run_cli("decode taef2 " + quote(golden("taef2", "dec_astronaut_32x32.input.npy")) +
                  " --layout nchw --png " + dir + "/a.png --npy " + dir + "/a.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto png = taec::read_image(dir + "/a.png");
  ASSERT_TRUE(png.ok()) << png.status().message();
  auto expected = taec::read_npy(golden("taef2", "dec_astronaut_32x32.output.npy"));
  ASSERT_TRUE(expected.ok());
  ASSERT_EQ(png->chw.size(), expected->data.size());
  int worst = 0;
  for (size_t i = 0; i < png->chw.size(); ++i) {
    const float want = std::round(std::fmin(std::fmax(expected->data[i], 0.0f), 1.0f) * 255.0f);
    worst = std::max(worst, static_cast<int>(std::fabs(png->chw[i] * 255.0f - want) + 0.5f));
  }
  EXPECT_LE(worst, 1);  // 1e-5 output error can flip a rounding at x.5
  auto npy = taec::read_npy(dir + "/a.npy");
  ASSERT_TRUE(npy.ok());
  EXPECT_EQ(npy->shape, expected->shape);
  EXPECT_LE(taec_test::max_abs_diff(npy->data.data(), expected->data.data(), npy->data.size()), 1e-4f);
}

TEST(Cli, DecodeBatchWritesOnePngPerItem) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  CliResult r = run_cli("decode " + quote(taec_test::model_path("taef1_synthetic_decoder.safetensors")) + " " +
                  quote(golden("taef1_synthetic", "dec_batch2_16x16.input.npy")) + " --layout nchw --png " + dir + "/b.png");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir + "/b_0.png"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/b_1.png"));
}

// --precision int8 calibrates on photos as `taec bench` and `taec validate` do; without photos it
// says how to give them.
TEST(Cli, DecodeInt8CalibratesOnPhotos) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const std::string photo = std::filesystem::path(taec_test::model_dir()).parent_path().string() + "/images/astronaut.png";
  const std::string latent = quote(golden("taef2", "dec_astronaut_32x32.input.npy"));
  CliResult r = run_cli("decode taef2 " + latent + " --layout nchw --precision int8 --calibration-images " + quote(photo) + " --npy " +
                        dir + "/a.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("int8 calibration"));
  auto npy = taec::read_npy(dir + "/a.npy");
  auto expected = taec::read_npy(golden("taef2", "dec_astronaut_32x32.output.npy"));
  ASSERT_TRUE(npy.ok() && expected.ok());
  ASSERT_EQ(npy->shape, expected->shape);
  EXPECT_LE(taec_test::max_abs_diff(npy->data.data(), expected->data.data(), npy->data.size()), 0.3f);  // the int8 bound

  CliResult bare = run_cli("decode taef2 " + latent + " --layout nchw --precision int8 --npy " + dir + "/b.npy", "unset TAEC_IMAGE_DIR; ");
  EXPECT_EQ(bare.exit_code, 2);
  EXPECT_THAT(bare.err, HasSubstr("--calibration-images"));
}

// Golden encoder inputs are exact multiples of 1/255, so a PNG carries them losslessly.
TEST(Cli, EncodeImageMatchesReferenceLatent) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  auto input = taec::read_npy(golden("taef2", "enc_coffee_256.input.npy"));
  ASSERT_TRUE(input.ok());
  const size_t plane = 256 * 256;
  std::vector<float> hwc(plane * 3);
  for (size_t i = 0; i < plane; ++i)
    for (int c = 0; c < 3; ++c) hwc[3 * i + c] = input->data[c * plane + i];
  ASSERT_TRUE(taec::write_png_hwc(dir + "/coffee.png", hwc.data(), 256, 256).ok());
  CliResult r = run_cli("encode taef2 " + dir + "/coffee.png -o " + dir + "/latent.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto latent = taec::read_npy(dir + "/latent.npy");
  auto expected = taec::read_npy(golden("taef2", "enc_coffee_256.output.npy"));
  ASSERT_TRUE(latent.ok() && expected.ok());
  ASSERT_EQ(latent->shape, expected->shape);
  EXPECT_LE(taec_test::max_abs_diff(latent->data.data(), expected->data.data(), latent->data.size()), 1e-4f);
}

struct BadRun {
  const char* label;
  std::string args;
  const char* message;
};

TEST(Cli, BadInputExitsWithCode2AndSaysWhy) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  std::vector<float> nan_latent(16 * 2 * 2, 0.1f);
  nan_latent[3] = NAN;
  ASSERT_TRUE(taec::write_npy(dir + "/nan.npy", nan_latent.data(), {1, 16, 2, 2}, false).ok());
  std::vector<float> rank2(16 * 4, 0.1f);
  ASSERT_TRUE(taec::write_npy(dir + "/rank2.npy", rank2.data(), {16, 4}, false).ok());
  ASSERT_TRUE(taec::write_npy(dir + "/c7.npy", rank2.data(), {1, 7, 3, 3}, false).ok());
  taec_test::write_bytes(dir + "/broken.png", {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0});
  taec_test::write_bytes(dir + "/notes.pth", {'h', 'e', 'l', 'l', 'o'});
  const std::string dec = quote(taec_test::model_path("taef1_synthetic_decoder.pth"));
  const std::vector<BadRun> cases = {
      {"missing weights", "decode /nope/model.pth " + dir + "/nan.npy --png x.png", "/nope/model.pth: no such file"},
      {"unknown model name", "decode nosuchmodel " + dir + "/nan.npy --png x.png", "nosuchmodel_decoder"},
      {"not a checkpoint", "info " + dir + "/notes.pth", "not a checkpoint"},
      {"missing latent", "decode " + dec + " " + dir + "/none.npy --png x.png", "none.npy: cannot open"},
      {"nan latent", "decode " + dec + " " + dir + "/nan.npy --png " + dir + "/x.png", "1 NaN"},
      {"rank", "decode " + dec + " " + dir + "/rank2.npy --png x.png", "rank 2"},
      {"channels", "decode " + dec + " " + dir + "/c7.npy --png x.png", "has 7 channels"},
      {"no output", "decode " + dec + " " + dir + "/nan.npy", "nothing to write"},
      {"broken image", "encode taef2 " + dir + "/broken.png -o " + dir + "/l.npy", "broken.png"},
      {"encoder as decoder", "decode " + quote(taec_test::model_path("taef2_encoder.pth")) + " " + dir +
                                 "/nan.npy --png x.png", "not a decoder"},
      {"bad layout value", "decode " + dec + " " + dir + "/nan.npy --layout nwhc --png x.png", "nwhc"},
  };
  for (const auto& c : cases) {
    CliResult r = run_cli(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.label << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.label;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.png"));  // the NaN latent wrote nothing
}

// Hardening round 2: what used to crash, hang, mislead or print a warning per batch item.
TEST(Cli, BoundsAndMessagesForHostileOrUnluckyInput) {
  TAEC_REQUIRE_FIXTURES();
  CliResult r = run_cli("info /dev/zero");  // would have been read forever, or called "no such file"
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("is a character device, not a regular file"));
  r = run_cli("bench taef2 --sizes 64 --iters 1 --warmup 0 --threads 1024");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("1024 threads is more than"));
  r = run_cli("bench taef2 --sizes 99999999999 --iters 1");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("99999999999"));
  r = run_cli("bench taef2 --sizes 20000 --iters 1");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("20000x20000"));
}

TEST(Cli, BatchWarningsArePrintedOnce) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  std::vector<float> constant(4 * 32 * 2 * 2, 0.5f);  // "the latent is constant", for every item
  ASSERT_TRUE(taec::write_npy(dir + "/c.npy", constant.data(), {4, 32, 2, 2}, false).ok());
  CliResult r = run_cli("decode taef2 " + dir + "/c.npy --layout nchw --npy " + dir + "/o.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t warnings = 0;
  for (size_t at = r.err.find("taec: warning"); at != std::string::npos; at = r.err.find("taec: warning", at + 1)) ++warnings;
  EXPECT_EQ(warnings, 1u) << r.err;
  EXPECT_THAT(r.err, HasSubstr("4 items"));
}

// Out of memory is exit 1 with a message naming the input, never SIGABRT: the address space is
// capped so that the --npy of a 2000-item batch cannot be allocated.
TEST(Cli, OutOfMemoryExitsOneNamingTheFile) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  std::vector<float> batch(1200 * 32 * 16 * 16, 0.25f);
  ASSERT_TRUE(taec::write_npy(dir + "/big.npy", batch.data(), {1200, 32, 16, 16}, true).ok());
  const std::string decode = "decode taef2 " + dir + "/big.npy --layout nchw --npy " + dir + "/o.npy";
  // 250 MiB of address space: above the ~200 MiB the libraries (FFmpeg's among them) map at start,
  // below that plus the latent and the plan.
  CliResult r = run_cli(decode, "ulimit -v " + std::to_string(250 * 1024) + "; ");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("out of memory"));
  EXPECT_THAT(r.err, ::testing::AnyOf(HasSubstr("big.npy"), HasSubstr("taef2")));
  EXPECT_FALSE(std::filesystem::exists(dir + "/o.npy"));
  // 450 MiB: the 236 MiB of decoded images do not fit beside the libraries and the latent, but
  // they are streamed to the file as the plan makes them, never held.
  r = run_cli(decode, "ulimit -v " + std::to_string(450 * 1024) + "; ");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto out = taec::read_npy(dir + "/o.npy");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->shape, (std::vector<int64_t>{1200, 3, 128, 128}));
}

TEST(Cli, AllowNonfiniteDecodesAnyway) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  std::vector<float> latent(16, 0.1f);
  latent[0] = INFINITY;
  ASSERT_TRUE(taec::write_npy(dir + "/inf.npy", latent.data(), {1, 16, 1, 1}, false).ok());
  CliResult r = run_cli("decode " + quote(taec_test::model_path("taef1_synthetic_decoder.pth")) + " " + dir +
                  "/inf.npy --allow-nonfinite --png " + dir + "/inf.png");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir + "/inf.png"));
}

}  // namespace

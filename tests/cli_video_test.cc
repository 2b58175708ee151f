// The taec CLI on video models: every golden TAEHV case through `taec decode` / `taec encode`,
// the clip layouts, frame folders, the real Wan latents, and bad input (exit 2, nothing written).
#include <gmock/gmock.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "io/image.h"
#include "io/npy.h"
#include "taec/taec_video.h"
#include "test_util.h"

namespace {

using ::testing::HasSubstr;
using taec_test::CliResult;
using taec_test::quote;
using taec_test::run_cli;
namespace fs = std::filesystem;

std::string weights(const std::string& file) { return quote(taec_test::model_dir() + "/taehv/" + file); }
std::string golden(const std::string& model, const std::string& file) {
  return taec_test::golden_dir() + "/taehv/" + model + "/" + file;
}

struct CliCase {
  std::string model, name, kind, file;
};
void PrintTo(const CliCase& c, std::ostream* os) { *os << c.model << "/" << c.name << " (" << c.file << ")"; }

std::vector<CliCase> cases() {
  std::vector<CliCase> out;
  std::ifstream in(taec_test::golden_dir() + "/taehv/MANIFEST.json");
  if (in) {
    const nlohmann::json manifest = nlohmann::json::parse(in);
    for (const auto& c : manifest["cases"]) {
      const std::string model = c["model"];
      out.push_back({model, c["case"], c["kind"], model + "_synthetic.safetensors"});
      if (model == "taew2_1") out.push_back({model, c["case"], c["kind"], model + "_synthetic.pth"});
    }
  }
  if (out.empty()) out.push_back({"", "fixtures_missing", "", ""});
  return out;
}

class CliVideoGolden : public ::testing::TestWithParam<CliCase> {};

TEST_P(CliVideoGolden, MatchesTheReference) {
  TAEC_REQUIRE_FIXTURES();
  const CliCase& c = GetParam();
  const std::string dir = taec_test::temp_dir();
  const std::string in = quote(golden(c.model, c.name + ".input.npy"));
  const CliResult r = c.kind == "decoder" ? run_cli("decode " + weights(c.file) + " " + in + " --layout ntchw --npy " + dir + "/out.npy")
                                          : run_cli("encode " + weights(c.file) + " " + in + " --layout ntchw -o " + dir + "/out.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto got = taec::read_npy(dir + "/out.npy").value();
  const auto want = taec::read_npy(golden(c.model, c.name + ".output.npy")).value();
  ASSERT_EQ(got.shape, want.shape);
  EXPECT_LE(taec_test::max_abs_diff(got.data.data(), want.data.data(), got.data.size()), 1e-3f);
}

INSTANTIATE_TEST_SUITE_P(Taehv, CliVideoGolden, ::testing::ValuesIn(cases()), [](const auto& info) {
  std::string n = info.param.model + "_" + info.param.name + "_" + (info.param.file.find(".pth") != std::string::npos ? "pth" : "st");
  for (char& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return n;
});

// NCTHW in gives NCTHW out: the same numbers as NTCHW, transposed.
TEST(CliVideo, NcthwLayoutIsTheTransposedClip) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const auto ntchw = taec::read_npy(golden("taew2_1", "dec_t3_6x8.input.npy")).value();  // [1,3,16,6,8]
  const int64_t T = 3, C = 16, plane = 48;
  std::vector<float> ncthw(ntchw.data.size());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < plane; ++i) ncthw[(c * T + t) * plane + i] = ntchw.data[(t * C + c) * plane + i];
  ASSERT_TRUE(taec::write_npy(dir + "/in.npy", ncthw.data(), {1, C, T, 6, 8}, false).ok());
  const std::string w = weights("taew2_1_synthetic.safetensors");
  ASSERT_EQ(run_cli("decode " + w + " " + dir + "/in.npy --npy " + dir + "/a.npy").exit_code, 0);  // auto: C=16 first, T=3
  ASSERT_EQ(run_cli("decode " + w + " " + quote(golden("taew2_1", "dec_t3_6x8.input.npy")) + " --npy " + dir + "/b.npy").exit_code, 0);
  const auto a = taec::read_npy(dir + "/a.npy").value(), b = taec::read_npy(dir + "/b.npy").value();
  ASSERT_EQ(a.shape, (std::vector<int64_t>{1, 3, 9, 48, 64}));
  ASSERT_EQ(b.shape, (std::vector<int64_t>{1, 9, 3, 48, 64}));
  const int64_t F = 9, px = 48 * 64;
  for (int64_t f = 0; f < F; ++f)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < px; i += 97) ASSERT_EQ(a.data[(c * F + f) * px + i], b.data[(f * 3 + c) * px + i]);
}

// Frames as PNG: one per frame, each the clamped .npy frame rounded to 8 bits.
TEST(CliVideo, PngFolderHoldsEveryFrame) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const CliResult r = run_cli("decode " + weights("taew2_1_synthetic.safetensors") + " " + quote(golden("taew2_1", "dec_t3_6x8.input.npy")) +
                              " --png " + dir + "/frames --npy " + dir + "/out.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto npy = taec::read_npy(dir + "/out.npy").value();
  int count = 0;
  for (const auto& e : fs::directory_iterator(dir + "/frames")) count += e.path().extension() == ".png";
  EXPECT_EQ(count, 9);
  EXPECT_FALSE(fs::exists(dir + "/frames.taec-partial-" + std::to_string(getpid())));
  const auto png = taec::read_image(dir + "/frames/frame_00008.png").value();
  const size_t px = 48 * 64;
  for (size_t i = 0; i < 3 * px; ++i) {
    const float want = std::round(std::clamp(npy.data[8 * 3 * px + i], 0.0f, 1.0f) * 255.0f) / 255.0f;
    ASSERT_NEAR(png.chw[i], want, 1e-6f) << i;
  }
}

// The real Wan 2.1 latents (bf16 torch.save from a GPU): C and T are both 16, so the layout must be
// given; as NCTHW they are 61 frames of 320x512.
TEST(CliVideo, RealWanLatentsDecodeTo61Frames) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const std::string latents = quote(fs::path(taec_test::model_dir()).parent_path().string() + "/latents/test_latents_wan.pth");
  const std::string w = weights("taew2_1_synthetic.pth");
  CliResult r = run_cli("decode " + w + " " + latents + " --npy " + dir + "/x.npy");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--layout ntchw or --layout ncthw"));
  EXPECT_FALSE(fs::exists(dir + "/x.npy"));
  r = run_cli("decode " + w + " " + latents + " --layout ncthw --npy " + dir + "/wan.npy --npy-dtype f16");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = taec::read_npy(dir + "/wan.npy").value();
  EXPECT_EQ(out.shape, (std::vector<int64_t>{1, 3, 61, 320, 512}));
  for (float v : out.data) ASSERT_TRUE(std::isfinite(v));
}

// Frames a video file holds, read back through taec's reader (the size and rate too).
struct VideoSummary {
  int width = 0, height = 0, fps_num = 0, frames = 0;
  std::string codec;
};
VideoSummary read_video(const std::string& path) {
  VideoSummary v;
  taec_video_reader* r = nullptr;
  if (taec_video_reader_open(path.c_str(), &r) != TAEC_OK) {
    ADD_FAILURE() << taec_last_error();
    return v;
  }
  taec_video_info info;
  EXPECT_EQ(taec_video_reader_get_info(r, &info), TAEC_OK);
  v.width = info.width, v.height = info.height, v.fps_num = info.fps_num, v.codec = info.codec;
  std::vector<float> rgb(3 * static_cast<size_t>(info.width) * info.height);
  int got = 0;
  while (taec_video_reader_read(r, rgb.data(), TAEC_LAYOUT_NCHW, &got) == TAEC_OK && got) ++v.frames;
  taec_video_reader_free(r);
  return v;
}

// The real Wan latents to a video a person can play: 61 frames of 320x512 at Wan's 16 fps (H.264 in
// MP4; VP9 in WebM at another rate), and encoding that file again gives Wan's 16 latents.
TEST(CliVideo, RealWanLatentsToAPlayableVideo) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const std::string latents = quote(fs::path(taec_test::model_dir()).parent_path().string() + "/latents/test_latents_wan.pth");
  const std::string w = weights("taew2_1_synthetic.pth");
  CliResult r = run_cli("decode " + w + " " + latents + " --layout ncthw --video " + dir + "/wan.mp4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  VideoSummary v = read_video(dir + "/wan.mp4");
  EXPECT_EQ(v.codec, "h264");
  EXPECT_EQ(v.frames, 61);
  EXPECT_EQ(v.width, 512);
  EXPECT_EQ(v.height, 320);
  EXPECT_EQ(v.fps_num, 16);
  r = run_cli("encode " + w + " " + dir + "/wan.mp4 -o " + dir + "/again.npy --layout ncthw");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(taec::read_npy(dir + "/again.npy").value().shape, (std::vector<int64_t>{1, 16, 16, 40, 64}));
  r = run_cli("decode " + w + " " + quote(golden("taew2_1", "dec_t3_6x8.input.npy")) + " --video " + dir + "/small.webm --fps 24");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  v = read_video(dir + "/small.webm");
  EXPECT_EQ(v.codec, "vp9");
  EXPECT_EQ(v.frames, 9);
  EXPECT_EQ(v.fps_num, 24);
  // A container taec does not write is refused before anything is decoded.
  r = run_cli("decode " + w + " " + quote(golden("taew2_1", "dec_t3_6x8.input.npy")) + " --video " + dir + "/x.gif");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(fs::exists(dir + "/x.gif"));
}

struct BadCase {
  std::string what, args, message;
};

// Bad input: exit 2, a message naming the file and the problem, and no output left behind.
TEST(CliVideo, BadInputIsRefusedAndWritesNothing) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const std::string w = weights("taew2_1_synthetic.safetensors");
  auto npy = [&](const std::string& name, const std::vector<int64_t>& shape, float fill) {
    size_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float> v(n, 0.25f);
    if (std::isnan(fill) || std::isinf(fill)) v[n / 2] = fill;
    EXPECT_TRUE(taec::write_npy(dir + "/" + name, v.data(), shape, false).ok());
    return dir + "/" + name;
  };
  const std::string good = npy("good.npy", {1, 2, 16, 4, 4}, 0);
  std::vector<uint8_t> bytes = taec_test::read_bytes(good);
  bytes.resize(bytes.size() / 2);
  taec_test::write_bytes(dir + "/truncated.npy", bytes);
  fs::create_directories(dir + "/full");
  taec_test::write_bytes(dir + "/full/keep.txt", {'k'});
  const std::vector<BadCase> bad = {
      {"channels", npy("c8.npy", {1, 2, 8, 4, 4}, 0), "model takes 16"},
      {"rank", npy("r3.npy", {16, 4, 4}, 0), "rank 5"},
      {"no latents", npy("t0.npy", {1, 0, 16, 4, 4}, 0), "empty clip"},
      {"nan", npy("nan.npy", {1, 2, 16, 4, 4}, NAN), "NaN in clip 0, latent 1"},
      {"inf", npy("inf.npy", {1, 2, 16, 4, 4}, INFINITY), "Inf in clip 0, latent 1"},
      {"truncated", dir + "/truncated.npy", "truncated.npy"},
      {"missing", dir + "/missing.npy", "missing.npy"},
      {"image layout", good + " --layout nhwc", "decodes clips"},
  };
  for (const BadCase& b : bad) {
    const CliResult r = run_cli("decode " + w + " " + b.args + " --npy " + dir + "/out.npy --png " + dir + "/frames");
    EXPECT_EQ(r.exit_code, 2) << b.what << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(b.message)) << b.what;
    EXPECT_FALSE(fs::exists(dir + "/out.npy")) << b.what;
    EXPECT_FALSE(fs::exists(dir + "/frames")) << b.what;
  }
  // A folder with something in it is never written into, and its content stays.
  CliResult r = run_cli("decode " + w + " " + good + " --png " + dir + "/full");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("not empty"));
  EXPECT_EQ(taec_test::read_bytes(dir + "/full/keep.txt"), std::vector<uint8_t>{'k'});
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().string().find("taec-partial"), std::string::npos) << e.path();
}

// A folder of frames encodes to what the same frames as a clip .npy give, bitwise, in natural order.
TEST(CliVideo, EncodeFromAFolderOfFrames) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const std::string w = weights("taew2_1_synthetic.safetensors");
  // 9 frames 48x64 made by the decoder, as PNGs (8-bit) and as the .npy of those 8-bit values.
  ASSERT_EQ(run_cli("decode " + w + " " + quote(golden("taew2_1", "dec_t3_6x8.input.npy")) + " --png " + dir + "/frames").exit_code, 0);
  fs::create_directories(dir + "/unpadded");
  std::vector<float> clip;
  for (int f = 0; f < 9; ++f) {
    char name[32];
    std::snprintf(name, sizeof name, "/frames/frame_%05d.png", f);
    fs::copy_file(dir + name, dir + "/unpadded/f" + std::to_string(f) + ".png");  // f10 would sort before f2 without natural order
    const auto img = taec::read_image(dir + name).value();
    clip.insert(clip.end(), img.chw.begin(), img.chw.end());
  }
  ASSERT_TRUE(taec::write_npy(dir + "/clip.npy", clip.data(), {1, 9, 3, 48, 64}, false).ok());
  CliResult a = run_cli("encode " + w + " " + dir + "/unpadded -o " + dir + "/a.npy");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(run_cli("encode " + w + " " + dir + "/clip.npy -o " + dir + "/b.npy").exit_code, 0);
  EXPECT_EQ(taec_test::read_bytes(dir + "/a.npy"), taec_test::read_bytes(dir + "/b.npy"));
  EXPECT_EQ(taec::read_npy(dir + "/a.npy").value().shape, (std::vector<int64_t>{1, 3, 16, 6, 8}));
  CliResult m = run_cli("encode " + w + " " + dir + "/unpadded --max-frames 5 --layout ncthw -o " + dir + "/m.npy");
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_EQ(taec::read_npy(dir + "/m.npy").value().shape, (std::vector<int64_t>{1, 16, 2, 6, 8}));
}

// A video package decodes through the CLI like the weights it was packed from: bitwise for an fp32
// NCHW package, within the package's bf16 tolerance for the default one (bf16, NHWC, fp16 I/O).
TEST(CliVideo, DecodeWithAPackage) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const std::string w = weights("taew2_1_synthetic.safetensors"), in = quote(golden("taew2_1", "dec_t3_6x8.input.npy"));
  CliResult r = run_cli("pack " + w + " --sizes 48x64 --precision fp32 --io fp32 --layout nchw --out " + dir + "/fp32");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_cli("pack " + w + " --sizes 48x64,64x48 --out " + dir + "/default");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(run_cli("decode " + w + " " + in + " --npy " + dir + "/weights.npy").exit_code, 0);
  r = run_cli("decode --package " + dir + "/fp32 " + in + " --npy " + dir + "/fp32.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(taec_test::read_bytes(dir + "/fp32.npy"), taec_test::read_bytes(dir + "/weights.npy"));
  r = run_cli("decode --package " + dir + "/default " + in + " --npy " + dir + "/default.npy --png " + dir + "/frames");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto got = taec::read_npy(dir + "/default.npy").value();
  const auto want = taec::read_npy(golden("taew2_1", "dec_t3_6x8.output.npy")).value();
  ASSERT_EQ(got.shape, want.shape);
  EXPECT_LE(taec_test::max_abs_diff(got.data.data(), want.data.data(), got.data.size()), 0.06f);
  // A size the package does not hold is refused, naming the package's sizes or the one asked for.
  r = run_cli("decode --package " + dir + "/default " + quote(golden("taew2_1", "dec_t5_5x7.input.npy")) + " --npy " + dir + "/x.npy");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("40x56"));
  EXPECT_FALSE(fs::exists(dir + "/x.npy"));
}

TEST(CliVideo, InfoShowsBothHalvesAndTheFrameRule) {
  TAEC_REQUIRE_FIXTURES();
  const CliResult r = run_cli("info " + weights("taeh3_synthetic.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("variant:         taeh3"));
  EXPECT_THAT(r.out, HasSubstr("frame rule:      h3"));
  EXPECT_THAT(r.out, HasSubstr("time factor:     4"));
  EXPECT_THAT(r.out, HasSubstr("encoder"));
  EXPECT_THAT(r.out, HasSubstr("decoder"));
}

}  // namespace

// `taec export coreml` end to end: what it writes, --print-mil, --weights, and exit code 2 with a
// message naming the file and the problem for bad input, with nothing left behind.
#include <gmock/gmock.h>

#include <filesystem>

#include "base/sha256.h"
#include "export/coreml/package_reader.h"
#include "test_util.h"

namespace {

using ::testing::HasSubstr;
using taec_test::quote;
using taec_test::run_cli;

constexpr const char* kTaef2WeightSha256 = "d9d30f8c992b265b3a08c19e2bcadff8da06fb3f2f96bb2dd7b8ee01c1519058";

std::string model(const std::string& file) { return quote(taec_test::model_path(file)); }

size_t entries(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator(); ++it) ++n;
  return n;
}

TEST(coreml_cli, WritesOnePackagePerSizeWithTheSameWeights) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  auto r = run_cli("export coreml " + model("taef2_decoder.pth") + " --sizes 768,1024x512 --out " + quote(dir));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"taef2_decoder_768", "taef2_decoder_1024x512"}) {
    const std::string path = dir + "/" + name + ".mlpackage";
    auto read = taec::coreml::read_package(path);
    ASSERT_TRUE(read.ok()) << read.status().message();
    auto bytes = taec_test::read_bytes(path + "/Data/com.apple.CoreML/weights/weight.bin");
    EXPECT_EQ(taec::sha256_hex(bytes.data(), bytes.size()), kTaef2WeightSha256) << name;
    EXPECT_THAT(r.out, HasSubstr(path));
  }
  EXPECT_EQ(entries(dir), 2u) << "no temporary directories left behind";
}

TEST(coreml_cli, MultifunctionAndEnumeratedPackages) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  auto r = run_cli("export coreml " + model("taef1_synthetic_decoder.safetensors") +
                   " --sizes 256,512 --multifunction --io fp32 --out " + quote(dir));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("function r256, r512"));
  auto multi = taec::coreml::read_package(dir + "/taef1_decoder.mlpackage");
  ASSERT_TRUE(multi.ok()) << multi.status().message();
  EXPECT_EQ(multi->model.description().defaultfunctionname(), "r256");
  r = run_cli("export coreml " + model("taef1_synthetic_decoder.safetensors") + " --sizes 256,512 --enumerated --out " +
              quote(dir));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(taec::coreml::read_package(dir + "/taef1_decoder_enumerated.mlpackage").ok());
}

TEST(coreml_cli, PrintMil) {
  TAEC_REQUIRE_FIXTURES();
  auto r = run_cli("export coreml " + model("taef2_decoder.safetensors") + " --sizes 64 --print-mil");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("func main<ios18>(tensor<fp16, [1, 8, 8, 32]> latent)"));
  EXPECT_THAT(r.out, HasSubstr("tensor<fp16, [64, 32, 3, 3]> decoder_1_weight_to_fp16 = const()"));
  EXPECT_THAT(r.out, HasSubstr("BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(64))"));
  EXPECT_THAT(r.out, HasSubstr("fp16 decoder_0_y_0 = const()[name = string(\"decoder_0_y_0\"), val = fp16(0x1.554p-2)]"));
  EXPECT_THAT(r.out, HasSubstr("} -> (image);"));
}

TEST(coreml_cli, CompressedWeights) {
  TAEC_REQUIRE_FIXTURES();
  auto r = run_cli("export coreml " + model("taef2_decoder.safetensors") + " --sizes 64 --weights palette4 --print-mil");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(
      "tensor<fp16, [64, 32, 3, 3]> decoder_1_weight_to_fp16_palettized = constexpr_lut_to_dense("
      "indices = tensor<uint4, [64, 32, 3, 3]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), "
      "offset = uint64(64))), lut = tensor<fp16, [64, 1, 1, 1, 16, 1]>(BLOBFILE(path = string("
      "\"@model_path/weights/weight.bin\"), offset = uint64(9344))))[name = string(\"decoder_1_weight_to_fp16_palettized\")];"));
  EXPECT_THAT(r.out, HasSubstr("weight = decoder_1_weight_to_fp16_palettized, x = "));
  r = run_cli("export coreml " + model("taef2_decoder.safetensors") + " --sizes 64 --weights int8 --print-mil");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("decoder_19_weight_to_fp16_quantized = constexpr_blockwise_shift_scale(data = "
                               "tensor<int8, [3, 64, 3, 3]>(BLOBFILE("));
  EXPECT_THAT(r.out, HasSubstr("scale = tensor<fp16, [3, 1, 1, 1]>([0x"));  // 3 scales: an immediate value

  const std::string dir = taec_test::temp_dir();
  r = run_cli("export coreml " + model("taef1_synthetic_decoder.safetensors") +
              " --sizes 64,128 --multifunction --weights palette8 --out " + quote(dir));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("taef1_decoder_palette8.mlpackage: function r64, r128; 336 ops each; conv weights palette8"));
  auto read = taec::coreml::read_package(dir + "/taef1_decoder_palette8.mlpackage");
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->functions.at("r128").op_histogram.at("constexpr_lut_to_dense"), 35);
}

TEST(coreml_cli, BadInputExitsTwoNamingTheProblem) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  taec_test::write_bytes(dir + "/file", {1, 2, 3});
  struct Bad {
    std::string args;
    std::string message;
  };
  const std::vector<Bad> cases = {
      {"export coreml " + quote(dir + "/missing.pth") + " --out " + quote(dir + "/o"), "missing.pth"},
      {"export coreml " + model("taef2_encoder.safetensors") + " --out " + quote(dir + "/o"), "holds an encoder"},
      {"export coreml " + model("taef2_decoder.pth") + " --sizes 770 --out " + quote(dir + "/o"),
       "770x770 is not a positive multiple of 8"},
      {"export coreml " + model("taef2_decoder.pth") + " --sizes 64,abc --out " + quote(dir + "/o"), "\"abc\""},
      {"export coreml " + model("taef2_decoder.pth") + " --sizes 999992 --out " + quote(dir + "/o"), "at most 16384"},
      {"export coreml " + model("taef2_decoder.pth") + " --sizes 64 --out " + quote(dir + "/file/o"),
       dir + "/file/o"},
      {"export coreml " + model("taef2_decoder.pth") + " --sizes 64 --enumerated --multifunction --out " +
       quote(dir + "/o"), "exclude each other"},
      {"export coreml " + model("taef2_decoder.pth") + " --sizes 64", "--out"},
      {"export coreml " + model("taef2_decoder.pth") + " --layout nhcw --out " + quote(dir + "/o"), "nhcw"},
      {"export coreml " + model("taef2_decoder.pth") + " --weights palette3 --out " + quote(dir + "/o"), "palette3"},
  };
  for (const Bad& b : cases) {
    auto r = run_cli(b.args);
    EXPECT_EQ(r.exit_code, 2) << b.args << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(b.message)) << b.args;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/o")) << "nothing written on bad input";
}

// A TAEHV decoder: one multifunction stateful package and per-size tensor-style packages of the
// same method, with one weight.bin between them.
TEST(coreml_cli, VideoDecoderPackages) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const std::string weights = model("taehv/taew2_1_synthetic.safetensors");
  auto r = run_cli("export coreml " + weights + " --sizes 32,32x48 --multifunction --state stateful --chunk 2 "
                   "--weights palette8 --out " + quote(dir));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto multi = taec::coreml::read_package(dir + "/taew2_1_decoder_palette8_stateful_k2.mlpackage");
  ASSERT_TRUE(multi.ok()) << multi.status().message();
  const auto& fn = multi->model.description().functions(1);
  EXPECT_EQ(fn.name(), "r32x48");
  EXPECT_EQ(fn.state_size(), 9);
  ASSERT_EQ(fn.input_size(), 1);
  EXPECT_THAT(fn.input(0).type().multiarraytype().shape(), ::testing::ElementsAre(1, 2, 4, 6, 16));  // [1, K, h, w, Cz]
  EXPECT_THAT(fn.output(0).type().multiarraytype().shape(), ::testing::ElementsAre(1, 8, 32, 48, 3));  // [1, K*t, H, W, 3]
  EXPECT_EQ(multi->model.description().metadata().userdefined().at("com.github.taec.frame_rule"), "standard");

  r = run_cli("export coreml " + weights + " --sizes 32 --layout nchw --weights palette8 --out " + quote(dir));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto single = taec::coreml::read_package(dir + "/taew2_1_decoder_palette8_32.mlpackage");
  ASSERT_TRUE(single.ok()) << single.status().message();
  EXPECT_EQ(single->model.description().input_size(), 1 + 9);   // latents + one tensor per state
  EXPECT_EQ(single->model.description().output_size(), 1 + 9);  // frames + NAME_next per state
  EXPECT_EQ(single->model.description().output(1).name(), single->model.description().input(1).name() + "_next");
  EXPECT_EQ(single->blobs.bytes, multi->blobs.bytes) << "one weight.bin for every size, style and chunk";

  // Variants of the same shapes export under their own name and frame rule (the app's trim).
  for (const auto& [variant, rule] : {std::pair{"taecvx", "cogvideox"}, std::pair{"taeos1_3", "standard"}}) {
    r = run_cli("export coreml " + weights + " --sizes 8 --variant " + variant + " --out " + quote(dir));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto read = taec::coreml::read_package(dir + "/" + variant + "_decoder_8.mlpackage");
    ASSERT_TRUE(read.ok()) << read.status().message();
    EXPECT_EQ(read->model.description().metadata().userdefined().at("com.github.taec.frame_rule"), rule);
  }
}

// Video-specific refusals: exit 2, the problem named, nothing written.
TEST(coreml_cli, VideoBadInputExitsTwo) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const std::string out = " --out " + quote(dir + "/o");
  const std::string wan = "export coreml " + model("taehv/taew2_1_synthetic.safetensors");
  const std::string hv15 = "export coreml " + model("taehv/taehv1_5_synthetic.safetensors");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {wan + " --sizes 32 --chunk 0" + out, "a chunk of 0 latents: give 1..16"},
      {wan + " --sizes 32 --chunk 17" + out, "a chunk of 17 latents"},
      {hv15 + " --sizes 40" + out, "40x40 is not a positive multiple of 16"},
      {wan + " --sizes 32 --enumerated" + out, "fixed shapes"},
      {wan + " --sizes 32 --variant taeltx_2" + out, "variant taeltx_2 expects 128 latent channels"},
      {wan + " --sizes 32 --variant taesd9" + out, "unknown video variant"},
      {wan + " --sizes 32 --state inplace" + out, "inplace"},
      {"export coreml " + model("taef2_decoder.safetensors") + " --sizes 64 --chunk 2" + out,
       "a latent chunk and a state style apply to video decoders only"},
  };
  for (const auto& [args, message] : cases) {
    auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(message)) << args;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/o")) << "nothing written on bad input";
}

}  // namespace

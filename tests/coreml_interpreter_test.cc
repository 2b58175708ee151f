// The exported program computes the decoder: each written package is read back, interpreted op by
// op with the reference kernels rounding every fp16 value to fp16 (as the device stores them),
// and compared with the fp32 reference engine on the original graph. Tolerances are the product's
// FP16-class ones: max |err| 0.03 for FLUX.1, 0.05 for FLUX.2.
#include <gtest/gtest.h>

#include "export/coreml/mil_interpreter.h"
#include "export/coreml/package_writer.h"
#include "graph/model.h"
#include "io/npy.h"
#include "runtime/reference_engine.h"
#include "test_util.h"

namespace {

using namespace taec::coreml;

struct Case {
  const char* name;
  const char* model;   // file in shared/models
  const char* golden;  // folder in shared/golden
  Packaging packaging;
  bool nhwc, fp32_io;
  int image;           // square image size of the run
  float tolerance;
};

// A realistic latent: the top-left latent_size^2 crop of a golden input (NCHW).
std::vector<float> latent_crop(const std::string& golden, int channels, int latent_size) {
  auto npy = taec::read_npy(taec_test::golden_dir() + "/" + golden + "/dec_astronaut_32x32.input.npy");
  EXPECT_TRUE(npy.ok()) << npy.status().message();
  std::vector<float> out(static_cast<size_t>(channels) * latent_size * latent_size);
  for (int c = 0; c < channels; ++c) {
    for (int y = 0; y < latent_size; ++y) {
      for (int x = 0; x < latent_size; ++x) {
        out[(c * latent_size + y) * latent_size + x] = npy->data[(c * 32 + y) * 32 + x];
      }
    }
  }
  return out;
}

// [C,H,W] <-> [H,W,C]
std::vector<float> to_nhwc(const std::vector<float>& nchw, int c, int hw) {
  std::vector<float> out(nchw.size());
  for (int ch = 0; ch < c; ++ch) {
    for (int i = 0; i < hw; ++i) out[i * c + ch] = nchw[ch * hw + i];
  }
  return out;
}

// Test names and failure messages show the case name, not the struct's bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class CoremlInterpreter : public ::testing::TestWithParam<Case> {};

TEST_P(CoremlInterpreter, ExportedProgramMatchesTheFp32Reference) {
  TAEC_REQUIRE_FIXTURES();
  const Case& c = GetParam();
  auto model = taec::load_model(taec_test::model_path(c.model), taec::LoadRequest{});
  ASSERT_TRUE(model.ok()) << model.status().message();
  const int latent = c.image / 8, channels = (*model)->latent_channels;

  ExportOptions options;
  options.sizes = {{c.image, c.image}, {2 * c.image, 2 * c.image}};
  options.packaging = c.packaging;
  options.lowering.nhwc = c.nhwc;
  options.lowering.fp32_io = c.fp32_io;
  auto packages = build_packages(**model, options);
  ASSERT_TRUE(packages.ok()) << packages.status().message();
  const PackageContents& p = packages->front();  // per size: the package of the first size
  const std::string path = taec_test::temp_dir() + "/" + p.name + ".mlpackage";
  ASSERT_TRUE(write_package(path, p).ok());
  auto read = read_package(path);
  ASSERT_TRUE(read.ok()) << read.status().message();

  const std::vector<float> nchw = latent_crop(c.golden, channels, latent);
  HostTensor input;
  input.dims = c.nhwc ? std::vector<int64_t>{1, latent, latent, channels} : std::vector<int64_t>{1, channels, latent, latent};
  input.data = c.nhwc ? to_nhwc(nchw, channels, latent * latent) : nchw;
  const std::string function = c.packaging == Packaging::multifunction ? function_name_for({c.image, c.image}) : "main";
  auto got = interpret_function(*read, function, input);
  ASSERT_TRUE(got.ok()) << got.status().message();

  std::vector<float> expected(3 * static_cast<size_t>(c.image) * c.image);
  taec::run_graph_reference((*model)->graph, latent, latent, nchw.data(), expected.data());
  if (c.nhwc) expected = to_nhwc(expected, 3, c.image * c.image);
  const std::vector<int64_t> out_dims =
      c.nhwc ? std::vector<int64_t>{1, c.image, c.image, 3} : std::vector<int64_t>{1, 3, c.image, c.image};
  ASSERT_EQ(got->dims, out_dims);
  const float err = taec_test::max_abs_diff(got->data.data(), expected.data(), expected.size());
  std::printf("%s: max |err| %.4f (tolerance %.2f)\n", c.name, err, c.tolerance);
  EXPECT_LE(err, c.tolerance);
  EXPECT_GT(err, 0.0f) << "fp16 rounding should show";
}

INSTANTIATE_TEST_SUITE_P(
    coreml, CoremlInterpreter,
    ::testing::Values(
        Case{"taef2_nhwc_fp16", "taef2_decoder.safetensors", "taef2", Packaging::per_size, true, false, 64, 0.05f},
        Case{"taef2_nchw_fp32_multifunction", "taef2_decoder.safetensors", "taef2", Packaging::multifunction, false,
             true, 64, 0.05f},
        Case{"taef2_enumerated", "taef2_decoder.safetensors", "taef2", Packaging::enumerated, true, false, 64, 0.05f},
        Case{"taef1_nhwc_fp16", "taef1_synthetic_decoder.safetensors", "taef1_synthetic", Packaging::per_size, true,
             false, 64, 0.03f},
        Case{"taef1_enumerated", "taef1_synthetic_decoder.safetensors", "taef1_synthetic", Packaging::enumerated, true,
             false, 64, 0.03f}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

}  // namespace

// The exported program computes the decoder: each written package is read back, interpreted op by
// op with the reference kernels rounding every fp16 value to fp16 (as the device stores them),
// and compared with the fp32 reference engine on the original graph. Tolerances are the product's
// FP16-class ones: max |err| 0.03 for FLUX.1, 0.05 for FLUX.2. Programs with compressed weights
// are compared with the reference on the original and on taec's own quantized weights (below).
#include <gtest/gtest.h>

#include <variant>

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

// Compressed weights (--weights palette8|palette4|int8): the exported program, interpreted, against
// (a) the fp32 reference with the original weights: the quantization error plus fp16 storage;
// (b) the fp32 reference with the weights taec's own quantizers give (src/quant: the same
//     palettize()/quantize_int8() calls, dequantized by src/quant), i.e. the same quantized weights
//     run through taec: what remains is fp16 storage, plus for int8 the fp16 rounding of the
//     per-channel scales: the same size as the uncompressed export's error on this input.
// Bounds: the max |err| measured here (64x64 astronaut crop) with ~1.5x margin for (a), ~3x the
// fp16 storage error for (b); the figures are printed and recorded in docs/COREML_EXPORT.md.
struct CompressedCase {
  const char* name;
  const char* model;
  const char* golden;
  WeightCompression weights;
  float tolerance_vs_original;   // (a)
  float tolerance_vs_quantized;  // (b)
};

void PrintTo(const CompressedCase& c, std::ostream* os) { *os << c.name; }

class CoremlCompressedInterpreter : public ::testing::TestWithParam<CompressedCase> {};

TEST_P(CoremlCompressedInterpreter, MatchesTheReferenceAndTaecsQuantizedWeights) {
  TAEC_REQUIRE_FIXTURES();
  const CompressedCase& c = GetParam();
  auto model = taec::load_model(taec_test::model_path(c.model), taec::LoadRequest{});
  ASSERT_TRUE(model.ok()) << model.status().message();
  constexpr int kImage = 64, kLatent = kImage / 8;
  const int channels = (*model)->latent_channels;

  ExportOptions options;
  options.sizes = {{kImage, kImage}};
  options.lowering.nhwc = false;  // NCHW in and out: compare with the reference engine directly
  options.weights = c.weights;
  auto packages = build_packages(**model, options);
  ASSERT_TRUE(packages.ok()) << packages.status().message();
  const std::string path = taec_test::temp_dir() + "/" + packages->front().name + ".mlpackage";
  ASSERT_TRUE(write_package(path, packages->front()).ok());
  auto read = read_package(path);
  ASSERT_TRUE(read.ok()) << read.status().message();

  HostTensor input;
  input.dims = {1, channels, kLatent, kLatent};
  input.data = latent_crop(c.golden, channels, kLatent);
  auto got = interpret_function(*read, "main", input);
  ASSERT_TRUE(got.ok()) << got.status().message();

  // The graph with every compressed weight replaced by taec's dequantized quantization of it.
  auto compressed = compress_weights(**model, c.weights);
  ASSERT_TRUE(compressed.ok()) << compressed.status().message();
  taec::Graph quantized_graph = (*model)->graph;
  ASSERT_EQ(compressed->by_weight.size(), static_cast<size_t>((*model)->variant == "taef2" ? 41 : 35));
  for (const auto& [index, q] : compressed->by_weight) {
    quantized_graph.weights[index].data = std::visit([](const auto& t) { return taec::dequantize(t); }, q);
  }

  const size_t n = 3 * static_cast<size_t>(kImage) * kImage;
  std::vector<float> original(n), quantized(n);
  taec::run_graph_reference((*model)->graph, kLatent, kLatent, input.data.data(), original.data());
  taec::run_graph_reference(quantized_graph, kLatent, kLatent, input.data.data(), quantized.data());
  ASSERT_EQ(got->data.size(), n);
  const float vs_original = taec_test::max_abs_diff(got->data.data(), original.data(), n);
  const float vs_quantized = taec_test::max_abs_diff(got->data.data(), quantized.data(), n);
  const float quantization_only = taec_test::max_abs_diff(quantized.data(), original.data(), n);
  std::printf("%s: max |err| vs original weights %.4f (tolerance %.2f), vs taec's quantized weights %.4f "
              "(tolerance %.2f); taec's quantized weights vs original %.4f\n",
              c.name, vs_original, c.tolerance_vs_original, vs_quantized, c.tolerance_vs_quantized, quantization_only);
  EXPECT_LE(vs_original, c.tolerance_vs_original);
  EXPECT_LE(vs_quantized, c.tolerance_vs_quantized);
  EXPECT_GT(vs_quantized, 0.0f) << "fp16 rounding should show";
}

INSTANTIATE_TEST_SUITE_P(
    coreml, CoremlCompressedInterpreter,
    ::testing::Values(
        // Measured (a): taef2 palette8 0.0174, palette4 0.1696, int8 0.0280; taef1 0.0136, 0.1058,
        // 0.0295. (b): 0.0008 .. 0.0018, the uncompressed export's fp16 storage error here being
        // 0.0017 (taef2) / 0.0012 (taef1).
        CompressedCase{"taef2_palette8", "taef2_decoder.safetensors", "taef2", WeightCompression::palette8, 0.03f, 0.005f},
        CompressedCase{"taef2_palette4", "taef2_decoder.safetensors", "taef2", WeightCompression::palette4, 0.25f, 0.005f},
        CompressedCase{"taef2_int8", "taef2_decoder.safetensors", "taef2", WeightCompression::int8, 0.045f, 0.005f},
        CompressedCase{"taef1_palette8", "taef1_synthetic_decoder.safetensors", "taef1_synthetic",
                       WeightCompression::palette8, 0.025f, 0.005f},
        CompressedCase{"taef1_palette4", "taef1_synthetic_decoder.safetensors", "taef1_synthetic",
                       WeightCompression::palette4, 0.16f, 0.005f},
        CompressedCase{"taef1_int8", "taef1_synthetic_decoder.safetensors", "taef1_synthetic", WeightCompression::int8,
                       0.045f, 0.005f}),
    [](const ::testing::TestParamInfo<CompressedCase>& info) { return std::string(info.param.name); });

}  // namespace

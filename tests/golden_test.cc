// Every case of ../shared/golden/*/MANIFEST.json, both weight formats, reproduced through the
// public API (plus fp16 helpers) by the reference plan within 1e-4 (the fp32 reference itself is within 3e-6 of fp64).
#include <nlohmann/json.hpp>

#include <fstream>
#include <vector>

#include "base/half.h"  // only to make fp16 test buffers
#include "taec/taec.hpp"
#include "test_util.h"

namespace {

struct GoldenCase {
  std::string model;  // golden folder = weight file stem prefix
  std::string name;
  std::string kind;   // decoder | encoder
  std::string format; // pth | safetensors
};

std::vector<GoldenCase> load_cases() {
  std::vector<GoldenCase> cases;
  for (const char* model : {"taef2", "taef1_synthetic"}) {
    std::ifstream in(taec_test::golden_dir() + "/" + model + "/MANIFEST.json");
    if (!in) continue;
    nlohmann::json manifest = nlohmann::json::parse(in);
    for (const auto& c : manifest["cases"]) {
      for (const char* format : {"pth", "safetensors"}) {
        cases.push_back({model, c["name"], c["kind"], format});
      }
    }
  }
  if (cases.empty()) cases.push_back({"", "fixtures_missing", "", ""});
  return cases;
}

void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.model << "/" << c.name << " (" << c.format << ")"; }

class GoldenTest : public ::testing::TestWithParam<GoldenCase> {};

// Runs the whole NCHW batch through one plan, item by item.
std::vector<float> run_case(const GoldenCase& c, const taec::Array& input, taec_layout layout,
                            taec_dtype io_dtype, taec_precision precision, std::vector<int64_t>* out_shape) {
  taec_load_options lo;
  taec_load_options_init(&lo);
  taec::Model model(taec_test::model_path(c.model + "_" + c.kind + "." + c.format), &lo);
  const auto shape = input.shape();  // NCHW
  const int factor = model.info().spatial_factor;
  taec_plan_options opts;
  taec_plan_options_init(&opts);
  const bool decoder = c.kind == "decoder";
  opts.image_height = static_cast<int>(decoder ? shape[2] * factor : shape[2]);
  opts.image_width = static_cast<int>(decoder ? shape[3] * factor : shape[3]);
  opts.layout = layout;
  opts.io_dtype = io_dtype;
  opts.precision = precision;
  taec::Plan plan(model, opts);
  const taec_plan_io io = plan.io();
  const int64_t batch = shape[0];
  std::vector<float> out(io.output_elems * batch);
  for (int64_t n = 0; n < batch; ++n) {
    const float* src = input.data() + n * io.input_elems;
    float* dst = out.data() + n * io.output_elems;
    if (layout == TAEC_LAYOUT_NCHW && io_dtype == TAEC_DTYPE_F32) {
      plan.run(src, dst);
      continue;
    }
    // Transpose to NHWC (and/or round to fp16) on the way in, back on the way out.
    const int64_t c_in = shape[1], plane_in = shape[2] * shape[3];
    const int64_t c_out = io.output_shape[layout == TAEC_LAYOUT_NHWC ? 3 : 1];
    const int64_t plane_out = static_cast<int64_t>(io.output_elems) / c_out;
    std::vector<float> in_f(io.input_elems), out_f(io.output_elems);
    for (int64_t ch = 0; ch < c_in; ++ch)
      for (int64_t i = 0; i < plane_in; ++i)
        in_f[layout == TAEC_LAYOUT_NHWC ? i * c_in + ch : ch * plane_in + i] = src[ch * plane_in + i];
    if (io_dtype == TAEC_DTYPE_F32) {
      plan.run(in_f.data(), out_f.data());
    } else {
      std::vector<uint16_t> in_h(in_f.size()), out_h(out_f.size());
      for (size_t i = 0; i < in_h.size(); ++i) in_h[i] = taec::float_to_fp16(in_f[i]);
      plan.run(in_h.data(), out_h.data());
      for (size_t i = 0; i < out_h.size(); ++i) out_f[i] = taec::fp16_to_float(out_h[i]);
    }
    for (int64_t ch = 0; ch < c_out; ++ch)
      for (int64_t i = 0; i < plane_out; ++i)
        dst[ch * plane_out + i] = out_f[layout == TAEC_LAYOUT_NHWC ? i * c_out + ch : ch * plane_out + i];
  }
  *out_shape = {batch, io.output_shape[layout == TAEC_LAYOUT_NHWC ? 3 : 1],
                io.output_shape[layout == TAEC_LAYOUT_NHWC ? 1 : 2],
                io.output_shape[layout == TAEC_LAYOUT_NHWC ? 2 : 3]};
  return out;
}

void expect_matches_golden(const GoldenCase& c, taec_layout layout, taec_dtype io_dtype, float tolerance,
                           taec_precision precision = TAEC_PRECISION_FP32) {
  const std::string base = taec_test::golden_dir() + "/" + c.model + "/" + c.name;
  taec::Array input = taec::Array::load_npy(base + ".input.npy");
  taec::Array expected = taec::Array::load_npy(base + ".output.npy");
  std::vector<int64_t> shape;
  std::vector<float> got = run_case(c, input, layout, io_dtype, precision, &shape);
  ASSERT_EQ(shape, expected.shape());
  const float err = taec_test::max_abs_diff(got.data(), expected.data(), expected.elems());
  std::printf("%s/%s (%s, %s): max |err| = %.3g\n", c.model.c_str(), c.name.c_str(), c.format.c_str(),
              precision == TAEC_PRECISION_REFERENCE ? "reference" : precision == TAEC_PRECISION_BF16 ? "bf16" : "fp32", err);
  EXPECT_LE(err, tolerance) << c.model << "/" << c.name;
}

TEST_P(GoldenTest, ReferencePlanMatchesPyTorch) {
  TAEC_REQUIRE_FIXTURES();
  expect_matches_golden(GetParam(), TAEC_LAYOUT_NCHW, TAEC_DTYPE_F32, 1e-4f, TAEC_PRECISION_REFERENCE);
}

// The compiled plan on whatever ISA this host (capped by TAEC_MAX_ISA) offers. Its tolerance is
// the product's fp32 contract; it lands near 1e-5.
TEST_P(GoldenTest, CompiledFp32PlanMatchesPyTorch) {
  TAEC_REQUIRE_FIXTURES();
  expect_matches_golden(GetParam(), TAEC_LAYOUT_NCHW, TAEC_DTYPE_F32, 1e-3f, TAEC_PRECISION_FP32);
}

// FP16-class: the product's tolerances, 0.03 for FLUX.1 and 0.05 for FLUX.2 (taef1_synthetic has
// the FLUX.1 architecture).
// One weight format suffices here: both hold the same tensors (checked by the fp32 cases).
class GoldenBf16Test : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenBf16Test, CompiledBf16PlanWithinFp16ClassTolerance) {
  TAEC_REQUIRE_FIXTURES();
  const GoldenCase& c = GetParam();
  expect_matches_golden(c, TAEC_LAYOUT_NCHW, TAEC_DTYPE_F32, c.model == "taef2" ? 0.05f : 0.03f, TAEC_PRECISION_BF16);
}

INSTANTIATE_TEST_SUITE_P(Manifest, GoldenTest, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) {
                           return info.param.model + "_" + info.param.name + "_" + info.param.format;
                         });

std::vector<GoldenCase> safetensors_cases() {
  std::vector<GoldenCase> cases;
  for (const auto& c : load_cases()) {
    if (c.format != "pth") cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Manifest, GoldenBf16Test, ::testing::ValuesIn(safetensors_cases()),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) {
                           return info.param.model + "_" + info.param.name;
                         });

// Layout and I/O dtype only change the buffers at the ends (compiled plans): NHWC must match as
// tightly as NCHW;
// fp16 I/O adds one rounding of the input and of the output (about 1e-3 relative).
TEST(GoldenLayouts, NhwcMatchesOnNonSquareCase) {
  TAEC_REQUIRE_FIXTURES();
  for (const char* model : {"taef2", "taef1_synthetic"}) {
    expect_matches_golden({model, "dec_rand_24x40", "decoder", "safetensors"}, TAEC_LAYOUT_NHWC, TAEC_DTYPE_F32, 1e-3f);
  }
  expect_matches_golden({"taef2", "enc_chelsea_256", "encoder", "pth"}, TAEC_LAYOUT_NHWC, TAEC_DTYPE_F32, 1e-3f);
  expect_matches_golden({"taef2", "dec_rand_24x40", "decoder", "pth"}, TAEC_LAYOUT_NHWC, TAEC_DTYPE_F32, 1e-4f,
                        TAEC_PRECISION_REFERENCE);
}

TEST(GoldenLayouts, Fp16IoStaysWithinHalfPrecision) {
  TAEC_REQUIRE_FIXTURES();
  expect_matches_golden({"taef2", "dec_tiny_3x5", "decoder", "pth"}, TAEC_LAYOUT_NHWC, TAEC_DTYPE_F16, 2e-3f);
  expect_matches_golden({"taef1_synthetic", "dec_tiny_3x5", "decoder", "pth"}, TAEC_LAYOUT_NCHW, TAEC_DTYPE_F16, 2e-3f);
}

}  // namespace

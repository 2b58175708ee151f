// src/quality/validate and `taec validate`: inputs, passing plans, and plans that are really
// wrong (perturbed weights) failing, through the library and through the CLI's exit code.
#include <gmock/gmock.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/half.h"
#include "graph/model.h"
#include "quality/validate.h"
#include "test_util.h"

namespace {

using ::testing::HasSubstr;

std::shared_ptr<const taec::Model> load(const std::string& file) {
  auto m = taec::load_model(taec_test::model_path(file), {});
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m.ok() ? m.value() : nullptr;
}

std::string image(const std::string& name) { return std::string(TAEC_TEST_SHARED_DIR) + "/images/" + name; }

std::unique_ptr<taec::Plan> compile(std::shared_ptr<const taec::Model> model, taec::Precision precision, int size,
                                    taec::Layout layout = taec::Layout::nchw) {
  taec::PlanOptions o;
  o.image_height = o.image_width = size;
  o.precision = precision;
  o.layout = layout;
  auto plan = taec::compile_plan(std::move(model), o);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  return plan.ok() ? std::move(plan).value() : nullptr;
}

// The decoder with the bias of its output conv ("19.bias", RGB) shifted by `delta`: every output
// pixel of that channel moves by exactly delta.
std::shared_ptr<const taec::Model> perturbed(const taec::Model& model, float delta) {
  auto copy = std::make_shared<taec::Model>(model);
  bool found = false;
  for (auto& w : copy->graph.weights) {
    if (w.name == "19.bias") {
      w.data[0] += delta;
      found = true;
    }
  }
  EXPECT_TRUE(found);
  return copy;
}

TEST(QualityValidate, TolerancesAreTheProducts) {
  EXPECT_EQ(taec::default_tolerance("taef2", taec::Precision::bf16), 0.05);
  EXPECT_EQ(taec::default_tolerance("taef1", taec::Precision::bf16), 0.03);
  EXPECT_EQ(taec::default_tolerance("taef2", taec::Precision::fp32), 1e-3);
  EXPECT_EQ(taec::default_tolerance("taef1", taec::Precision::fp32), 1e-3);
}

TEST(QualityValidate, InputsAreSeededAndIncludeRealImageLatents) {
  TAEC_REQUIRE_FIXTURES();
  auto decoder = load("taef2_decoder.safetensors");
  auto encoder = load("taef2_encoder.safetensors");
  taec::ValidationInputOptions o;
  o.random_count = 2;
  o.image_paths = {image("chelsea.png")};
  auto a = taec::make_validation_inputs(*decoder, encoder.get(), 64, 96, o);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_EQ(a->size(), 3u);
  EXPECT_EQ((*a)[2].name, "image:chelsea");
  for (const auto& in : *a) {
    EXPECT_EQ(in.shape.channels, 32);
    EXPECT_EQ(in.shape.height, 8);
    EXPECT_EQ(in.shape.width, 12);
  }
  // Random latents ~ N(0, 0.8^2).
  double sum = 0, sum_sq = 0;
  for (float v : (*a)[0].data) {
    sum += v;
    sum_sq += v * v;
  }
  const double n = static_cast<double>((*a)[0].data.size());
  EXPECT_NEAR(sum / n, 0.0, 0.1);
  EXPECT_NEAR(std::sqrt(sum_sq / n), 0.8, 0.08);
  auto again = taec::make_validation_inputs(*decoder, encoder.get(), 64, 96, o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].data, (*a)[0].data);  // same seed, same inputs
  EXPECT_EQ((*again)[2].data, (*a)[2].data);
  o.seed += 1;
  auto other = taec::make_validation_inputs(*decoder, encoder.get(), 64, 96, o);
  ASSERT_TRUE(other.ok());
  EXPECT_NE((*other)[0].data, (*a)[0].data);
  // A decoder with images but no encoder is an error that says so.
  auto no_encoder = taec::make_validation_inputs(*decoder, nullptr, 64, 64, o);
  EXPECT_FALSE(no_encoder.ok());
  EXPECT_THAT(no_encoder.status().message(), HasSubstr("encoder"));
}

TEST(QualityValidate, CompiledPlansPassAndAPerturbedPlanFails) {
  TAEC_REQUIRE_FIXTURES();
  auto decoder = load("taef2_decoder.safetensors");
  auto encoder = load("taef2_encoder.safetensors");
  taec::ValidationInputOptions o;
  o.random_count = 1;
  o.image_paths = {image("astronaut.png")};
  auto set = taec::make_validation_set(decoder, encoder.get(), 64, 64, o);
  ASSERT_TRUE(set.ok()) << set.status().message();
  ASSERT_EQ(set->inputs.size(), 2u);

  // fp32 in NHWC: the validator converts layouts itself.
  auto fp32 = compile(decoder, taec::Precision::fp32, 64, taec::Layout::nhwc);
  auto good = taec::validate_plan(*fp32, *set, taec::default_tolerance("taef2", taec::Precision::fp32));
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_TRUE(good->passed) << good->worst.max_abs;
  EXPECT_LT(good->worst.max_abs, 1e-4);
  ASSERT_EQ(good->cases.size(), 2u);
  EXPECT_EQ(good->cases[1].input, "image:astronaut");

  auto bf16 = compile(decoder, taec::Precision::bf16, 64);
  auto fp16_class = taec::validate_plan(*bf16, *set, taec::default_tolerance("taef2", taec::Precision::bf16));
  ASSERT_TRUE(fp16_class.ok());
  EXPECT_TRUE(fp16_class->passed) << fp16_class->worst.max_abs;

  // A plan compiled from wrong weights: the red output channel is off by 0.1 everywhere.
  auto wrong = compile(perturbed(*decoder, 0.1f), taec::Precision::fp32, 64);
  auto bad = taec::validate_plan(*wrong, *set, taec::default_tolerance("taef2", taec::Precision::bf16));
  ASSERT_TRUE(bad.ok()) << bad.status().message();
  EXPECT_FALSE(bad->passed);
  EXPECT_NEAR(bad->worst.max_abs, 0.1, 2e-3);
  EXPECT_NEAR(bad->worst.mae, 0.1 / 3, 2e-3);  // one channel of three

  // A plan of another size is refused, not compared.
  auto other_size = compile(decoder, taec::Precision::fp32, 128);
  auto refused = taec::validate_plan(*other_size, *set, 1e-3);
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("128x128"));
}

// Writes a copy of a .safetensors checkpoint with `tensor`'s first fp16 element shifted by delta.
void write_perturbed_safetensors(const std::string& from, const std::string& to, const std::string& tensor,
                                 float delta) {
  std::vector<uint8_t> bytes = taec_test::read_bytes(from);
  ASSERT_GT(bytes.size(), 8u);
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  const auto header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + header_len);
  ASSERT_TRUE(header.contains(tensor));
  ASSERT_EQ(header[tensor]["dtype"], "F16");
  const size_t at = 8 + header_len + header[tensor]["data_offsets"][0].get<size_t>();
  uint16_t h;
  std::memcpy(&h, &bytes[at], 2);
  h = taec::float_to_fp16(taec::fp16_to_float(h) + delta);
  std::memcpy(&bytes[at], &h, 2);
  taec_test::write_bytes(to, bytes);
}

// int8 plans calibrate on the validation photos and are held to the int8 tolerance; without
// photos there is nothing to calibrate on, which is a usage error.
TEST(QualityValidateCli, Int8CalibratesOnThePhotos) {
  TAEC_REQUIRE_FIXTURES();
  auto ok = taec_test::run_cli("validate taef2 --sizes 64 --precision int8 --random 1 --role decoder --images " +
                               taec_test::quote(image("chelsea.png")));
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("taef2 decoder 64x64 int8"));
  EXPECT_THAT(ok.out, HasSubstr("<= tolerance 0.3"));
  unsetenv("TAEC_IMAGE_DIR");  // the default photo folder
  auto none = taec_test::run_cli("validate taef2 --sizes 64 --precision int8 --random 1 --role decoder");
  EXPECT_EQ(none.exit_code, 2) << none.out << none.err;
  EXPECT_THAT(none.err, HasSubstr("int8 calibrates on photos"));
}

TEST(QualityValidateCli, ExitsNonZeroOnAWrongPlan) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const std::string wrong = dir + "/taef2_decoder_wrong.safetensors";
  write_perturbed_safetensors(taec_test::model_path("taef2_decoder.safetensors"), wrong, "19.bias", 0.25f);
  const std::string common =
      " --sizes 64 --precision fp32,bf16 --random 1 --role decoder --images " + taec_test::quote(image("chelsea.png"));

  auto ok = taec_test::run_cli("validate taef2" + common);
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("taef2 decoder 64x64 fp32"));
  EXPECT_THAT(ok.out, HasSubstr("image:chelsea"));
  EXPECT_THAT(ok.out, HasSubstr("PASS"));
  EXPECT_THAT(ok.out, ::testing::Not(HasSubstr("FAIL")));

  auto bad = taec_test::run_cli("validate taef2 --candidate " + taec_test::quote(wrong) + common);
  EXPECT_EQ(bad.exit_code, 3) << bad.out << bad.err;
  EXPECT_THAT(bad.out, HasSubstr("FAIL: max|err| 0.25"));
  EXPECT_THAT(bad.err, HasSubstr("validation FAILED"));

  // An impossible tolerance fails the same way (a real over-tolerance path, not a stub).
  auto strict = taec_test::run_cli("validate taef2 --tolerance 0" + common);
  EXPECT_EQ(strict.exit_code, 3) << strict.out << strict.err;
}

TEST(QualityValidateCli, EncoderPlansAreValidatedToo) {
  TAEC_REQUIRE_FIXTURES();
  auto r =
      taec_test::run_cli("validate " + taec_test::quote(taec_test::model_path("taef1_synthetic_encoder.safetensors")) +
                         " --sizes 64 --precision fp32,bf16 --random 1");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("taef1 encoder 64x64 fp32"));
  EXPECT_THAT(r.out, HasSubstr("taef1 encoder 64x64 bf16(=fp32)"));
}

}  // namespace

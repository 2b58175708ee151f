// The C API's contracts: options validation, NaN/Inf policy, lifetimes, weight lookup.
#include <gmock/gmock.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <vector>

#include "taec/taec.hpp"
#include "test_util.h"

namespace {

using ::testing::HasSubstr;

taec_plan_options options(int h, int w) {
  taec_plan_options o;
  taec_plan_options_init(&o);
  o.image_height = h;
  o.image_width = w;
  return o;
}

TEST(PlanApi, NullArgumentsAreErrorsNotCrashes) {
  taec_model* model = nullptr;
  EXPECT_EQ(taec_model_load(nullptr, nullptr, &model), TAEC_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(taec_last_error(), HasSubstr("NULL"));
  taec_plan_options o = options(8, 8);
  taec_plan* plan = nullptr;
  EXPECT_EQ(taec_plan_compile(nullptr, &o, &plan), TAEC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(taec_plan_run(nullptr, nullptr, nullptr), TAEC_ERR_INVALID_ARGUMENT);
  taec_model_free(nullptr);
  taec_plan_free(nullptr);
  taec_array_free(nullptr);
}

TEST(PlanApi, MissingFileNamesIt) {
  taec_model* model = nullptr;
  EXPECT_EQ(taec_model_load("/no/such/taef2_decoder.pth", nullptr, &model), TAEC_ERR_IO);
  EXPECT_THAT(taec_last_error(), HasSubstr("/no/such/taef2_decoder.pth"));
  EXPECT_EQ(model, nullptr);
}

TEST(PlanApi, DecoderSizesMustBeMultiplesOfEight) {
  TAEC_REQUIRE_FIXTURES();
  taec::Model model(taec_test::model_path("taef2_decoder.pth"));
  for (auto [h, w] : std::vector<std::pair<int, int>>{{0, 8}, {8, -8}, {12, 16}, {16, 20}, {1 << 20, 8}}) {
    taec_plan_options o = options(h, w);
    taec_plan* plan = nullptr;
    EXPECT_EQ(taec_plan_compile(model.get(), &o, &plan), TAEC_ERR_INVALID_ARGUMENT) << h << "x" << w;
    EXPECT_EQ(plan, nullptr);
  }
  taec_plan_options bad_layout = options(8, 8);
  bad_layout.layout = static_cast<taec_layout>(7);
  taec_plan* plan = nullptr;
  EXPECT_EQ(taec_plan_compile(model.get(), &bad_layout, &plan), TAEC_ERR_INVALID_ARGUMENT);
}

TEST(PlanApi, IoShapesFollowLayout) {
  TAEC_REQUIRE_FIXTURES();
  taec::Model model(taec_test::model_path("taef2_decoder.pth"));
  taec_plan_options o = options(24, 40);
  o.layout = TAEC_LAYOUT_NHWC;
  taec::Plan plan(model, o);
  taec_plan_io io = plan.io();
  EXPECT_EQ(std::vector<int64_t>(io.input_shape, io.input_shape + 4), (std::vector<int64_t>{1, 3, 5, 32}));
  EXPECT_EQ(std::vector<int64_t>(io.output_shape, io.output_shape + 4), (std::vector<int64_t>{1, 24, 40, 3}));
  taec::Model encoder(taec_test::model_path("taef2_encoder.pth"));
  taec::Plan enc(encoder, options(17, 9));  // any encoder size: latent is ceil(size / 8)
  io = enc.io();
  EXPECT_EQ(std::vector<int64_t>(io.output_shape, io.output_shape + 4), (std::vector<int64_t>{1, 32, 3, 2}));
}

TEST(PlanApi, NanLatentIsRefusedByDefaultAndPropagatesWhenAllowed) {
  TAEC_REQUIRE_FIXTURES();
  taec::Model model(taec_test::model_path("taef1_synthetic_decoder.pth"));
  taec_plan_options o = options(16, 8);
  taec::Plan strict(model, o);
  std::vector<float> latent(strict.io().input_elems, 0.25f);
  latent[5] = NAN;
  latent[7] = INFINITY;
  std::vector<float> image(strict.io().output_elems, -1.0f);
  try {
    strict.run(latent.data(), image.data());
    FAIL() << "a NaN latent was accepted";
  } catch (const taec::Error& e) {
    EXPECT_EQ(e.status(), TAEC_ERR_NONFINITE);
    EXPECT_THAT(e.what(), HasSubstr("1 NaN and 1 Inf"));
    EXPECT_THAT(e.what(), HasSubstr("channel 2, y 1, x 0"));  // element 5 of a [16,2,1] latent
  }
  o.nonfinite = TAEC_NONFINITE_PROPAGATE;
  taec::Plan lenient(model, o);
  lenient.run(latent.data(), image.data());
  bool any_nan = false;
  for (float v : image) any_nan |= std::isnan(v);
  EXPECT_TRUE(any_nan);
}

TEST(PlanApi, PlanOutlivesItsModel) {
  TAEC_REQUIRE_FIXTURES();
  taec_model* model = nullptr;
  ASSERT_EQ(taec_model_load(taec_test::model_path("taef2_decoder.safetensors").c_str(), nullptr, &model), TAEC_OK);
  taec_plan_options o = options(8, 8);
  taec_plan* plan = nullptr;
  ASSERT_EQ(taec_plan_compile(model, &o, &plan), TAEC_OK);
  taec_model_free(model);
  std::vector<float> latent(32, 0.5f), image(3 * 64);
  EXPECT_EQ(taec_plan_run(plan, latent.data(), image.data()), TAEC_OK);
  EXPECT_GT(image[0], 0.0f);
  taec_plan_free(plan);
}

TEST(PlanApi, ResolvesModelNamesThroughModelDirThenCache) {
  TAEC_REQUIRE_FIXTURES();
  const std::string cache = taec_test::temp_dir();
  std::filesystem::copy_file(taec_test::model_path("taef2_encoder.pth"), cache + "/mymodel_encoder.pth");
  ::setenv("TAEC_CACHE_DIR", cache.c_str(), 1);
  EXPECT_EQ(taec::resolve_weights("taef2", TAEC_ROLE_DECODER), taec_test::model_dir() + "/taef2_decoder.safetensors");
  EXPECT_EQ(taec::resolve_weights("mymodel", TAEC_ROLE_ENCODER), cache + "/mymodel_encoder.pth");
  try {
    taec::resolve_weights("mymodel", TAEC_ROLE_DECODER);
    FAIL();
  } catch (const taec::Error& e) {
    EXPECT_EQ(e.status(), TAEC_ERR_IO);
    EXPECT_THAT(e.what(), HasSubstr("mymodel_decoder.pth"));  // lists what it tried
  }
  ::unsetenv("TAEC_CACHE_DIR");
}

}  // namespace

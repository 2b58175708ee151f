// The C API's contracts: options validation, NaN/Inf policy, lifetimes, weight lookup.
#include <gmock/gmock.h>
#include <stdlib.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
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

namespace {

// The bands of taec_plan_run_rows put together, in the plan's layout and io dtype.
struct Assembled {
  std::vector<uint8_t> bytes;
  size_t row_bytes = 0;  // of one row of one plane (NCHW) or of one pixel row (NHWC)
  int height = 0, next_row = 0, bands = 0;
  bool nchw = true;
};

taec_status assemble(int row_begin, int row_end, const void* rows, void* user) {
  auto* a = static_cast<Assembled*>(user);
  if (row_begin != a->next_row || row_end <= row_begin || row_end > a->height) return TAEC_ERR_INTERNAL;
  const size_t r = row_end - row_begin;
  const auto* src = static_cast<const uint8_t*>(rows);
  const int planes = a->nchw ? 3 : 1;
  for (int c = 0; c < planes; ++c) {
    std::memcpy(a->bytes.data() + (c * a->height + row_begin) * a->row_bytes, src + c * r * a->row_bytes, r * a->row_bytes);
  }
  a->next_row = row_end;
  ++a->bands;
  return TAEC_OK;
}

}  // namespace

TEST(PlanApi, RowsByBandAreTheWholeOutputBitwise) {
  TAEC_REQUIRE_FIXTURES();
  taec::Model model(taec_test::model_path("taef2_decoder.safetensors"));
  for (taec_layout layout : {TAEC_LAYOUT_NCHW, TAEC_LAYOUT_NHWC}) {
    for (taec_dtype dtype : {TAEC_DTYPE_F32, TAEC_DTYPE_F16}) {
      for (taec_memory_mode memory : {TAEC_MEMORY_BANDED, TAEC_MEMORY_WHOLE}) {
        SCOPED_TRACE(std::to_string(layout) + " " + std::to_string(dtype) + " " + std::to_string(memory));
        taec_plan_options o = options(64, 96);
        o.layout = layout;
        o.io_dtype = dtype;
        o.memory = memory;
        o.precision = TAEC_PRECISION_FP32;
        taec::Plan plan(model, o);
        const taec_plan_io io = plan.io();
        const size_t elem = dtype == TAEC_DTYPE_F16 ? 2 : 4;
        std::vector<uint8_t> input(io.input_elems * elem), whole(io.output_elems * elem);
        for (size_t i = 0; i < io.input_elems; ++i) {
          const float v = std::sin(0.37f * static_cast<float>(i));
          if (dtype == TAEC_DTYPE_F16) taec_f32_to_f16(&v, reinterpret_cast<uint16_t*>(input.data()) + i, 1);
          else std::memcpy(input.data() + i * 4, &v, 4);
        }
        plan.run(input.data(), whole.data());
        Assembled a;
        a.bytes.assign(whole.size(), 0xee);
        a.height = 64;
        a.nchw = layout == TAEC_LAYOUT_NCHW;
        a.row_bytes = 96 * elem * (a.nchw ? 1 : 3);
        ASSERT_EQ(taec_plan_run_rows(plan.get(), input.data(), assemble, &a), TAEC_OK) << taec_last_error();
        EXPECT_EQ(a.next_row, 64);
        if (memory == TAEC_MEMORY_BANDED) EXPECT_GT(a.bands, 1) << "a banded plan hands over more than one band";
        EXPECT_TRUE(a.bytes == whole);
      }
    }
  }
}

TEST(PlanApi, RowConsumerErrorStopsTheRunWithItsStatus) {
  TAEC_REQUIRE_FIXTURES();
  taec::Model model(taec_test::model_path("taef2_decoder.safetensors"));
  taec::Plan plan(model, options(64, 64));
  std::vector<float> latent(plan.io().input_elems, 0.25f);
  int calls = 0;
  auto stop = [](int, int, const void*, void* user) {
    ++*static_cast<int*>(user);
    return TAEC_ERR_IO;
  };
  EXPECT_EQ(taec_plan_run_rows(plan.get(), latent.data(), stop, &calls), TAEC_ERR_IO);
  EXPECT_EQ(calls, 1) << "no band after the consumer failed";
  EXPECT_EQ(taec_plan_run_rows(plan.get(), latent.data(), nullptr, nullptr), TAEC_ERR_INVALID_ARGUMENT);
  // The C++ wrapper rethrows the consumer's exception; the plan runs normally afterwards.
  EXPECT_THROW(plan.run_rows(latent.data(), [](int, int, const void*) { throw std::runtime_error("disk full"); }), std::runtime_error);
  int rows = 0;
  plan.run_rows(latent.data(), [&](int y0, int y1, const void*) { rows += y1 - y0; });
  EXPECT_EQ(rows, 64);
}

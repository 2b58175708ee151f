// src/quality/metrics: error statistics and SSIM against values computed by hand (or, for SSIM on
// a textured pattern, by an independent direct 2-D implementation; see the test).
#include <gmock/gmock.h>

#include <cmath>
#include <limits>
#include <vector>

#include "quality/metrics.h"
#include "taec/taec_quality.h"
#include "test_util.h"

namespace {

using taec::compare_buffers;
using taec::ErrorStats;

TEST(QualityMetrics, ErrorStatsOfAHandComputedCase) {
  // differences 0.1, -0.1, 0.2, 0: MAE 0.4/4 = 0.1, MSE 0.06/4 = 0.015, PSNR 10 log10(1/0.015).
  const std::vector<float> ref = {0.5f, 0.5f, 0.5f, 0.5f};
  const std::vector<float> got = {0.6f, 0.4f, 0.7f, 0.5f};
  const ErrorStats e = compare_buffers(got.data(), ref.data(), 4, false);
  EXPECT_EQ(e.count, 4u);
  EXPECT_EQ(e.nonfinite, 0u);
  EXPECT_NEAR(e.max_abs, 0.2, 1e-6);
  EXPECT_NEAR(e.mae, 0.1, 1e-6);
  EXPECT_NEAR(e.rmse, std::sqrt(0.015), 1e-6);
  EXPECT_NEAR(e.psnr_db, 18.2390874, 1e-4);
}

TEST(QualityMetrics, IdenticalInputsHaveInfinitePsnr) {
  const std::vector<float> v = {0.1f, 0.2f, 0.3f};
  const ErrorStats e = compare_buffers(v.data(), v.data(), v.size(), false);
  EXPECT_EQ(e.max_abs, 0.0);
  EXPECT_TRUE(std::isinf(e.psnr_db) && e.psnr_db > 0);
  EXPECT_NEAR(taec::psnr_from_mse(0.01), 20.0, 1e-12);
  EXPECT_NEAR(taec::psnr_from_mse(1e-4), 40.0, 1e-12);
}

TEST(QualityMetrics, ClampingComparesWhatAnImageShows) {
  // 1.3 vs 1.0 and -0.2 vs 0.1: unclamped |d| = 0.3 each; clamped to [0,1]: 0 and 0.1.
  const std::vector<float> ref = {1.0f, 0.1f};
  const std::vector<float> got = {1.3f, -0.2f};
  EXPECT_NEAR(compare_buffers(got.data(), ref.data(), 2, false).max_abs, 0.3, 1e-6);
  const ErrorStats clamped = compare_buffers(got.data(), ref.data(), 2, true);
  EXPECT_NEAR(clamped.max_abs, 0.1, 1e-6);
  EXPECT_NEAR(clamped.mae, 0.05, 1e-6);
}

TEST(QualityMetrics, NonFiniteValuesPoisonEveryStatistic) {
  const std::vector<float> ref = {0.0f, 0.0f, 0.0f};
  const std::vector<float> got = {0.0f, std::numeric_limits<float>::quiet_NaN(),
                                  std::numeric_limits<float>::infinity()};
  const ErrorStats e = compare_buffers(got.data(), ref.data(), 3, false);
  EXPECT_EQ(e.nonfinite, 2u);
  EXPECT_TRUE(std::isnan(e.max_abs));
  EXPECT_TRUE(std::isnan(e.psnr_db));
  EXPECT_FALSE(e.max_abs <= 1.0);  // can never pass a tolerance
}

TEST(QualityMetrics, MergeWeighsByElementCount) {
  ErrorStats a, b;
  a.count = 1;
  a.max_abs = a.mae = a.rmse = 0.2;  // one element off by 0.2
  b.count = 3;                       // three exact elements
  const ErrorStats m = taec::merge_error_stats(a, b);
  EXPECT_EQ(m.count, 4u);
  EXPECT_NEAR(m.max_abs, 0.2, 1e-12);
  EXPECT_NEAR(m.mae, 0.05, 1e-12);
  EXPECT_NEAR(m.rmse, 0.1, 1e-12);  // sqrt(0.04 / 4)
  EXPECT_NEAR(m.psnr_db, 20.0, 1e-9);
}

TEST(QualityMetrics, SsimOfIdenticalImagesIsOne) {
  std::vector<float> img(3 * 20 * 24);
  for (size_t i = 0; i < img.size(); ++i) img[i] = static_cast<float>((i * 37) % 101) / 100.0f;
  EXPECT_NEAR(taec::ssim(img.data(), img.data(), 3, 20, 24), 1.0, 1e-12);
}

TEST(QualityMetrics, SsimOfConstantImagesIsTheLuminanceTerm) {
  // Constant planes a and b: variances and covariance are 0, so SSIM = (2ab + C1) / (a^2 + b^2 + C1).
  const double a = 0.25, b = 0.75, c1 = 1e-4;
  std::vector<float> x(2 * 16 * 16, static_cast<float>(a)), y(2 * 16 * 16, static_cast<float>(b));
  EXPECT_NEAR(taec::ssim(x.data(), y.data(), 2, 16, 16), (2 * a * b + c1) / (a * a + b * b + c1), 1e-9);
  // Values outside [0,1] are clamped first: 1.5 reads as 1.0 -> (2*0.25 + C1) / (0.0625 + 1 + C1).
  std::vector<float> z(2 * 16 * 16, 1.5f);
  EXPECT_NEAR(taec::ssim(x.data(), z.data(), 2, 16, 16), (2 * a + c1) / (a * a + 1 + c1), 1e-9);
}

TEST(QualityMetrics, SsimMatchesAnIndependentImplementation) {
  // Pattern and expected value from a direct (non-separable) 2-D Gaussian-window SSIM written
  // in plain Python for this test: for each of the (16-10) x (19-10) valid windows, weighted means,
  // variances and covariance over the 11x11 window, then the SSIM formula; mean per channel,
  // then over the 2 channels. Result 0.954512535081.
  constexpr int C = 2, H = 16, W = 19;
  std::vector<float> a(C * H * W), b(C * H * W);
  for (int c = 0; c < C; ++c) {
    for (int y = 0; y < H; ++y) {
      for (int x = 0; x < W; ++x) {
        const double av = ((x * 7 + y * 13 + c * 5) % 17) / 16.0;
        const double bv = std::min(1.0, std::max(0.0, av * 0.8 + 0.1 + (((x + 2 * y + c) % 5) - 2) * 0.03));
        a[(c * H + y) * W + x] = static_cast<float>(av);
        b[(c * H + y) * W + x] = static_cast<float>(bv);
      }
    }
  }
  // fp32 storage of the inputs costs ~1e-8.
  EXPECT_NEAR(taec::ssim(a.data(), b.data(), C, H, W), 0.954512535081, 1e-6);
}

// The C API (taec_quality.h) over the same functions: values, and errors as statuses with messages.
TEST(QualityCApi, MetricsContractAndErrors) {
  const float ref[4] = {0.5f, 0.5f, 0.5f, 0.5f}, got[4] = {0.6f, 0.4f, 0.7f, 0.5f};
  taec_error_stats e;
  ASSERT_EQ(taec_compare(got, ref, 4, 0, &e), TAEC_OK);
  EXPECT_NEAR(e.mae, 0.1, 1e-6);
  EXPECT_NEAR(e.psnr_db, 18.2390874, 1e-4);
  double s = 0;
  ASSERT_EQ(taec_ssim(got, got, 1, 2, 2, &s), TAEC_OK);
  EXPECT_NEAR(s, 1.0, 1e-12);

  taec_latent_contract c;
  ASSERT_EQ(taec_latent_contract_get("taef2", &c), TAEC_OK);
  EXPECT_STREQ(c.pipeline, "FLUX.2");
  EXPECT_EQ(c.latent_channels, 32);
  EXPECT_EQ(c.packed_channels, 128);
  EXPECT_EQ(c.scale, 1.0f);
  EXPECT_EQ(taec_latent_contract_get("nope", &c), TAEC_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(taec_last_error(), ::testing::HasSubstr("nope"));

  float buf[16] = {};
  EXPECT_EQ(taec_flux2_unpack(buf, 6, 1, 1, TAEC_LAYOUT_NCHW, buf), TAEC_ERR_SHAPE);
  EXPECT_THAT(taec_last_error(), ::testing::HasSubstr("multiple of 4"));
  EXPECT_EQ(taec_default_tolerance("taef2", TAEC_PRECISION_BF16), 0.05);
  EXPECT_EQ(taec_default_tolerance("taef1", TAEC_PRECISION_BF16), 0.03);
  EXPECT_EQ(taec_default_tolerance("taef1", TAEC_PRECISION_FP32), 1e-3);
}

}  // namespace

// The reference kernels against their mathematical definitions, written the most literal way
// (per output element, a sum over the receptive field), over awkward sizes.
#include <cmath>
#include <random>
#include <vector>

#include "kernels/reference/ops.h"
#include "test_util.h"

namespace {

std::vector<float> random_vector(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

struct ConvCase {
  int cin, h, w, cout, k, stride;
  bool bias;
};

void PrintTo(const ConvCase& c, std::ostream* os) {
  *os << c.cin << "->" << c.cout << " k" << c.k << " s" << c.stride << " " << c.h << "x" << c.w;
}

class ConvReferenceTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvReferenceTest, MatchesDefinition) {
  const ConvCase c = GetParam();
  const int pad = c.k / 2;
  const uint32_t seed = 1234 + c.cin * 7 + c.h * 13 + c.w;
  SCOPED_TRACE("seed " + std::to_string(seed));
  auto in = random_vector(static_cast<size_t>(c.cin) * c.h * c.w, seed);
  auto weight = random_vector(static_cast<size_t>(c.cout) * c.cin * c.k * c.k, seed + 1);
  auto bias = random_vector(c.cout, seed + 2);
  const int ho = (c.h + 2 * pad - c.k) / c.stride + 1, wo = (c.w + 2 * pad - c.k) / c.stride + 1;
  std::vector<float> got(static_cast<size_t>(c.cout) * ho * wo);
  taec::conv2d_nchw_f32__reference(in.data(), c.cin, c.h, c.w, weight.data(), c.bias ? bias.data() : nullptr,
                                   c.cout, c.k, c.stride, pad, got.data());
  double worst = 0;
  for (int co = 0; co < c.cout; ++co)
    for (int oy = 0; oy < ho; ++oy)
      for (int ox = 0; ox < wo; ++ox) {
        double sum = c.bias ? bias[co] : 0.0;
        for (int ci = 0; ci < c.cin; ++ci)
          for (int ky = 0; ky < c.k; ++ky)
            for (int kx = 0; kx < c.k; ++kx) {
              const int iy = oy * c.stride - pad + ky, ix = ox * c.stride - pad + kx;
              if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
              sum += static_cast<double>(weight[((co * c.cin + ci) * c.k + ky) * c.k + kx]) *
                     in[(ci * c.h + iy) * c.w + ix];
            }
        worst = std::max(worst, std::fabs(sum - got[(co * ho + oy) * wo + ox]));
      }
  // fp32 accumulation of cin*k*k products of magnitude <= 1: a few hundred ulps of the sum at most.
  EXPECT_LE(worst, 1e-5 * c.cin * c.k * c.k);
}

INSTANTIATE_TEST_SUITE_P(AwkwardSizes, ConvReferenceTest,
                         ::testing::Values(ConvCase{1, 1, 1, 1, 3, 1, true}, ConvCase{3, 1, 1, 5, 3, 1, false},
                                           ConvCase{4, 2, 3, 3, 3, 1, true}, ConvCase{5, 7, 11, 6, 3, 1, true},
                                           ConvCase{16, 17, 9, 8, 3, 1, true}, ConvCase{6, 5, 5, 7, 1, 1, false},
                                           ConvCase{3, 9, 13, 4, 3, 2, false}, ConvCase{2, 1, 1, 3, 3, 2, true},
                                           ConvCase{4, 2, 2, 2, 3, 2, true}, ConvCase{3, 8, 8, 64, 3, 2, false}));

TEST(UpsampleReference, CopiesEachPixelToA2x2Square) {
  const int c = 2, h = 3, w = 5;
  auto in = random_vector(c * h * w, 7);
  std::vector<float> out(c * 4 * h * w);
  taec::upsample_nearest2x_nchw_f32__reference(in.data(), c, h, w, out.data());
  for (int ch = 0; ch < c; ++ch)
    for (int y = 0; y < 2 * h; ++y)
      for (int x = 0; x < 2 * w; ++x)
        ASSERT_EQ(out[(ch * 2 * h + y) * 2 * w + x], in[(ch * h + y / 2) * w + x / 2]);
}

TEST(GroupNormReference, NormalizesEachGroupThenAppliesAffine) {
  const int c = 8, h = 3, w = 4, groups = 4;
  auto in = random_vector(c * h * w, 11);
  for (float& v : in) v = v * 5 + 2;  // non-zero mean, non-unit variance
  auto gamma = random_vector(c, 12), beta = random_vector(c, 13);
  std::vector<float> out(in.size());
  taec::group_norm_nchw_f32__reference(in.data(), c, h, w, groups, 1e-5f, gamma.data(), beta.data(), out.data());
  const int per = c / groups, plane = h * w;
  for (int g = 0; g < groups; ++g) {
    double mean = 0, var = 0;
    for (int i = 0; i < per * plane; ++i) mean += in[g * per * plane + i];
    mean /= per * plane;
    for (int i = 0; i < per * plane; ++i) var += std::pow(in[g * per * plane + i] - mean, 2);
    var /= per * plane;
    for (int i = 0; i < per * plane; ++i) {
      const int ch = g * per + i / plane;
      const double want = (in[g * per * plane + i] - mean) / std::sqrt(var + 1e-5) * gamma[ch] + beta[ch];
      ASSERT_NEAR(out[g * per * plane + i], want, 1e-5);
    }
  }
}

TEST(ElementwiseReference, ReluAddTanhClamp) {
  std::vector<float> a = {-2.0f, -0.0f, 0.5f, 3.0f, 1e9f, -1e9f};
  std::vector<float> b = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
  std::vector<float> out(a.size());
  taec::relu_f32__reference(a.data(), out.data(), a.size());
  EXPECT_EQ(out, (std::vector<float>{0, 0, 0.5f, 3.0f, 1e9f, 0}));
  taec::add_f32__reference(a.data(), b.data(), out.data(), a.size());
  EXPECT_EQ(out[0], -1.0f);
  taec::tanh_clamp_f32__reference(a.data(), out.data(), a.size(), 3.0f);
  EXPECT_NEAR(out[2], std::tanh(0.5 / 3) * 3, 1e-7);
  EXPECT_EQ(out[4], 3.0f);  // saturates
  EXPECT_EQ(out[5], -3.0f);
}

}  // namespace

#include "kernels/reference/ops.h"

#include <algorithm>
#include <cmath>

namespace taec {
namespace {

// Rounds toward negative infinity (C++ `/` truncates toward zero, wrong for negative a).
int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

void conv2d_nchw_f32__reference(const float* in, int cin, int h, int w, const float* weight,
                                const float* bias, int cout, int k, int stride, int pad, float* out,
                                int groups) {
  const int ho = (h + 2 * pad - k) / stride + 1;
  const int wo = (w + 2 * pad - k) / stride + 1;
  const int cin_g = cin / groups, cout_g = cout / groups;
  for (int co = 0; co < cout; ++co) {
    const int ci0 = co / cout_g * cin_g;
    for (int oy = 0; oy < ho; ++oy) {
      float* orow = out + (static_cast<size_t>(co) * ho + oy) * wo;
      std::fill(orow, orow + wo, bias ? bias[co] : 0.0f);
      for (int gi = 0; gi < cin_g; ++gi) {
        const int ci = ci0 + gi;
        for (int ky = 0; ky < k; ++ky) {
          const int iy = oy * stride - pad + ky;
          if (iy < 0 || iy >= h) continue;
          const float* irow = in + (static_cast<size_t>(ci) * h + iy) * w;
          for (int kx = 0; kx < k; ++kx) {
            const float wv = weight[((static_cast<size_t>(co) * cin_g + gi) * k + ky) * k + kx];
            // Output columns whose input column ox*stride - pad + kx lies inside [0, w).
            const int lo = std::max(0, -floor_div(kx - pad, stride));
            const int hi = std::min(wo, floor_div(w - 1 + pad - kx, stride) + 1);
            if (stride == 1) {
              const float* src = irow - pad + kx;
              for (int ox = lo; ox < hi; ++ox) orow[ox] += wv * src[ox];
            } else {
              for (int ox = lo; ox < hi; ++ox) orow[ox] += wv * irow[ox * stride - pad + kx];
            }
          }
        }
      }
    }
  }
}

void pixel_shuffle_nchw_f32__reference(const float* in, int c, int h, int w, int f, float* out) {
  for (int ch = 0; ch < c; ++ch)
    for (int y = 0; y < h * f; ++y)
      for (int x = 0; x < w * f; ++x) {
        const int src = (ch * f + y % f) * f + x % f;
        out[(static_cast<size_t>(ch) * h * f + y) * w * f + x] = in[(static_cast<size_t>(src) * h + y / f) * w + x / f];
      }
}

void pixel_unshuffle_nchw_f32__reference(const float* in, int c, int h, int w, int f, float* out) {
  const int ho = h / f, wo = w / f;
  for (int ch = 0; ch < c; ++ch)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const int dst = (ch * f + y % f) * f + x % f;
        out[(static_cast<size_t>(dst) * ho + y / f) * wo + x / f] = in[(static_cast<size_t>(ch) * h + y) * w + x];
      }
}

void upsample_nearest2x_nchw_f32__reference(const float* in, int c, int h, int w, float* out) {
  for (int ch = 0; ch < c; ++ch) {
    for (int y = 0; y < 2 * h; ++y) {
      const float* irow = in + (static_cast<size_t>(ch) * h + y / 2) * w;
      float* orow = out + (static_cast<size_t>(ch) * 2 * h + y) * 2 * w;
      for (int x = 0; x < 2 * w; ++x) orow[x] = irow[x / 2];
    }
  }
}

void group_norm_nchw_f32__reference(const float* in, int c, int h, int w, int groups, float eps,
                                    const float* gamma, const float* beta, float* out) {
  const int per_group = c / groups;
  const size_t plane = static_cast<size_t>(h) * w;
  for (int g = 0; g < groups; ++g) {
    const float* x = in + static_cast<size_t>(g) * per_group * plane;
    const size_t n = per_group * plane;
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += x[i];
    const double mean = sum / static_cast<double>(n);
    double sq = 0;
    for (size_t i = 0; i < n; ++i) sq += (x[i] - mean) * (x[i] - mean);
    const double inv_std = 1.0 / std::sqrt(sq / static_cast<double>(n) + eps);
    for (int cg = 0; cg < per_group; ++cg) {
      const int ch = g * per_group + cg;
      const float scale = static_cast<float>(inv_std * gamma[ch]);
      const float shift = static_cast<float>(beta[ch] - mean * inv_std * gamma[ch]);
      const float* src = in + ch * plane;
      float* dst = out + ch * plane;
      for (size_t i = 0; i < plane; ++i) dst[i] = src[i] * scale + shift;
    }
  }
}

void relu_f32__reference(const float* in, float* out, size_t n) {
  // `x < 0 ? 0 : x` keeps NaN, as torch.relu does.
  for (size_t i = 0; i < n; ++i) out[i] = in[i] < 0.0f ? 0.0f : in[i];
}

void add_f32__reference(const float* a, const float* b, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void tanh_clamp_f32__reference(const float* in, float* out, size_t n, float limit) {
  for (size_t i = 0; i < n; ++i) out[i] = std::tanh(in[i] / limit) * limit;
}

}  // namespace taec

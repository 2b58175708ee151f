#include "kernels/conv/depthwise_nhwc.h"

#include <algorithm>

namespace taec {

void depthwise_row_f32(const DepthwiseRowArgs& a) {
  const int c = a.channels;
  for (int x = 0; x < a.out_width; ++x) {
    float* o = a.out + static_cast<size_t>(x) * c;
    for (int ch = 0; ch < c; ++ch) o[ch] = a.bias ? a.bias[ch] : 0.0f;
    const int x0 = x * a.stride - a.pad;
    const int kx_begin = std::max(0, -x0), kx_end = std::min(a.kernel, a.in_width - x0);
    for (int ky = 0; ky < a.kernel; ++ky) {
      for (int kx = kx_begin; kx < kx_end; ++kx) {
        const float* in = a.rows[ky] + static_cast<size_t>(x0 + kx) * c;
        const float* w = a.weights + (static_cast<size_t>(ky) * a.kernel + kx) * c;
        for (int ch = 0; ch < c; ++ch) o[ch] += in[ch] * w[ch];
      }
    }
    if (a.residual) {
      const float* r = a.residual + static_cast<size_t>(x) * c;
      for (int ch = 0; ch < c; ++ch) o[ch] += r[ch];
    }
    if (a.relu) {
      for (int ch = 0; ch < c; ++ch) o[ch] = o[ch] < 0.0f ? 0.0f : o[ch];
    }
  }
}

}  // namespace taec

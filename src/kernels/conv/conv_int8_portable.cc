// The int8 kernels in plain C++: the oracle the VNNI kernels are tested against bit for bit, and
// what int8 plans run on CPUs without AVX512_VNNI (slowly, and the plan says so).
#include <cmath>
#include <cstring>

#include "kernels/conv/conv_int8.h"

namespace taec::portable {
namespace {

float epilogue(const ConvRowI8Args& a, int32_t acc, int j, int co) {
  float r = std::fma(static_cast<float>(acc), a.scale[co], a.bias ? a.bias[co] : 0.0f);
  if (a.residual) r += a.residual[j * a.out_px_step + co];
  if (a.relu && r < 0.0f) r = 0.0f;
  return r;
}

uint8_t quantize(float x, float inv_scale, float zero_point) {
  // One fma, clamped before rounding (NaN -> 0), as the vector kernels do; ties to even, as
  // cvtps2dq.
  float q = std::fma(x, inv_scale, zero_point);
  q = q > 0.0f ? q : 0.0f;
  q = q < 255.0f ? q : 255.0f;
  return static_cast<uint8_t>(std::nearbyint(q));
}

void conv_row(const ConvRowI8Args& a) {
  const int block = conv_i8_cout_block(a.cout);
  const size_t taps = static_cast<size_t>(a.kh) * a.kw;
  for (int j = 0; j < a.pixels; ++j) {
    for (int co = 0; co < a.cout; ++co) {
      int32_t acc = a.zero_point_sum ? -a.zero_point_sum[co] : 0;
      for (int ky = 0; ky < a.kh; ++ky) {
        for (int kx = 0; kx < a.kw; ++kx) {
          const uint8_t* in = a.rows[ky] + j * a.in_px_step + kx * a.tap_step;
          const size_t t = static_cast<size_t>(ky) * a.kw + kx;
          for (int ci = 0; ci < a.cin; ++ci) {
            int8_t w;
            if (block == 0) {
              w = a.weights[(co * taps + t) * a.cin + ci];
            } else {
              const int cb = co / block, jj = co % block;
              w = a.weights[((static_cast<size_t>(cb) * taps + t) * (a.cin / 4) + ci / 4) * block * 4 + jj * 4 + ci % 4];
            }
            acc += static_cast<int32_t>(in[ci]) * w;
          }
        }
      }
      const float r = epilogue(a, acc, j, co);
      if (a.out) a.out[j * a.out_px_step + co] = r;
      if (a.out_q) a.out_q[j * a.out_q_px_step + co] = quantize(r, a.out_q_inv_scale, a.out_q_zero_point);
    }
  }
}

void quantize_row(const float* src, size_t n, float inv_scale, float zero_point, uint8_t* dst) {
  for (size_t i = 0; i < n; ++i) dst[i] = quantize(src[i], inv_scale, zero_point);
}

}  // namespace

const ConvI8KernelSet kConvI8Kernels = {"conv_nhwc_i8__portable", conv_row, quantize_row};

}  // namespace taec::portable

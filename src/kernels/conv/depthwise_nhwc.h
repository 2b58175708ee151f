// Depthwise convolution over NHWC rows (the super decoders' 7x7 over 2n channels): each output
// channel reads only its own input channel.
//
//   out[x][c] = act(bias[c] + residual[x][c] + sum_{ky<k, kx<k} rows[ky][x*stride - pad + kx][c] * w[ky][kx][c])
//
// rows[ky] points at pixel 0 of input row y*stride - pad + ky (a zero row outside the image);
// columns outside [0, in_width) count as zero. Portable C++ whose inner loop runs over channels,
// contiguous in NHWC, so the compiler vectorizes it.
#pragma once

#include <cstddef>

namespace taec {

constexpr int kMaxKernel = 7;

struct DepthwiseRowArgs {
  const float* rows[kMaxKernel];
  int kernel, stride, pad;
  int channels, in_width, out_width;
  const float* weights;   // [k][k][channels]
  const float* bias;      // [channels] or nullptr
  const float* residual;  // [out_width][channels] or nullptr
  bool relu;
  float* out;             // [out_width][channels]
};

void depthwise_row_f32(const DepthwiseRowArgs& a);

}  // namespace taec

// Int8 convolution over NHWC rows for the int8-activation precision: u8 activations (zero point
// 0 for post-ReLU inputs, 128 for signed ones) times s8 weights (per output channel, symmetric),
// summed exactly in int32, then one fp32 epilogue:
//
//   out[j][co] = act(fma(float(acc[j][co]), scale[co], bias[co]) + residual[j][co])
//   acc[j][co] = sum_{ky<kh, kx<kw, ci<cin} rows[ky][j*in_px_step + kx*tap_step + ci] * w[ky][kx][ci][co]
//                - zero_point_sum[co]
//
// where zero_point_sum[co] = zero point x the sum of co's weights (padding pixels hold the zero
// point too, so the correction is the same for every output pixel).
//
// with scale[co] = input scale x weight scale[co]. Row pointers and steps mean what they mean
// in ConvRowArgs (conv_nhwc.h), so one kernel serves 3x3, 1x1 and the four phases of a folded
// nearest-2x upsample. Because the sums are exact integers and the epilogue is the same fma in
// every kernel set, the VNNI kernels and the portable oracle agree bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/cpu.h"

namespace taec {

struct ConvRowI8Args {
  const uint8_t* rows[3];
  int kh, kw;
  size_t in_px_step;
  size_t tap_step;
  int cin, cout;           // cin a multiple of 4; with cout < 16 (see conv_i8_supported) of 64
  const int8_t* weights;   // packed by pack_conv_weights_i8
  const float* scale;      // [cout]
  const int32_t* zero_point_sum;  // [cout], or nullptr for zero point 0
  const float* bias;       // [cout] or nullptr
  const float* residual;   // or nullptr
  float* out;              // nullptr: only out_q is written
  size_t out_px_step;
  int pixels;
  bool relu;
  // Optionally also the output quantized for the next int8 conv (cout >= 16 only), exactly as
  // quantize_row would quantize `out`: out_q[j*out_q_px_step + co].
  uint8_t* out_q;
  size_t out_q_px_step;
  float out_q_inv_scale, out_q_zero_point;
};

struct ConvI8KernelSet {
  const char* name;
  void (*conv_row)(const ConvRowI8Args& args);
  // dst[i] = round_half_even(clamp(src[i] * inv_scale + zero_point, 0, 255)), NaN -> 0
  void (*quantize_row)(const float* src, size_t n, float inv_scale, float zero_point, uint8_t* dst);
};

// Output channels per packed block: 64, 48, 32 or 16 (the widest dividing cout), 0 for cout < 16
// (weights then stay OHWI and the kernel vectorizes over cin).
int conv_i8_cout_block(int cout);

// Shapes the int8 kernels take: cin a multiple of 4, and cout a multiple of 16 or, below 16
// output channels, cin a multiple of 64.
bool conv_i8_supported(int cin, int cout);

// [cout][kh][kw][cin] (OHWI) s8 -> blocks of conv_i8_cout_block(cout) output channels, each
// [ky][kx][ci/4][block][4] (vpdpbusd's four consecutive input channels per lane); plain OHWI
// when the block is 0.
std::vector<int8_t> pack_conv_weights_i8(const int8_t* ohwi, int cout, int kh, int kw, int cin);

// VNNI kernels where usable (AVX512_VNNI and $TAEC_MAX_ISA >= avx512), else the portable ones.
const ConvI8KernelSet& conv_i8_kernels();

namespace avx512_vnni { extern const ConvI8KernelSet kConvI8Kernels; }
namespace portable { extern const ConvI8KernelSet kConvI8Kernels; }

}  // namespace taec

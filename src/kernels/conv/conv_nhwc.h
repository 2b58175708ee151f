// Direct convolution over NHWC rows, the building block of compiled fp32 plans.
//
// One call computes `pixels` output pixels of one output row. Input rows are passed as pointers
// already positioned at the input pixel of output pixel 0 for tap column 0, so the same kernel
// serves a stride-1 or stride-2 3x3 conv, a 1x1 conv, and each of the four phases of a nearest-2x
// upsample folded into the following 3x3 conv (2x2 taps, output pixel step 2):
//
//   out[j][co] = act(bias[co] + residual[j][co] +
//                    sum_{ky<kh, kx<kw, ci<cin} rows[ky][j*in_px_step + kx*tap_step + ci] * w[ky][kx][ci][co])
//
// where out[j] = out + j*out_px_step and residual[j] likewise. Row pointers may point into
// zero rows (padding); the caller pads each row with zero pixels left and right.
#pragma once

#include <cstddef>
#include <vector>

#include "base/cpu.h"

namespace taec {

struct ConvRowArgs {
  const float* rows[3];
  int kh, kw;
  size_t in_px_step;
  size_t tap_step;
  int cin, cout;
  const float* weights;   // packed by pack_conv_weights for this kernel set
  const float* bias;      // [cout] or nullptr
  const float* residual;  // or nullptr
  float* out;
  size_t out_px_step;
  int pixels;
  bool relu;
};

// The Winograd output transform's operands (winograd_output in winograd_impl.h).
struct WinogradOutArgs {
  const float* m;        // products, [position][tile][channel]
  size_t m_pos_stride;   // floats between positions
  size_t m_tile_stride;  // floats between tiles
  int tiles;
  int channels;          // channels written per pixel
  const float* bias;     // [channels rounded up to whole vectors] or nullptr
  const float* const* res_rows;  // residual rows laid out like out_rows, or nullptr
  float* const* out_rows;        // M rows, each at the pixel of tile 0
  size_t out_px_step;            // floats between output pixels
  int rows_valid, cols_valid;
  bool relu;
};

struct ConvKernelSet {
  Isa isa;
  const char* name;
  int cout_block;  // output channels per packed block (the kernel's register tile width)
  int lanes;       // floats per vector
  void (*conv_row)(const ConvRowArgs& args);
  // Winograd transforms (see winograd_impl.h), [0]: F(4x4, 3x3), [1]: F(6x6, 3x3); input
  // channels a multiple of `lanes`; rows holds M + 2 input rows.
  struct WinogradFns {
    void (*input)(const float* const rows[], int tiles, int channels, float* v, size_t v_pos_stride);
    void (*output)(const WinogradOutArgs& args);
  };
  WinogradFns winograd[2];
  const WinogradFns& winograd_for(int m) const { return winograd[m == 6 ? 1 : 0]; }
};

// Winograd F(MxM, 3x3) kernel transform (M = 4 or 6): [cout][cin][3][3] (OIHW) -> (M+2)^2
// matrices [cout][cin] (OHWI with a 1x1 kernel), one per tile position, computed in double.
std::vector<std::vector<float>> winograd_kernel_transform(const float* oihw, int cout, int cin, int m);

// Output channels per packed block: the widest multiple of `lanes` up to `max_block` that divides
// cout, or 0 when none does (then weights stay OHWI and the kernel vectorizes over cin).
inline int conv_cout_block(int cout, int lanes, int max_block) {
  for (int b = max_block; b >= lanes; b -= lanes) {
    if (cout % b == 0) return b;
  }
  return 0;
}

// The kernel set for `isa` (must be <= usable_isa()).
const ConvKernelSet& conv_kernels(Isa isa);

// Packs weights given as [cout][kh][kw][cin] (OHWI) for `set`: output-channel blocks (see
// conv_cout_block), each [ky][kx][ci][block]; or plain OHWI when no block fits.
std::vector<float> pack_conv_weights(const ConvKernelSet& set, const float* ohwi, int cout, int kh, int kw, int cin);

namespace avx512 { extern const ConvKernelSet kConvKernels; }
namespace avx2 { extern const ConvKernelSet kConvKernels; }
namespace portable { extern const ConvKernelSet kConvKernels; }

}  // namespace taec

// bf16 Winograd input transform and GEMM; this file alone is compiled with AVX512_BF16 flags.
#include <immintrin.h>

#include <cstring>

#include "kernels/conv/conv_nhwc.h"
#include "kernels/conv/winograd_bf16.h"

namespace taec::avx512_bf16 {
namespace {

#include "kernels/conv/vec_avx512.h"
#include "kernels/conv/winograd_impl.h"

constexpr int kBlock = 64;  // output channels per packed block: 4 zmm accumulators per pixel
constexpr int kTile = 6;    // pixels (tiles) per register tile

void store_bf16(uint16_t* p, __m512 v) {
  const __m256bh h = _mm512_cvtneps_pbh(v);  // round to nearest even
  std::memcpy(p, &h, sizeof h);
}

// F(4x4, 3x3) only: its small interpolation points keep bf16 rounding in check.
void winograd_input_bf16(const float* const rows[6], int tiles, int channels, uint16_t* v, size_t v_pos_stride) {
  winograd_input_tiles<4>(rows, tiles, channels, [&](int p, int t, int c, V::T x) {
    store_bf16(v + p * v_pos_stride + static_cast<size_t>(t) * channels + c, x);
  });
}

template <int NPX, int NV>
void gemm_tile(const GemmBf16Args& g, int p0, const uint16_t* b_block, int block, int n0) {
  __m512 acc[NPX][NV];
  for (int p = 0; p < NPX; ++p)
    for (int v = 0; v < NV; ++v) acc[p][v] = _mm512_setzero_ps();
  for (int kk = 0; kk < g.k / 2; ++kk) {
    __m512bh w[NV];
    for (int v = 0; v < NV; ++v) w[v] = (__m512bh)_mm512_loadu_si512(b_block + (static_cast<size_t>(kk) * block + v * 16) * 2);
    for (int p = 0; p < NPX; ++p) {
      int32_t pair;
      std::memcpy(&pair, g.a + (p0 + p) * g.a_step + 2 * kk, sizeof pair);
      const __m512bh x = (__m512bh)_mm512_set1_epi32(pair);
      for (int v = 0; v < NV; ++v) acc[p][v] = _mm512_dpbf16_ps(acc[p][v], x, w[v]);
    }
  }
  for (int p = 0; p < NPX; ++p)
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(g.c + (p0 + p) * g.c_step + n0 + v * 16, acc[p][v]);
}

template <int NV>
void gemm_blocks(const GemmBf16Args& g, const uint16_t* b_block, int block, int n0) {
  int p = 0;
  for (; p + kTile <= g.m; p += kTile) gemm_tile<kTile, NV>(g, p, b_block, block, n0);
  switch (g.m - p) {
    case 0: break;
    case 1: gemm_tile<1, NV>(g, p, b_block, block, n0); break;
    case 2: gemm_tile<2, NV>(g, p, b_block, block, n0); break;
    case 3: gemm_tile<3, NV>(g, p, b_block, block, n0); break;
    case 4: gemm_tile<4, NV>(g, p, b_block, block, n0); break;
    case 5: gemm_tile<5, NV>(g, p, b_block, block, n0); break;
  }
}

void gemm_bf16(const GemmBf16Args& g) {
  const int block = g.n < kBlock ? g.n : kBlock;
  for (int n0 = 0; n0 < g.n; n0 += block) {
    const uint16_t* b_block = g.b + static_cast<size_t>(n0) * g.k;
    switch (block / 16) {
      case 1: gemm_blocks<1>(g, b_block, block, n0); break;
      case 2: gemm_blocks<2>(g, b_block, block, n0); break;
      case 3: gemm_blocks<3>(g, b_block, block, n0); break;
      default: gemm_blocks<4>(g, b_block, block, n0); break;
    }
  }
}

}  // namespace

const WinogradBf16KernelSet kWinogradBf16Kernels = {"winograd_gemm_bf16__avx512_bf16", winograd_input_bf16, gemm_bf16};

}  // namespace taec::avx512_bf16

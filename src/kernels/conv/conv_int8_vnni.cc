// Int8 conv row kernels on AVX512_VNNI (`vpdpbusd`: 64 u8 x s8 products summed four at a time
// into 16 int32 lanes per instruction); this file alone is compiled with VNNI flags.
//
// Register tile: 6 output pixels x up to 4 vectors of 16 output channels (24 accumulators); per
// group of 4 input channels the tile loads its weight vectors once and broadcasts each pixel's
// 4 input bytes, as the fp32 kernel broadcasts one float.
#include <immintrin.h>

#include <cstring>

#include "kernels/conv/conv_int8.h"

namespace taec::avx512_vnni {
namespace {

constexpr int kTilePixels = 6;

inline __m512i broadcast4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

inline __m512 epilogue(const ConvRowI8Args& a, __m512i acc, int co, const float* res) {
  const __m512 bias = a.bias ? _mm512_loadu_ps(a.bias + co) : _mm512_setzero_ps();
  __m512 r = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(a.scale + co), bias);
  if (res) r = _mm512_add_ps(r, _mm512_loadu_ps(res));
  if (a.relu) r = _mm512_max_ps(r, _mm512_setzero_ps());
  return r;
}

// clamp(x * inv + zp, 0, 255) rounded to nearest even, NaN -> 0 (max_ps returns its second
// operand for NaN), as 16 bytes.
inline __m128i quantize16(__m512 x, __m512 inv, __m512 zp) {
  const __m512 q = _mm512_min_ps(_mm512_max_ps(_mm512_fmadd_ps(x, inv, zp), _mm512_setzero_ps()), _mm512_set1_ps(255.0f));
  return _mm512_cvtusepi32_epi8(_mm512_cvtps_epi32(q));
}

template <int NPX, int NV>
inline void conv_tile(const ConvRowI8Args& a, int px0, const int8_t* w_block, int co0, int block) {
  __m512i acc[NPX][NV];
  for (int v = 0; v < NV; ++v) {
    const __m512i init = a.zero_point_sum ? _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_loadu_si512(a.zero_point_sum + co0 + v * 16))
                                          : _mm512_setzero_si512();
    for (int p = 0; p < NPX; ++p) acc[p][v] = init;
  }
  const int groups = a.cin / 4;
  for (int ky = 0; ky < a.kh; ++ky) {
    for (int kx = 0; kx < a.kw; ++kx) {
      const uint8_t* in = a.rows[ky] + px0 * a.in_px_step + kx * a.tap_step;
      const int8_t* w = w_block + static_cast<size_t>(ky * a.kw + kx) * groups * block * 4;
      for (int g = 0; g < groups; ++g) {
        __m512i wv[NV];
        for (int v = 0; v < NV; ++v) wv[v] = _mm512_loadu_si512(w + (g * block + v * 16) * 4);
        for (int p = 0; p < NPX; ++p) {
          const __m512i x = broadcast4(in + p * a.in_px_step + g * 4);
          for (int v = 0; v < NV; ++v) acc[p][v] = _mm512_dpbusd_epi32(acc[p][v], x, wv[v]);
        }
      }
    }
  }
  for (int p = 0; p < NPX; ++p) {
    float* out = a.out ? a.out + (px0 + p) * a.out_px_step + co0 : nullptr;
    const float* res = a.residual ? a.residual + (px0 + p) * a.out_px_step + co0 : nullptr;
    uint8_t* out_q = a.out_q ? a.out_q + (px0 + p) * a.out_q_px_step + co0 : nullptr;
    for (int v = 0; v < NV; ++v) {
      const __m512 r = epilogue(a, acc[p][v], co0 + v * 16, res ? res + v * 16 : nullptr);
      if (out) _mm512_storeu_ps(out + v * 16, r);
      if (out_q) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out_q + v * 16),
                         quantize16(r, _mm512_set1_ps(a.out_q_inv_scale), _mm512_set1_ps(a.out_q_zero_point)));
      }
    }
  }
}

template <int NV>
inline void conv_row_blocks(const ConvRowI8Args& a, int cb, int block) {
  const int8_t* w_block = a.weights + static_cast<size_t>(cb) * a.kh * a.kw * a.cin * block;
  const int co0 = cb * block;
  int p = 0;
  for (; p + kTilePixels <= a.pixels; p += kTilePixels) conv_tile<kTilePixels, NV>(a, p, w_block, co0, block);
  switch (a.pixels - p) {
    case 0: break;
    case 1: conv_tile<1, NV>(a, p, w_block, co0, block); break;
    case 2: conv_tile<2, NV>(a, p, w_block, co0, block); break;
    case 3: conv_tile<3, NV>(a, p, w_block, co0, block); break;
    case 4: conv_tile<4, NV>(a, p, w_block, co0, block); break;
    case 5: conv_tile<5, NV>(a, p, w_block, co0, block); break;
  }
}

// The lane sums of four vectors as the four lanes of one: pairwise interleaved adds, then the
// four 128-bit blocks added together (13 instructions instead of four full reductions).
inline __m128i hsum4(__m512i a, __m512i b, __m512i c, __m512i d) {
  const __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
  const __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
  __m512i s = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));  // [a b c d] per block
  s = _mm512_add_epi32(s, _mm512_shuffle_i32x4(s, s, 0x4E));
  s = _mm512_add_epi32(s, _mm512_shuffle_i32x4(s, s, 0xB1));
  return _mm512_castsi512_si128(s);
}

// Fewer than 16 output channels (the 64 -> 3 conv to RGB): 64 input channels per instruction,
// one accumulator per (pixel, output channel), reduced once at the end. Weights plain OHWI.
template <int NPX, int NCO>
inline void conv_small_cout_tile(const ConvRowI8Args& a, int p0, int co0) {
  __m512i acc[NPX][NCO];
  for (int p = 0; p < NPX; ++p)
    for (int c = 0; c < NCO; ++c) acc[p][c] = _mm512_setzero_si512();
  const size_t w_co_step = static_cast<size_t>(a.kh) * a.kw * a.cin;
  for (int ky = 0; ky < a.kh; ++ky) {
    for (int kx = 0; kx < a.kw; ++kx) {
      const uint8_t* in = a.rows[ky] + p0 * a.in_px_step + kx * a.tap_step;
      const int8_t* w = a.weights + ((static_cast<size_t>(co0) * a.kh + ky) * a.kw + kx) * a.cin;
      for (int ci = 0; ci < a.cin; ci += 64) {
        __m512i x[NPX];
        for (int p = 0; p < NPX; ++p) x[p] = _mm512_loadu_si512(in + p * a.in_px_step + ci);
        for (int c = 0; c < NCO; ++c) {
          const __m512i wv = _mm512_loadu_si512(w + c * w_co_step + ci);
          for (int p = 0; p < NPX; ++p) acc[p][c] = _mm512_dpbusd_epi32(acc[p][c], x[p], wv);
        }
      }
    }
  }
  // Each pixel's NCO sums as lanes of one 128-bit vector, and the epilogue on those lanes.
  const __mmask8 m = static_cast<__mmask8>((1u << NCO) - 1);
  const __m128 scale = _mm_maskz_loadu_ps(m, a.scale + co0);
  const __m128 bias = a.bias ? _mm_maskz_loadu_ps(m, a.bias + co0) : _mm_setzero_ps();
  const __m128i zp = a.zero_point_sum ? _mm_maskz_loadu_epi32(m, a.zero_point_sum + co0) : _mm_setzero_si128();
  for (int p = 0; p < NPX; ++p) {
    const __m512i z = _mm512_setzero_si512();
    const __m128i sums = _mm_sub_epi32(hsum4(acc[p][0], NCO > 1 ? acc[p][1] : z, NCO > 2 ? acc[p][2] : z, NCO > 3 ? acc[p][3] : z), zp);
    __m128 r = _mm_fmadd_ps(_mm_cvtepi32_ps(sums), scale, bias);
    if (a.residual) r = _mm_add_ps(r, _mm_maskz_loadu_ps(m, a.residual + (p0 + p) * a.out_px_step + co0));
    if (a.relu) r = _mm_max_ps(r, _mm_setzero_ps());
    _mm_mask_storeu_ps(a.out + (p0 + p) * a.out_px_step + co0, m, r);
  }
}

template <int NCO>
inline void conv_small_cout_columns(const ConvRowI8Args& a, int co0) {
  int p = 0;
  for (; p + 4 <= a.pixels; p += 4) conv_small_cout_tile<4, NCO>(a, p, co0);
  for (; p < a.pixels; ++p) conv_small_cout_tile<1, NCO>(a, p, co0);
}

void conv_row(const ConvRowI8Args& a) {
  const int block = conv_i8_cout_block(a.cout);
  if (block == 0) {
    for (int co0 = 0; co0 < a.cout; co0 += 4) {
      switch (a.cout - co0 < 4 ? a.cout - co0 : 4) {
        case 1: conv_small_cout_columns<1>(a, co0); break;
        case 2: conv_small_cout_columns<2>(a, co0); break;
        case 3: conv_small_cout_columns<3>(a, co0); break;
        default: conv_small_cout_columns<4>(a, co0); break;
      }
    }
    return;
  }
  for (int cb = 0; cb < a.cout / block; ++cb) {
    switch (block / 16) {
      case 1: conv_row_blocks<1>(a, cb, block); break;
      case 2: conv_row_blocks<2>(a, cb, block); break;
      case 3: conv_row_blocks<3>(a, cb, block); break;
      case 4: conv_row_blocks<4>(a, cb, block); break;
    }
  }
}

void quantize_row(const float* src, size_t n, float inv_scale, float zero_point, uint8_t* dst) {
  const __m512 inv = _mm512_set1_ps(inv_scale), zp = _mm512_set1_ps(zero_point);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), quantize16(_mm512_loadu_ps(src + i), inv, zp));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm_mask_storeu_epi8(dst + i, m, quantize16(_mm512_maskz_loadu_ps(m, src + i), inv, zp));
  }
}

}  // namespace

const ConvI8KernelSet kConvI8Kernels = {"conv_nhwc_i8__avx512_vnni", conv_row, quantize_row};

}  // namespace taec::avx512_vnni

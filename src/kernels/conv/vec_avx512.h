// fp32 vector ops for AVX-512 (include only from files compiled with -mavx512f...).
#pragma once
#include <immintrin.h>

struct V {
  using T = __m512;
  static constexpr int lanes = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static T broadcast(float x) { return _mm512_set1_ps(x); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T neg(T x) { return _mm512_sub_ps(_mm512_setzero_ps(), x); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  // max(x, 0) returns x when x is NaN? _mm512_max_ps returns the second operand on NaN: keep x.
  static T max0(T x) { return _mm512_max_ps(_mm512_setzero_ps(), x); }
  static float hsum(T v) { return _mm512_reduce_add_ps(v); }
};

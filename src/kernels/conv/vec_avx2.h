// fp32 vector ops for AVX2 + FMA (include only from files compiled with -mavx2 -mfma).
#pragma once
#include <immintrin.h>

struct V {
  using T = __m256;
  static constexpr int lanes = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static T broadcast(float x) { return _mm256_set1_ps(x); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T neg(T x) { return _mm256_sub_ps(_mm256_setzero_ps(), x); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T max0(T x) { return _mm256_max_ps(_mm256_setzero_ps(), x); }  // NaN in x propagates
  static float hsum(T v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
};

// Scalar "vector" for the portable path: same kernel structure, no ISA assumptions.
#pragma once

struct V {
  using T = float;
  static constexpr int lanes = 1;
  static T zero() { return 0.0f; }
  static T load(const float* p) { return *p; }
  static void store(float* p, T v) { *p = v; }
  static T broadcast(float x) { return x; }
  static T fma(T a, T b, T c) { return a * b + c; }
  static T sub(T a, T b) { return a - b; }
  static T neg(T x) { return -x; }
  static T mul(T a, T b) { return a * b; }
  static T add(T a, T b) { return a + b; }
  static T max0(T x) { return x < 0.0f ? 0.0f : x; }  // NaN propagates
  static float hsum(T v) { return v; }
};

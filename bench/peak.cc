// Measures this machine's arithmetic peaks, to put taec's GFLOP/s in proportion:
// fp32 FMA (zmm and ymm), bf16 dot products (vdpbf16ps) and int8 dot products (vpdpbusd), on 1
// and N threads.
// Built with AVX-512 flags; run only on a CPU that has them (it checks).
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "base/cpu.h"

namespace {

constexpr int kChains = 12;  // independent accumulators: more than FMA latency x throughput
constexpr long kIters = 20'000'000;

template <typename Body>
double rate(int threads, double flops_per_iter, Body body) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  std::vector<float> sink(threads * 16);
  for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { sink[t * 16] = body(); });
  for (auto& t : pool) t.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return flops_per_iter * kIters * threads / s / 1e9;
}

float fma_zmm() {
  __m512 acc[kChains];
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (auto& v : acc) v = _mm512_set1_ps(1.0f);
  for (long i = 0; i < kIters; ++i)
    for (auto& v : acc) v = _mm512_fmadd_ps(v, a, b);
  __m512 s = acc[0];
  for (int c = 1; c < kChains; ++c) s = _mm512_add_ps(s, acc[c]);
  return _mm512_reduce_add_ps(s);
}

float fma_ymm() {
  __m256 acc[kChains];
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (auto& v : acc) v = _mm256_set1_ps(1.0f);
  for (long i = 0; i < kIters; ++i)
    for (auto& v : acc) v = _mm256_fmadd_ps(v, a, b);
  __m256 s = acc[0];
  for (int c = 1; c < kChains; ++c) s = _mm256_add_ps(s, acc[c]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
}

float dot_bf16() {
  __m512 acc[kChains];
  const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3380);
  for (auto& v : acc) v = _mm512_setzero_ps();
  for (long i = 0; i < kIters; ++i)
    for (auto& v : acc) v = _mm512_dpbf16_ps(v, a, b);
  __m512 s = acc[0];
  for (int c = 1; c < kChains; ++c) s = _mm512_add_ps(s, acc[c]);
  return _mm512_reduce_add_ps(s);
}

// int8 dot products (vpdpbusd): 64 multiply-adds of u8 x s8 per instruction.
float dot_int8() {
  __m512i acc[kChains];
  const __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(1);
  for (auto& v : acc) v = _mm512_setzero_si512();
  for (long i = 0; i < kIters; ++i)
    for (auto& v : acc) v = _mm512_dpbusd_epi32(v, a, b);
  __m512i s = acc[0];
  for (int c = 1; c < kChains; ++c) s = _mm512_add_epi32(s, acc[c]);
  return static_cast<float>(_mm512_reduce_add_epi32(s));
}

}  // namespace

int main() {
  const taec::Isa isa = taec::detected_isa();
  const int n = static_cast<int>(std::thread::hardware_concurrency());
  std::printf("detected ISA: %s, %d hardware threads\n", taec::isa_name(isa), n);
  if (isa < taec::Isa::avx512) {
    std::printf("needs AVX-512\n");
    return 1;
  }
  for (int threads : {1, n}) {
    std::printf("%d thread(s): fp32 FMA zmm %.0f GFLOP/s, ymm %.0f GFLOP/s", threads,
                rate(threads, 2.0 * 16 * kChains, fma_zmm), rate(threads, 2.0 * 8 * kChains, fma_ymm));
    if (isa >= taec::Isa::avx512_bf16) std::printf(", bf16 dot %.0f GFLOP/s", rate(threads, 2.0 * 32 * kChains, dot_bf16));
    if (taec::has_avx512_vnni()) std::printf(", int8 dot %.0f GOP/s", rate(threads, 2.0 * 64 * kChains, dot_int8));
    std::printf("\n");
  }
  return 0;
}

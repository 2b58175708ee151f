// bf16 Winograd GEMMs for the FP16-class precision (AVX512_BF16 `vdpbf16ps`): the transformed
// input tiles and the transformed weights are rounded to bf16, products are accumulated in fp32,
// and both transforms stay fp32. Only built for, and only chosen on, CPUs with AVX512_BF16.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/cpu.h"

namespace taec {

struct GemmBf16Args {
  const uint16_t* a;   // [m][k] bf16, row step a_step elements
  size_t a_step;
  const uint16_t* b;   // packed by pack_gemm_bf16
  float* c;            // [m][n] fp32, row step c_step
  size_t c_step;
  int m, n, k;         // k even, n a multiple of 16
};

struct WinogradBf16KernelSet {
  const char* name;
  // As ConvKernelSet::winograd_input, writing bf16.
  void (*winograd_input)(const float* const rows[6], int tiles, int channels, uint16_t* v, size_t v_pos_stride);
  void (*gemm)(const GemmBf16Args& args);
};

// nullptr unless isa >= avx512_bf16.
const WinogradBf16KernelSet* winograd_bf16_kernels(Isa isa);

// [n][k] fp32 (a 1x1 OHWI weight) -> bf16 blocks of 64 (or n) outputs, [block][k/2][64][2].
std::vector<uint16_t> pack_gemm_bf16(const float* nk, int n, int k);

namespace avx512_bf16 { extern const WinogradBf16KernelSet kWinogradBf16Kernels; }

}  // namespace taec

#include "kernels/conv/winograd_bf16.h"

#include "base/half.h"

namespace taec {

const WinogradBf16KernelSet* winograd_bf16_kernels(Isa isa) {
  return isa >= Isa::avx512_bf16 ? &avx512_bf16::kWinogradBf16Kernels : nullptr;
}

std::vector<uint16_t> pack_gemm_bf16(const float* nk, int n, int k) {
  const int block = n < 64 ? n : 64;
  std::vector<uint16_t> out(static_cast<size_t>(n) * k);
  size_t i = 0;
  for (int n0 = 0; n0 < n; n0 += block)
    for (int kk = 0; kk < k / 2; ++kk)
      for (int j = 0; j < block; ++j)
        for (int e = 0; e < 2; ++e) out[i++] = float_to_bf16(nk[static_cast<size_t>(n0 + j) * k + 2 * kk + e]);
  return out;
}

}  // namespace taec

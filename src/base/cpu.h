// Runtime ISA dispatch: the path used is compiled ∩ detected ∩ capped by $TAEC_MAX_ISA
// (reference|avx2|avx512|avx512_bf16), so CI can exercise the lower paths on an AVX-512 host.
#pragma once

#include <string>

namespace taec {

enum class Isa { reference = 0, avx2 = 1, avx512 = 2, avx512_bf16 = 3 };

const char* isa_name(Isa isa);

// Highest ISA this CPU supports (AVX2 needs FMA too; AVX-512 needs F, BW, DQ, VL).
Isa detected_isa();

// AVX512_VNNI (vpdpbusd, the int8 dot product), detected independently of the Isa ladder: CPUs
// have it with and without AVX512_BF16. False when the usable ISA is below avx512.
bool has_avx512_vnni();

// The CPU's brand string with its family, model and stepping ("AMD EPYC (family 23 model 49
// stepping 0)"): brand strings alone are generic on some clouds, and two generations of one
// vendor choose kernels differently. Keys the tuning cache.
std::string cpu_model_name();

// min(detected, $TAEC_MAX_ISA); `why` says how it was decided, for --verbose.
Isa usable_isa(std::string* why = nullptr);

}  // namespace taec

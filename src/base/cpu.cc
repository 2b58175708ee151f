#include "base/cpu.h"

#include <cpuid.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace taec {
namespace {

bool os_saves_zmm() {
  uint32_t eax, edx;
  __asm__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (eax & 0xe6) == 0xe6;  // SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM state
}

bool os_saves_ymm() {
  uint32_t eax, edx;
  __asm__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (eax & 0x6) == 0x6;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::reference: return "reference";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::avx512_bf16: return "avx512_bf16";
  }
  return "?";
}

Isa detected_isa() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::reference;
  const bool osxsave = c & bit_OSXSAVE, fma = c & bit_FMA;
  if (!osxsave || !os_saves_ymm() || !fma) return Isa::reference;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & bit_AVX2)) return Isa::reference;
  const bool avx512 = (b & bit_AVX512F) && (b & bit_AVX512BW) && (b & bit_AVX512DQ) && (b & bit_AVX512VL);
  if (!avx512 || !os_saves_zmm()) return Isa::avx2;
  unsigned a1, b1, c1, d1;
  if (__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1) && (a1 & (1u << 5))) return Isa::avx512_bf16;
  return Isa::avx512;
}

bool has_avx512_vnni() {
  if (usable_isa() < Isa::avx512) return false;
  unsigned a, b, c, d;
  return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1u << 11));
}

Isa usable_isa(std::string* why) {
  const Isa detected = detected_isa();
  const char* cap = std::getenv("TAEC_MAX_ISA");
  Isa limit = Isa::avx512_bf16;
  if (cap && *cap) {
    const std::string s = cap;
    for (Isa isa : {Isa::reference, Isa::avx2, Isa::avx512, Isa::avx512_bf16}) {
      if (s == isa_name(isa)) limit = isa;
    }
  }
  const Isa chosen = std::min(detected, limit);
  if (why) {
    *why = std::string("detected ") + isa_name(detected) +
           (cap && *cap ? std::string(", TAEC_MAX_ISA=") + cap : std::string()) + ", using " + isa_name(chosen);
  }
  return chosen;
}

}  // namespace taec

#include "base/cpu.h"

#include <cpuid.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

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

std::string cpu_model_name() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  std::string brand;
  if (__get_cpuid(0x80000000u, &a, &b, &c, &d) && a >= 0x80000004u) {
    for (unsigned leaf = 0x80000002u; leaf <= 0x80000004u; ++leaf) {
      unsigned r[4];
      __get_cpuid(leaf, &r[0], &r[1], &r[2], &r[3]);
      brand.append(reinterpret_cast<const char*>(r), sizeof(r));
    }
    brand = brand.substr(0, brand.find('\0'));
    brand.erase(0, brand.find_first_not_of(' '));
    while (!brand.empty() && brand.back() == ' ') brand.pop_back();
  }
  if (brand.empty()) brand = "unknown CPU";
  if (!__get_cpuid(1, &a, &b, &c, &d)) return brand;
  const unsigned base_family = (a >> 8) & 0xf, family = base_family + (base_family == 0xf ? (a >> 20) & 0xff : 0);
  const unsigned model = ((a >> 4) & 0xf) | (base_family >= 0x6 ? ((a >> 16) & 0xf) << 4 : 0);
  return brand + " (family " + std::to_string(family) + " model " + std::to_string(model) + " stepping " + std::to_string(a & 0xf) + ")";
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

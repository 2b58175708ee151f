#include "kernels/conv/conv_int8.h"

#include <cmath>

namespace taec {

int conv_i8_cout_block(int cout) {
  for (int b = 64; b >= 16; b -= 16) {
    if (cout % b == 0) return b;
  }
  return 0;
}

bool conv_i8_supported(int cin, int cout) {
  if (cin <= 0 || cout <= 0 || cin % 4 != 0) return false;
  if (cout < 16) return cin % 64 == 0;
  return cout % 16 == 0;
}

std::vector<int8_t> pack_conv_weights_i8(const int8_t* ohwi, int cout, int kh, int kw, int cin) {
  const size_t taps = static_cast<size_t>(kh) * kw;
  const int block = conv_i8_cout_block(cout);
  if (block == 0) return std::vector<int8_t>(ohwi, ohwi + cout * taps * cin);
  std::vector<int8_t> packed(static_cast<size_t>(cout) * taps * cin);
  size_t i = 0;
  for (int cb = 0; cb < cout / block; ++cb)
    for (size_t t = 0; t < taps; ++t)
      for (int cg = 0; cg < cin / 4; ++cg)
        for (int j = 0; j < block; ++j)
          for (int e = 0; e < 4; ++e) packed[i++] = ohwi[(static_cast<size_t>(cb * block + j) * taps + t) * cin + cg * 4 + e];
  return packed;
}

const ConvI8KernelSet& conv_i8_kernels() {
  return has_avx512_vnni() ? avx512_vnni::kConvI8Kernels : portable::kConvI8Kernels;
}

}  // namespace taec

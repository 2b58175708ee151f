#include "kernels/conv/conv_nhwc.h"

namespace taec {

const ConvKernelSet& conv_kernels(Isa isa) {
  switch (isa) {
    case Isa::avx512_bf16:
    case Isa::avx512: return avx512::kConvKernels;
    case Isa::avx2: return avx2::kConvKernels;
    case Isa::reference: break;
  }
  return portable::kConvKernels;
}

std::vector<float> pack_conv_weights(const ConvKernelSet& set, const float* ohwi, int cout, int kh, int kw, int cin) {
  const size_t taps = static_cast<size_t>(kh) * kw;
  const int block = conv_cout_block(cout, set.lanes, set.cout_block);
  if (block == 0) return std::vector<float>(ohwi, ohwi + cout * taps * cin);
  std::vector<float> packed(static_cast<size_t>(cout) * taps * cin);
  size_t i = 0;
  for (int cb = 0; cb < cout / block; ++cb)
    for (size_t t = 0; t < taps; ++t)
      for (int ci = 0; ci < cin; ++ci)
        for (int j = 0; j < block; ++j) packed[i++] = ohwi[(static_cast<size_t>(cb * block + j) * taps + t) * cin + ci];
  return packed;
}

}  // namespace taec

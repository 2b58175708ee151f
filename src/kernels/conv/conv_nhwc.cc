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

std::vector<std::vector<float>> winograd_kernel_transform(const float* oihw, int cout, int cin, int m) {
  // G for the interpolation points of winograd_impl.h, row order matching B^T and A^T there.
  static const double kG4[6][3] = {{1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                   {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
  static const double kG6[8][3] = {{1, 0, 0},
                                   {-2.0 / 9, -2.0 / 9, -2.0 / 9},
                                   {-2.0 / 9, 2.0 / 9, -2.0 / 9},
                                   {1.0 / 90, 1.0 / 45, 2.0 / 45},
                                   {1.0 / 90, -1.0 / 45, 2.0 / 45},
                                   {32.0 / 45, 16.0 / 45, 8.0 / 45},
                                   {32.0 / 45, -16.0 / 45, 8.0 / 45},
                                   {0, 0, 1}};
  const int t = m + 2;
  auto g_at = [&](int r, int k) { return m == 6 ? kG6[r][k] : kG4[r][k]; };
  std::vector<std::vector<float>> u(t * t, std::vector<float>(static_cast<size_t>(cout) * cin));
  for (int o = 0; o < cout; ++o) {
    for (int i = 0; i < cin; ++i) {
      const float* g = oihw + (static_cast<size_t>(o) * cin + i) * 9;
      double gg[8][3];  // G g
      for (int r = 0; r < t; ++r)
        for (int k = 0; k < 3; ++k) gg[r][k] = g_at(r, 0) * g[k] + g_at(r, 1) * g[3 + k] + g_at(r, 2) * g[6 + k];
      for (int r = 0; r < t; ++r)
        for (int c = 0; c < t; ++c)  // (G g) G^T
          u[r * t + c][static_cast<size_t>(o) * cin + i] =
              static_cast<float>(gg[r][0] * g_at(c, 0) + gg[r][1] * g_at(c, 1) + gg[r][2] * g_at(c, 2));
    }
  }
  return u;
}

}  // namespace taec

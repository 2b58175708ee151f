// Conv row kernels for avx512; this file alone is compiled with avx512's flags (see CMakeLists.txt).
#include <immintrin.h>  // before the namespace: vec_avx512.h is included inside it

#include "kernels/conv/conv_nhwc.h"

namespace taec::avx512 {
namespace {

#include "kernels/conv/vec_avx512.h"

constexpr int kTilePixels = 6;
constexpr int kCoutBlock = 64;

#include "kernels/conv/conv_nhwc_impl.h"
#include "kernels/conv/winograd_impl.h"

}  // namespace

const ConvKernelSet kConvKernels = {Isa::avx512, "conv_nhwc_f32__avx512", kCoutBlock, V::lanes, conv_row,
                                   {{winograd_input<4>, winograd_output<4>}, {winograd_input<6>, winograd_output<6>}}};

}  // namespace taec::avx512

// Conv row kernels for avx2; this file alone is compiled with avx2's flags (see CMakeLists.txt).
#include <immintrin.h>  // before the namespace: vec_avx2.h is included inside it

#include "kernels/conv/conv_nhwc.h"

namespace taec::avx2 {
namespace {

#include "kernels/conv/vec_avx2.h"

constexpr int kTilePixels = 5;
constexpr int kCoutBlock = 16;

#include "kernels/conv/conv_nhwc_impl.h"
#include "kernels/conv/winograd_impl.h"

}  // namespace

const ConvKernelSet kConvKernels = {Isa::avx2, "conv_nhwc_f32__avx2", kCoutBlock, V::lanes, conv_row,
                                   {{winograd_input<4>, winograd_output<4>}, {winograd_input<6>, winograd_output<6>}}};

}  // namespace taec::avx2

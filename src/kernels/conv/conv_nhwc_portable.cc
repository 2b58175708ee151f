// Conv row kernels for portable; this file alone is compiled with portable's flags (see CMakeLists.txt).
#include "kernels/conv/conv_nhwc.h"

namespace taec::portable {
namespace {

#include "kernels/conv/vec_portable.h"

constexpr int kTilePixels = 4;
constexpr int kCoutBlock = 4;

#include "kernels/conv/conv_nhwc_impl.h"
#include "kernels/conv/winograd_impl.h"

}  // namespace

const ConvKernelSet kConvKernels = {Isa::reference, "conv_nhwc_f32__portable", kCoutBlock, V::lanes, conv_row,
                                   {{winograd_input<4>, winograd_output<4>}, {winograd_input<6>, winograd_output<6>}}};

}  // namespace taec::portable

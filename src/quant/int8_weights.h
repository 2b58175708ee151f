// Int8 weight-only quantization (issue 6): per output channel o, symmetric, no zero point:
//   scale_o = max_i |w_o,i| / 127,  q = clamp(round(w / scale_o), -127, 127),  w' = q * scale_o.
// round() is to nearest with ties away from zero (std::round): it does not depend on the
// floating-point rounding mode, so the output is the same whatever fenv state the caller has.
// -128 is never produced, so the range is symmetric and the parser rejects it.
// An all-zero channel gets scale 0 and q = 0, which dequantizes exactly.
// Stated error: |w - w'| <= scale_o / 2 per channel (plus a few fp32 ulps of |w|), measured
// overall in `error`.
//
// Scales are fp32, not fp16: they cost 4 bytes per output channel (< 1% of a 3x3 conv's int8
// bytes), while an fp16 scale would bias every weight of the channel by its own rounding, and
// would be subnormal (few significant bits) for any channel with max |w| < 127 * 2^-14 ~ 0.0078,
// which real weights have.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "quant/quant_common.h"

namespace taec {

struct Int8Tensor {
  std::vector<int64_t> shape;  // O first (OIHW for conv weights)
  std::vector<float> scales;   // one per output channel, >= 0, finite
  std::vector<int8_t> values;  // C order, in [-127, 127]
  QuantError error;            // measured by quantize_int8(); zero after parsing
};

// Fails on a bad shape or a weight that is not finite.
Result<Int8Tensor> quantize_int8(const float* w, const std::vector<int64_t>& shape);

// Checks that every field agrees (lengths vs shape, finite non-negative scales, no -128). The
// parser calls it on every tensor it reads.
Status check_int8(const Int8Tensor& t, const std::string& what);

// `t` must pass check_int8 (quantize_int8() and the parser guarantee it).
std::vector<float> dequantize(const Int8Tensor& t);

}  // namespace taec

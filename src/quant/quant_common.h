// What the weight quantizers (palettize.h, int8_weights.h) and their file format share: the
// measured error and the shape checks.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace taec {

// The error a quantizer actually made on one tensor, measured against the fp32 originals at
// quantization time: the "stated error" of issue 6, so packers and reports read it instead of
// re-deriving bounds. Never serialized (a file could lie about it); zero after parsing.
struct QuantError {
  float max_abs = 0;  // max |w - dequant(w)|
  double rmse = 0;    // sqrt(mean (w - dequant(w))^2)
  double rms = 0;     // sqrt(mean w^2) of the originals, the scale for relative_rmse

  // rmse / rms; 0 for an all-zero tensor (which every method stores exactly).
  double relative_rmse() const { return rms > 0 ? rmse / rms : 0.0; }
};

// Sums in double, in index order, so the result is deterministic.
inline QuantError measure_quant_error(const float* original, const float* dequantized, size_t n) {
  QuantError e;
  double err_sq = 0, ref_sq = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(original[i]) - dequantized[i];
    e.max_abs = std::max(e.max_abs, static_cast<float>(std::fabs(d)));
    err_sq += d * d;
    ref_sq += static_cast<double>(original[i]) * original[i];
  }
  if (n > 0) {
    e.rmse = std::sqrt(err_sq / n);
    e.rms = std::sqrt(ref_sq / n);
  }
  return e;
}

// Caps on what a quantizer or the quant_format parser accepts, so a hostile header cannot ask for
// a huge allocation. TAESD-family tensors have < 100k elements and rank 4.
constexpr int64_t kQuantMaxElems = int64_t{1} << 28;
constexpr size_t kQuantMaxRank = 8;

// Element count of a shape with the output channels first (OIHW; rank 1..kQuantMaxRank, every
// dim >= 1), or an error naming `what`.
inline Result<int64_t> quant_element_count(const std::vector<int64_t>& shape,
                                           const std::string& what) {
  if (shape.empty() || shape.size() > kQuantMaxRank) {
    return Status(Code::shape, what + ": rank " + std::to_string(shape.size()) + " is outside 1.." +
                                   std::to_string(kQuantMaxRank));
  }
  int64_t n = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 1 || shape[d] > kQuantMaxElems || n * shape[d] > kQuantMaxElems) {
      return Status(Code::shape, what + ": dim " + std::to_string(d) + " = " +
                                     std::to_string(shape[d]) +
                                     " is < 1 or makes the tensor larger than 2^28 elements");
    }
    n *= shape[d];
  }
  return n;
}

// Number of groups of `group_channels` output channels (0 = one group for the whole tensor);
// fails unless the group size divides O = shape[0]. `shape` must already pass
// quant_element_count.
inline Result<int64_t> quant_group_count(const std::vector<int64_t>& shape, int64_t group_channels,
                                         const std::string& what) {
  if (group_channels == 0) return int64_t{1};
  if (group_channels < 0 || group_channels > shape[0] || shape[0] % group_channels != 0) {
    return Status(Code::invalid_argument,
                  what + ": group of " + std::to_string(group_channels) +
                      " output channels does not divide O = " + std::to_string(shape[0]));
  }
  return shape[0] / group_channels;
}

}  // namespace taec

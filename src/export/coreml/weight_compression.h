// Compressed conv weights for the Core ML export (`taec export coreml --weights`): the storage
// methods of quant/weight_quant.h, with the parameters `taec pack --weights` uses, so a Core ML
// package and a taec package of one model carry the same weights:
//
//   palette8  palettize(w, 8 bits, one LUT per tensor)          -> constexpr_lut_to_dense, uint8 indices
//   palette4  palettize(w, 4 bits, one LUT per output channel)  -> constexpr_lut_to_dense, uint4 indices
//   int8      quantize_int8(w): symmetric, per output channel   -> constexpr_blockwise_shift_scale
//
// Which weights: every conv weight (rank 4), biases and GroupNorm vectors stay fp16 consts. That is
// the set `taec pack` quantizes. coremltools' default compression config (weight_threshold 2048:
// only consts of more than 2048 elements, never rank <= 1) would pick the same set except the
// final 64->3 conv (3x64x3x3 = 1728 elements); taec compresses it too so that both artifacts hold
// identical weights (it is 3.4 KB of fp16 either way). docs/COREML_EXPORT.md has the layout.
#pragma once

#include <map>
#include <string>

#include "base/status.h"
#include "graph/model.h"
#include "quant/quant_format.h"
#include "quant/weight_quant.h"

namespace taec::coreml {

using WeightCompression = WeightQuant;

inline const char* weight_compression_name(WeightCompression method) { return weight_quant_name(method); }
// "" and "none" are none; anything else that is not one of the names is invalid_argument.
Result<WeightCompression> parse_weight_compression(const std::string& name);

// Whether the export compresses this graph weight (given a method other than none).
inline bool is_compressed_weight(const Weight& weight) { return weight_is_quantized(weight.shape); }

// The quantized form of every compressed weight of one model, computed once per export and shared
// by all the functions and packages built from it (quantization is deterministic, so this is only
// about time: palettization costs ~0.15 s per decoder).
struct CompressedWeights {
  WeightCompression method = WeightCompression::none;
  std::map<int, QuantizedTensor> by_weight;  // index into Graph::weights -> quantized tensor

  const QuantizedTensor* find(int weight_index) const;
};

// Fails (naming the tensor) where a quantizer does, or where an int8 scale would not survive fp16
// storage (Inf, or a nonzero scale rounding to 0, which would erase its output channel).
Result<CompressedWeights> compress_weights(const Model& model, WeightCompression method);

}  // namespace taec::coreml

#include "export/coreml/weight_compression.h"

#include <cmath>

#include "base/half.h"

namespace taec::coreml {

Result<WeightCompression> parse_weight_compression(const std::string& name) {
  if (name.empty()) return WeightCompression::none;
  auto q = parse_weight_quant(name);
  if (!q.ok()) return Status(Code::invalid_argument, "weights \"" + name + "\" is not none, int8, palette8 or palette4");
  return *q;
}

const QuantizedTensor* CompressedWeights::find(int weight_index) const {
  auto it = by_weight.find(weight_index);
  return it == by_weight.end() ? nullptr : &it->second;
}

Result<CompressedWeights> compress_weights(const Model& model, WeightCompression method) {
  CompressedWeights out;
  out.method = method;
  if (method == WeightCompression::none) return out;
  const std::vector<Weight>& weights = model.graph.weights;
  for (size_t i = 0; i < weights.size(); ++i) {
    const Weight& w = weights[i];
    if (!is_compressed_weight(w)) continue;
    const std::string what = "compressing " + w.name + " (" + weight_compression_name(method) + ")";
    if (method == WeightCompression::int8) {
      auto q = quantize_int8(w.data.data(), w.shape);
      if (!q.ok()) return q.status().with_context(what);
      for (size_t o = 0; o < q->scales.size(); ++o) {
        const float stored = fp16_to_float(float_to_fp16(q->scales[o]));
        if (!std::isfinite(stored) || (q->scales[o] > 0 && stored == 0)) {
          return Status(Code::unsupported, what + ": the scale of output channel " + std::to_string(o) + " (" +
                                               std::to_string(q->scales[o]) + ") does not fit fp16");
        }
      }
      out.by_weight.emplace(static_cast<int>(i), std::move(q).value());
    } else {
      auto q = palettize_for(w.data.data(), w.shape, method);
      if (!q.ok()) return q.status().with_context(what);
      out.by_weight.emplace(static_cast<int>(i), std::move(q).value());
    }
  }
  return out;
}

}  // namespace taec::coreml

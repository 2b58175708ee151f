#include "export/coreml/weight_compression.h"

#include <cmath>

#include "base/half.h"

namespace taec::coreml {

const char* weight_compression_name(WeightCompression method) {
  switch (method) {
    case WeightCompression::none: return "none";
    case WeightCompression::palette8: return "palette8";
    case WeightCompression::palette4: return "palette4";
    case WeightCompression::int8: return "int8";
  }
  return "?";
}

Result<WeightCompression> parse_weight_compression(const std::string& name) {
  for (WeightCompression m : {WeightCompression::none, WeightCompression::palette8, WeightCompression::palette4,
                              WeightCompression::int8}) {
    if (name == weight_compression_name(m)) return m;
  }
  if (name.empty()) return WeightCompression::none;
  return Status(Code::invalid_argument, "weights \"" + name + "\" is not none, int8, palette8 or palette4");
}

bool is_compressed_weight(const Weight& weight) { return weight.shape.size() == 4; }

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
      const bool four = method == WeightCompression::palette4;
      auto q = palettize(w.data.data(), w.shape, four ? 4 : 8, four ? 1 : 0);
      if (!q.ok()) return q.status().with_context(what);
      out.by_weight.emplace(static_cast<int>(i), std::move(q).value());
    }
  }
  return out;
}

}  // namespace taec::coreml

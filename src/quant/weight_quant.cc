#include "quant/weight_quant.h"

#include "quant/int8_weights.h"
#include "quant/palettize.h"
#include "quant/quant_format.h"

namespace taec {

const char* weight_quant_name(WeightQuant q) {
  switch (q) {
    case WeightQuant::none: return "none";
    case WeightQuant::int8: return "int8";
    case WeightQuant::palette8: return "palette8";
    case WeightQuant::palette4: return "palette4";
  }
  return "?";
}

Result<WeightQuant> parse_weight_quant(const std::string& name) {
  for (WeightQuant q : {WeightQuant::none, WeightQuant::int8, WeightQuant::palette8, WeightQuant::palette4}) {
    if (name == weight_quant_name(q)) return q;
  }
  return Status(Code::invalid_argument, "unknown weight storage '" + name + "' (none, int8, palette8, palette4)");
}

Result<PalettizedTensor> palettize_for(const float* w, const std::vector<int64_t>& shape, WeightQuant q) {
  if (q != WeightQuant::palette8 && q != WeightQuant::palette4) return Status(Code::invalid_argument, "palettize_for: not a palette method");
  const bool four = q == WeightQuant::palette4;
  return palettize(w, shape, four ? 4 : 8, four ? 1 : 0);
}

Result<std::vector<uint8_t>> quantized_record(const float* w, const std::vector<int64_t>& shape, WeightQuant q) {
  if (q == WeightQuant::int8) {
    TAEC_ASSIGN_OR_RETURN(Int8Tensor t, quantize_int8(w, shape));
    return write_quantized(t);
  }
  if (q == WeightQuant::none) return Status(Code::invalid_argument, "quantized_record: storage none");
  TAEC_ASSIGN_OR_RETURN(PalettizedTensor t, palettize_for(w, shape, q));
  return write_quantized(t);
}

Result<std::vector<float>> quantize_dequantize(const float* w, const std::vector<int64_t>& shape, WeightQuant q) {
  if (q == WeightQuant::int8) {
    TAEC_ASSIGN_OR_RETURN(Int8Tensor t, quantize_int8(w, shape));
    return dequantize(t);
  }
  if (q == WeightQuant::none) return Status(Code::invalid_argument, "quantize_dequantize: storage none");
  TAEC_ASSIGN_OR_RETURN(PalettizedTensor t, palettize_for(w, shape, q));
  return dequantize(t);
}

Result<std::shared_ptr<const Model>> with_quantized_weights(const Model& model, WeightQuant q) {
  auto copy = std::make_shared<Model>(model);
  if (q == WeightQuant::none) return std::shared_ptr<const Model>(std::move(copy));
  for (Weight& w : copy->graph.weights) {
    if (!weight_is_quantized(w.shape)) continue;
    TAEC_ASSIGN_OR_RETURN(w.data, quantize_dequantize(w.data.data(), w.shape, q));
  }
  return std::shared_ptr<const Model>(std::move(copy));
}

}  // namespace taec

// The weight storage methods as one choice, shared by `taec pack --weights`, `taec roundtrip
// --methods` and the Core ML export: which tensors each quantizes and with which parameters
// (measured on taef2, see palettize.h), so a package, an in-memory round trip and an export of
// one method hold the same numbers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/model.h"
#include "quant/palettize.h"

namespace taec {

// none: as in the checkpoint; int8: per output channel, symmetric; palette8: one 8-bit look-up
// table per tensor; palette4: one 4-bit look-up table per output channel.
enum class WeightQuant { none, int8, palette8, palette4 };

const char* weight_quant_name(WeightQuant q);  // "none", "int8", "palette8", "palette4"
Result<WeightQuant> parse_weight_quant(const std::string& name);

// Convolution weights (rank 4) are quantized; biases and norms stay as they are.
inline bool weight_is_quantized(const std::vector<int64_t>& shape) { return shape.size() == 4; }

// palette8 / palette4 as every user of the methods palettizes (the variants with the best
// size/error trade-off measured on taef2, see palettize.h).
Result<PalettizedTensor> palettize_for(const float* w, const std::vector<int64_t>& shape, WeightQuant q);

// The quant_format.h record weight.bin stores for `w` under `q` (q != none).
Result<std::vector<uint8_t>> quantized_record(const float* w, const std::vector<int64_t>& shape, WeightQuant q);

// `w` as a loader sees it: quantized under `q`, then dequantized (bitwise what a package with
// that storage dequantizes to).
Result<std::vector<float>> quantize_dequantize(const float* w, const std::vector<int64_t>& shape, WeightQuant q);

// A copy of `model` whose convolution weights went through quantize_dequantize.
Result<std::shared_ptr<const Model>> with_quantized_weights(const Model& model, WeightQuant q);

}  // namespace taec

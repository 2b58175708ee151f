// .safetensors reader. Layout: u64 little-endian header length N, N bytes of JSON
// ({"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}), then
// the data section; offsets are relative to its start. Every offset is checked to lie inside the
// data section, to match dtype x shape, and not to overlap another tensor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/checkpoint.h"

namespace taec {

bool looks_like_safetensors(const std::vector<uint8_t>& bytes);
Result<Checkpoint> read_safetensors(const std::string& path, const std::vector<uint8_t>& bytes);

// Serializes tensors in the same layout (used by tests and converters).
std::vector<uint8_t> write_safetensors(const std::vector<RawTensor>& tensors,
                                       const std::map<std::string, std::string>& metadata);

}  // namespace taec

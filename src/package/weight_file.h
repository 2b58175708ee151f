// weight.bin: the one weight file every plan of a package uses (format: docs/PACKAGE.md).
//
//   offset 0   header, 64 bytes: "TAECWBIN" | u32 version (1) | u32 tensor_count |
//              u64 index_offset (64) | u64 index_bytes | u64 data_offset | u64 file_bytes | 16 zero
//   index      per tensor: u32 name_bytes | name (UTF-8) | u32 dtype (1 f32, 2 f16) | u32 rank |
//              u64 dims[rank] | u64 data_offset (from data_offset, multiple of 64) | u64 data_bytes
//   data       each tensor C order, little endian, starting on a 64-byte boundary, zero padded
//
// All integers little endian. The reader checks every field against the file size and the caps
// below before it allocates anything, so a hostile weight.bin yields an error, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "io/checkpoint.h"

namespace taec {

struct WeightFileLimits {
  static constexpr uint32_t kMaxTensors = 4096;
  static constexpr uint32_t kMaxNameBytes = 512;
  static constexpr uint32_t kMaxRank = 8;
  static constexpr uint64_t kMaxFileBytes = 1ull << 30;
};

constexpr uint32_t kWeightFileVersion = 1;

// One tensor of weight.bin: plain (f16/f32 bytes in `tensor`), or a quantized record
// (quant_format.h) of `tensor.shape` in `quantized`.
struct WeightEntry {
  RawTensor tensor;
  std::vector<uint8_t> quantized;  // empty: plain
};

// Entries in the given order; plain tensors f16 or f32 only (bf16 is stored as f32).
Result<std::vector<uint8_t>> write_weight_file(const std::vector<WeightEntry>& entries);

// `what` names the file in messages. Returns the tensors as a Checkpoint (format
// "taec-weights"); quantized tensors come back dequantized to f32. `quantized_count`, if given,
// receives how many were quantized.
Result<Checkpoint> read_weight_file(const std::string& what, const uint8_t* data, size_t size, size_t* quantized_count = nullptr);

}  // namespace taec

// Decoding and checking const values of a MIL program: immediate values and weight.bin blob
// references (shared docs COREML.md sections 3.1 and 4).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "export/coreml/blob_storage.h"
#include "export/coreml/mil_types.h"

namespace taec::coreml {

// A parsed weight.bin: the whole file and its records by metadata offset.
struct BlobFile {
  std::vector<uint8_t> bytes;
  std::map<uint64_t, BlobRecord> records;
};

struct ConstData {
  mil::DataType dtype = mil::UNUSED_TYPE;
  std::vector<int64_t> dims;  // {} for a scalar
  std::vector<double> numbers;  // numeric types, fp16 decoded exactly; empty unless with_data
  std::vector<bool> bools;
  std::vector<std::string> strings;
  bool from_blob = false;
  uint64_t blob_offset = 0;
};

// Checks that `value` is a complete, consistent const of a fixed-shape tensor type: an immediate
// value with exactly as many elements as the type and the encoding coremltools uses for the dtype,
// or a blob reference to `@model_path/weights/weight.bin` whose record has the same dtype, size and
// (sub-byte dtypes such as uint4) padding bits. Small values are always decoded; blob data only
// with `with_data` (sub-byte elements unpacked, int4 sign-extended).
Result<ConstData> decode_const(const mil::Value& value, const BlobFile* blobs, bool with_data);

}  // namespace taec::coreml

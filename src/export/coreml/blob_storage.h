// MIL blob storage v2: the `weights/weight.bin` of an ML Program package (coremltools
// mlmodel/src/MILBlob/Blob/StorageFormat.hpp; shared docs COREML.md section 4).
//
//   offset 0   storage header, 64 bytes: u32 count, u32 version = 2, 56 zero bytes
//   then per blob, each metadata record on a 64-byte boundary (zero gap before it):
//              u32 sentinel 0xDEADBEEF, u32 dtype, u64 size_bytes, u64 data_offset (= record + 64),
//              u64 padding_bits = 0, 32 zero bytes; then size_bytes of raw little-endian data.
//   The file ends right after the last blob's data (no trailing padding).
//
// A MIL const refers to a blob by the offset of its metadata record.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace taec::coreml {

// BlobDataType codes of the format. The writer takes any of them so that compressed (int8, uint4…)
// weights can be added later without touching the file layout.
enum class BlobDType : uint32_t {
  float16 = 1,
  float32 = 2,
  uint8 = 3,
  int8 = 4,
  bfloat16 = 5,
  int16 = 6,
  uint16 = 7,
  int4 = 8,
  uint1 = 9,
  uint2 = 10,
  uint4 = 11,
  uint3 = 12,
  uint6 = 13,
  int32 = 14,
  uint32 = 15,
  float8e4m3fn = 16,
  float8e5m2 = 17,
};

constexpr uint64_t kBlobAlignment = 64;
constexpr uint32_t kBlobSentinel = 0xDEADBEEFu;
constexpr uint32_t kBlobStorageVersion = 2;

bool blob_dtype_known(uint32_t code);
const char* blob_dtype_name(BlobDType dtype);

// Builds the file in memory, the way coremltools' StorageWriter writes it.
class BlobWriter {
 public:
  BlobWriter();

  // Appends one blob; returns the offset of its metadata record (what the MIL program stores).
  uint64_t append(BlobDType dtype, const void* data, uint64_t size_bytes);

  uint32_t count() const { return count_; }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
  uint32_t count_ = 0;
};

struct BlobRecord {
  BlobDType dtype;
  uint64_t size_bytes = 0;
  uint64_t data_offset = 0;
};

// Parses and validates a whole file: header, then the sequential walk of records (sentinel, known
// dtype, data right after the record, data inside the file, zero padding fields), and that the
// walk ends exactly at the end of the file with `count` records. Keyed by metadata offset.
Result<std::map<uint64_t, BlobRecord>> parse_blob_storage(const std::string& path,
                                                          const std::vector<uint8_t>& bytes);

}  // namespace taec::coreml

// MIL blob storage v2: the `weights/weight.bin` of an ML Program package (coremltools
// mlmodel/src/MILBlob/Blob/StorageFormat.hpp; shared docs COREML.md section 4).
//
//   offset 0   storage header, 64 bytes: u32 count, u32 version = 2, 56 zero bytes
//   then per blob, each metadata record on a 64-byte boundary (zero gap before it):
//              u32 sentinel 0xDEADBEEF, u32 dtype, u64 size_bytes, u64 data_offset (= record + 64),
//              u64 padding_bits, 32 zero bytes; then size_bytes of raw little-endian data.
//   The file ends right after the last blob's data (no trailing padding).
//
// Sub-byte dtypes (uint1/2/3/4/6, int4) are packed LSB first: element i occupies bits
// [i * bits, (i + 1) * bits) of the data counted from bit 0 of byte 0, so for uint4 element 2k is
// the low nibble of byte k and 2k+1 the high nibble (MILBlob SubByteTypes.cpp PackSubByteVecImpl).
// size_bytes = ceil(n * bits / 8) and padding_bits = size_bytes * 8 - n * bits, which is < 8
// (StorageWriter.cpp WritePaddingBits; StorageReader.cpp recovers n from the two). Byte-sized
// dtypes have padding_bits 0.
//
// A MIL const refers to a blob by the offset of its metadata record.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace taec::coreml {

// BlobDataType codes of the format (MILBlob/Blob/BlobDataType.hpp).
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
// Bits per element: 1..6 for the sub-byte dtypes, 8/16/32 for the others.
int blob_dtype_bits(BlobDType dtype);

// Builds the file in memory, the way coremltools' StorageWriter writes it.
class BlobWriter {
 public:
  BlobWriter();

  // Appends one blob; returns the offset of its metadata record (what the MIL program stores).
  // padding_bits: the unused high bits of the last byte of sub-byte data (0 otherwise).
  uint64_t append(BlobDType dtype, const void* data, uint64_t size_bytes, uint64_t padding_bits = 0);

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
  uint64_t padding_bits = 0;  // sub-byte dtypes only: elements = (size_bytes * 8 - padding_bits) / bits
};

// Parses and validates a whole file: header, then the sequential walk of records (sentinel, known
// dtype, data right after the record, data inside the file, zero reserved fields; padding_bits 0
// for byte-sized dtypes, and for sub-byte ones below 8, leaving a whole number of elements, with
// the padding bits themselves 0), and that the walk ends exactly at the end of the file with
// `count` records. Keyed by metadata offset.
Result<std::map<uint64_t, BlobRecord>> parse_blob_storage(const std::string& path,
                                                          const std::vector<uint8_t>& bytes);

}  // namespace taec::coreml

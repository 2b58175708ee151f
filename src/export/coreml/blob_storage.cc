#include "export/coreml/blob_storage.h"

#include <cstring>

namespace taec::coreml {
namespace {

constexpr uint64_t kHeaderBytes = 64;
constexpr uint64_t kRecordBytes = 64;

uint64_t align_up(uint64_t n) { return (n + kBlobAlignment - 1) / kBlobAlignment * kBlobAlignment; }

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

}  // namespace

bool blob_dtype_known(uint32_t code) { return code >= 1 && code <= 17; }

int blob_dtype_bits(BlobDType dtype) {
  switch (dtype) {
    case BlobDType::uint1: return 1;
    case BlobDType::uint2: return 2;
    case BlobDType::uint3: return 3;
    case BlobDType::int4:
    case BlobDType::uint4: return 4;
    case BlobDType::uint6: return 6;
    case BlobDType::uint8:
    case BlobDType::int8:
    case BlobDType::float8e4m3fn:
    case BlobDType::float8e5m2: return 8;
    case BlobDType::float16:
    case BlobDType::bfloat16:
    case BlobDType::int16:
    case BlobDType::uint16: return 16;
    case BlobDType::float32:
    case BlobDType::int32:
    case BlobDType::uint32: return 32;
  }
  return 0;
}

const char* blob_dtype_name(BlobDType dtype) {
  static const char* const kNames[] = {"?",     "fp16",  "fp32",  "uint8", "int8",  "bf16",
                                       "int16", "uint16", "int4", "uint1", "uint2", "uint4",
                                       "uint3", "uint6", "int32", "uint32", "fp8e4m3fn", "fp8e5m2"};
  const auto code = static_cast<uint32_t>(dtype);
  return blob_dtype_known(code) ? kNames[code] : "?";
}

BlobWriter::BlobWriter() : bytes_(kHeaderBytes, 0) {
  put_u32(bytes_.data(), 0);
  put_u32(bytes_.data() + 4, kBlobStorageVersion);
}

uint64_t BlobWriter::append(BlobDType dtype, const void* data, uint64_t size_bytes, uint64_t padding_bits) {
  const uint64_t record = align_up(bytes_.size());
  const uint64_t data_offset = record + kRecordBytes;
  bytes_.resize(data_offset + size_bytes, 0);
  uint8_t* meta = bytes_.data() + record;
  put_u32(meta, kBlobSentinel);
  put_u32(meta + 4, static_cast<uint32_t>(dtype));
  put_u64(meta + 8, size_bytes);
  put_u64(meta + 16, data_offset);
  put_u64(meta + 24, padding_bits);
  if (size_bytes) std::memcpy(bytes_.data() + data_offset, data, size_bytes);
  put_u32(bytes_.data(), ++count_);
  return record;
}

Result<std::map<uint64_t, BlobRecord>> parse_blob_storage(const std::string& path,
                                                          const std::vector<uint8_t>& bytes) {
  auto bad = [&](const std::string& why) { return Status(Code::format, path + ": " + why); };
  if (bytes.size() < kHeaderBytes) return bad("shorter than the 64-byte blob storage header");
  const uint32_t count = get_u32(bytes.data());
  const uint32_t version = get_u32(bytes.data() + 4);
  if (version != kBlobStorageVersion) {
    return bad("blob storage version " + std::to_string(version) + ", expected 2");
  }
  if (!all_zero(bytes.data() + 8, kHeaderBytes - 8)) return bad("reserved header bytes are not zero");
  std::map<uint64_t, BlobRecord> records;
  uint64_t end = kHeaderBytes;
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t record = align_up(end);
    const std::string where = "blob " + std::to_string(i) + " at offset " + std::to_string(record);
    if (record > bytes.size() || bytes.size() - record < kRecordBytes) {
      return bad(where + ": metadata record past the end of the file (header says " +
                 std::to_string(count) + " blobs)");
    }
    if (!all_zero(bytes.data() + end, record - end)) return bad(where + ": alignment gap is not zero");
    const uint8_t* meta = bytes.data() + record;
    if (get_u32(meta) != kBlobSentinel) return bad(where + ": no 0xDEADBEEF sentinel");
    const uint32_t dtype = get_u32(meta + 4);
    if (!blob_dtype_known(dtype)) return bad(where + ": unknown dtype code " + std::to_string(dtype));
    const uint64_t size_bytes = get_u64(meta + 8);
    const uint64_t data_offset = get_u64(meta + 16);
    if (data_offset != record + kRecordBytes) {
      return bad(where + ": data offset " + std::to_string(data_offset) + " does not follow its record");
    }
    if (size_bytes > bytes.size() - data_offset) {
      return bad(where + ": " + std::to_string(size_bytes) + " data bytes run past the end of the file");
    }
    if (!all_zero(meta + 32, 32)) return bad(where + ": reserved fields are not zero");
    const uint64_t padding_bits = get_u64(meta + 24);
    const auto type = static_cast<BlobDType>(dtype);
    const uint64_t bits = static_cast<uint64_t>(blob_dtype_bits(type));
    if (padding_bits != 0) {
      // MILBlob's reader: padding < 8, and a whole number of elements in the remaining bits.
      if (bits >= 8 || padding_bits >= 8 || size_bytes == 0 || (size_bytes * 8 - padding_bits) % bits != 0) {
        return bad(where + ": " + std::to_string(padding_bits) + " padding bits do not fit " +
                   blob_dtype_name(type) + " data of " + std::to_string(size_bytes) + " bytes");
      }
      // The packer leaves them 0; one encoding per tensor keeps files comparable byte for byte.
      const uint8_t last = bytes[data_offset + size_bytes - 1];
      if ((last >> (8 - padding_bits)) != 0) return bad(where + ": the padding bits of the last data byte are not 0");
    } else if (bits < 8 && size_bytes * 8 % bits != 0) {
      return bad(where + ": " + std::to_string(size_bytes) + " bytes are not a whole number of " +
                 blob_dtype_name(type) + " elements");
    }
    records[record] = BlobRecord{type, size_bytes, data_offset, padding_bits};
    end = data_offset + size_bytes;
  }
  if (end != bytes.size()) {
    return bad(std::to_string(bytes.size() - end) + " bytes after the last of " + std::to_string(count) +
               " blobs");
  }
  return records;
}

}  // namespace taec::coreml

#include "export/coreml/mil_const.h"

#include <cstring>

#include "base/half.h"

namespace taec::coreml {
namespace {

bool blob_dtype_for(mil::DataType dtype, BlobDType* out) {
  switch (dtype) {
    case mil::FLOAT16: *out = BlobDType::float16; return true;
    case mil::FLOAT32: *out = BlobDType::float32; return true;
    case mil::UINT8: *out = BlobDType::uint8; return true;
    case mil::INT8: *out = BlobDType::int8; return true;
    case mil::INT16: *out = BlobDType::int16; return true;
    case mil::UINT16: *out = BlobDType::uint16; return true;
    case mil::INT32: *out = BlobDType::int32; return true;
    case mil::UINT32: *out = BlobDType::uint32; return true;
    case mil::INT4: *out = BlobDType::int4; return true;
    case mil::UINT1: *out = BlobDType::uint1; return true;
    case mil::UINT2: *out = BlobDType::uint2; return true;
    case mil::UINT3: *out = BlobDType::uint3; return true;
    case mil::UINT4: *out = BlobDType::uint4; return true;
    case mil::UINT6: *out = BlobDType::uint6; return true;
    default: return false;
  }
}

// Element i of LSB-first packed sub-byte data (blob_storage.h), sign-extended for int4.
double sub_byte_element(const uint8_t* p, mil::DataType dtype, int bits, size_t i) {
  const uint64_t first = static_cast<uint64_t>(i) * bits;
  unsigned v = 0;
  for (int b = 0; b < bits; ++b) {
    const uint64_t bit = first + b;
    v |= ((p[bit / 8] >> (bit % 8)) & 1u) << b;
  }
  if (dtype == mil::INT4 && (v & 8u)) return static_cast<double>(static_cast<int>(v) - 16);
  return v;
}

// Little-endian element i of a raw buffer of `dtype`.
double raw_element(const uint8_t* p, mil::DataType dtype, size_t i) {
  switch (dtype) {
    case mil::FLOAT16: return fp16_to_float(static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8)));
    case mil::FLOAT32: {
      uint32_t bits = 0;
      for (int k = 0; k < 4; ++k) bits |= static_cast<uint32_t>(p[4 * i + k]) << (8 * k);
      return bits_to_float(bits);
    }
    case mil::INT8: return static_cast<int8_t>(p[i]);
    case mil::UINT8: return p[i];
    case mil::INT16: return static_cast<int16_t>(p[2 * i] | (p[2 * i + 1] << 8));
    case mil::UINT16: return static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8));
    case mil::INT32:
    case mil::UINT32: {
      uint32_t bits = 0;
      for (int k = 0; k < 4; ++k) bits |= static_cast<uint32_t>(p[4 * i + k]) << (8 * k);
      return dtype == mil::INT32 ? static_cast<double>(static_cast<int32_t>(bits)) : bits;
    }
    default: return 0;
  }
}

}  // namespace

Result<ConstData> decode_const(const mil::Value& value, const BlobFile* blobs, bool with_data) {
  if (!value.has_type() || !value.type().has_tensortype()) {
    return Status(Code::format, "const value has no tensor type");
  }
  const mil::TensorType& type = value.type().tensortype();
  ConstData out;
  out.dtype = type.datatype();
  out.dims = dims_of(type);
  if (type.rank() != static_cast<int64_t>(out.dims.size())) {
    return Status(Code::format, "const type has rank " + std::to_string(type.rank()) + " but " +
                                    std::to_string(out.dims.size()) + " dimensions");
  }
  const int64_t count = element_count(out.dims);
  // 2^34 elements is far beyond any weight; the bound keeps byte counts from overflowing.
  if (count < 0 || count > (int64_t{1} << 34)) {
    return Status(Code::format, "const " + type_text(value.type()) + " has an unknown or huge dimension");
  }
  const std::string what = "const " + type_text(value.type());

  if (value.has_blobfilevalue()) {
    const auto& ref = value.blobfilevalue();
    if (ref.filename() != kWeightFileName) {
      return Status(Code::format, what + " refers to blob file \"" + ref.filename() + "\", expected " + kWeightFileName);
    }
    BlobDType expected;
    if (!blob_dtype_for(out.dtype, &expected)) return Status(Code::format, what + " cannot be stored as a blob");
    if (blobs == nullptr) return Status(Code::format, what + " refers to weight.bin, but the package has none");
    auto it = blobs->records.find(ref.offset());
    if (it == blobs->records.end()) {
      return Status(Code::format, what + ": no blob record at weight.bin offset " + std::to_string(ref.offset()));
    }
    const BlobRecord& rec = it->second;
    if (rec.dtype != expected) {
      return Status(Code::format, what + ": blob at offset " + std::to_string(ref.offset()) + " holds " +
                                      blob_dtype_name(rec.dtype) + " data");
    }
    // Sub-byte types: whole bytes, the unused bits of the last one counted in padding_bits.
    const int bits = dtype_bits(out.dtype);
    const uint64_t size = (static_cast<uint64_t>(count) * bits + 7) / 8;
    const uint64_t padding = size * 8 - static_cast<uint64_t>(count) * bits;
    if (rec.size_bytes != size) {
      return Status(Code::format, what + ": blob at offset " + std::to_string(ref.offset()) + " holds " +
                                      std::to_string(rec.size_bytes) + " bytes, the type needs " + std::to_string(size));
    }
    if (rec.padding_bits != padding) {
      return Status(Code::format, what + ": blob at offset " + std::to_string(ref.offset()) + " declares " +
                                      std::to_string(rec.padding_bits) + " padding bits, the type needs " +
                                      std::to_string(padding));
    }
    out.from_blob = true;
    out.blob_offset = ref.offset();
    if (with_data) {
      out.numbers.resize(static_cast<size_t>(count));
      const uint8_t* p = blobs->bytes.data() + rec.data_offset;
      for (size_t i = 0; i < out.numbers.size(); ++i) {
        out.numbers[i] = bits < 8 ? sub_byte_element(p, out.dtype, bits, i) : raw_element(p, out.dtype, i);
      }
    }
    return out;
  }
  if (!value.has_immediatevalue() || !value.immediatevalue().has_tensor()) {
    return Status(Code::format, what + " has neither an immediate tensor nor a blob reference");
  }
  const mil::TensorValue& t = value.immediatevalue().tensor();
  auto wrong = [&](size_t got) {
    return Status(Code::format, what + " holds " + std::to_string(got) + " elements (or the wrong encoding)");
  };
  switch (out.dtype) {
    case mil::FLOAT16:
    case mil::INT8:
    case mil::UINT8: {
      const std::string& bytes = t.bytes().values();
      const size_t width = out.dtype == mil::FLOAT16 ? 2 : 1;
      if (!t.has_bytes() || bytes.size() != static_cast<uint64_t>(count) * width) return wrong(bytes.size() / width);
      for (size_t i = 0; i < static_cast<size_t>(count); ++i) {
        out.numbers.push_back(raw_element(reinterpret_cast<const uint8_t*>(bytes.data()), out.dtype, i));
      }
      break;
    }
    case mil::FLOAT32:
      if (!t.has_floats() || t.floats().values_size() != count) return wrong(t.floats().values_size());
      out.numbers.assign(t.floats().values().begin(), t.floats().values().end());
      break;
    case mil::INT32:
    case mil::INT16:
    case mil::UINT16:
      if (!t.has_ints() || t.ints().values_size() != count) return wrong(t.ints().values_size());
      out.numbers.assign(t.ints().values().begin(), t.ints().values().end());
      break;
    case mil::INT64:
      if (!t.has_longints() || t.longints().values_size() != count) return wrong(t.longints().values_size());
      for (int64_t v : t.longints().values()) out.numbers.push_back(static_cast<double>(v));
      break;
    case mil::FLOAT64:
      if (!t.has_doubles() || t.doubles().values_size() != count) return wrong(t.doubles().values_size());
      out.numbers.assign(t.doubles().values().begin(), t.doubles().values().end());
      break;
    case mil::BOOL:
      if (!t.has_bools() || t.bools().values_size() != count) return wrong(t.bools().values_size());
      out.bools.assign(t.bools().values().begin(), t.bools().values().end());
      break;
    case mil::STRING:
      if (!t.has_strings() || t.strings().values_size() != count) return wrong(t.strings().values_size());
      out.strings.assign(t.strings().values().begin(), t.strings().values().end());
      break;
    default:
      return Status(Code::format, what + ": immediate values of this dtype are not supported");
  }
  return out;
}

}  // namespace taec::coreml

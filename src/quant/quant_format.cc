#include "quant/quant_format.h"

#include <cstring>

namespace taec {
namespace {

constexpr char kMagic[4] = {'T', 'Q', 'W', '1'};
constexpr size_t kFixedHeaderBytes = 24;  // up to the dims

void put(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint64_t get(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

void put_header(std::vector<uint8_t>& out, QuantMethod method, int bits,
                const std::vector<int64_t>& shape, int64_t group_channels, size_t table_count,
                size_t payload_bytes) {
  out.insert(out.end(), kMagic, kMagic + 4);
  put(out, static_cast<uint8_t>(method), 1);
  put(out, static_cast<uint64_t>(bits), 1);
  put(out, 0, 2);
  put(out, shape.size(), 4);
  put(out, static_cast<uint64_t>(group_channels), 4);
  put(out, table_count, 4);
  put(out, 0, 4);
  for (int64_t d : shape) put(out, static_cast<uint64_t>(d), 8);
  put(out, payload_bytes, 8);
}

Status format_error(const std::string& what, const std::string& why) {
  return Status(Code::format, what + ": " + why);
}

}  // namespace

Result<std::vector<uint8_t>> write_quantized(const PalettizedTensor& t) {
  const Status check = check_palettized(t, "write_quantized");
  if (!check.ok()) return Status(Code::invalid_argument, check.message());
  const size_t payload = t.luts.size() * 2 + t.indices.size();
  std::vector<uint8_t> out;
  put_header(out, QuantMethod::palette, t.bits, t.shape, t.group_channels,
             static_cast<size_t>(t.lut_count()), payload);
  for (uint16_t h : t.luts) put(out, h, 2);
  out.insert(out.end(), t.indices.begin(), t.indices.end());
  return out;
}

Result<std::vector<uint8_t>> write_quantized(const Int8Tensor& t) {
  const Status check = check_int8(t, "write_quantized");
  if (!check.ok()) return Status(Code::invalid_argument, check.message());
  const size_t payload = t.scales.size() * 4 + t.values.size();
  std::vector<uint8_t> out;
  put_header(out, QuantMethod::int8, 8, t.shape, 1, t.scales.size(), payload);
  for (float s : t.scales) {
    uint32_t bits;
    std::memcpy(&bits, &s, 4);
    put(out, bits, 4);
  }
  for (int8_t v : t.values) out.push_back(static_cast<uint8_t>(v));
  return out;
}

Result<QuantizedTensor> read_quantized(const std::string& what, const uint8_t* data, size_t size) {
  if (size < kFixedHeaderBytes) {
    return format_error(what, std::to_string(size) + " bytes, shorter than the " +
                                  std::to_string(kFixedHeaderBytes) + "-byte header");
  }
  if (std::memcmp(data, kMagic, 4) != 0) return format_error(what, "magic is not \"TQW1\"");
  const uint64_t method = data[4], bits = data[5];
  const uint64_t rank = get(data + 8, 4), group_channels = get(data + 12, 4);
  const uint64_t table_count = get(data + 16, 4);
  if (method != static_cast<uint8_t>(QuantMethod::palette) &&
      method != static_cast<uint8_t>(QuantMethod::int8)) {
    return format_error(what,
                        "method " + std::to_string(method) + " is not 1 (palette) or 2 (int8)");
  }
  const bool palette = method == static_cast<uint8_t>(QuantMethod::palette);
  if (palette ? bits != 4 && bits != 8 : bits != 8) {
    return format_error(what, "bits = " + std::to_string(bits) + " is not valid for " +
                                  (palette ? "palette (4 or 8)" : "int8 (8)"));
  }
  if (get(data + 6, 2) != 0 || get(data + 20, 4) != 0) {
    return format_error(what, "reserved header fields are not 0");
  }
  if (rank < 1 || rank > kQuantMaxRank) {
    return format_error(
        what, "rank " + std::to_string(rank) + " is outside 1.." + std::to_string(kQuantMaxRank));
  }
  const size_t header_bytes = kFixedHeaderBytes + 8 * rank + 8;
  if (size < header_bytes) {
    return format_error(what, std::to_string(size) + " bytes, shorter than the " +
                                  std::to_string(header_bytes) + "-byte header of a rank " +
                                  std::to_string(rank) + " tensor");
  }
  std::vector<int64_t> shape(rank);
  for (size_t d = 0; d < rank; ++d) {
    const uint64_t dim = get(data + kFixedHeaderBytes + 8 * d, 8);
    // Anything this large fails quant_element_count below; clamp so the cast cannot go negative.
    shape[d] = static_cast<int64_t>(std::min<uint64_t>(dim, uint64_t{1} << 40));
  }
  TAEC_ASSIGN_OR_RETURN(const int64_t n, quant_element_count(shape, what));
  if (!palette && group_channels != 1) {
    return format_error(what, "group_channels = " + std::to_string(group_channels) +
                                  ", int8 is per output channel (1)");
  }
  TAEC_ASSIGN_OR_RETURN(const int64_t groups,
                        quant_group_count(shape, static_cast<int64_t>(group_channels), what));
  const uint64_t want_tables =
      palette ? static_cast<uint64_t>(groups) : static_cast<uint64_t>(shape[0]);
  if (table_count != want_tables) {
    return format_error(what, "table_count = " + std::to_string(table_count) + ", expected " +
                                  std::to_string(want_tables) + (palette ? " LUTs" : " scales"));
  }
  const uint64_t table_bytes = palette ? (table_count << bits) * 2 : table_count * 4;
  const uint64_t body_bytes = palette ? (static_cast<uint64_t>(n) * bits + 7) / 8 : n;
  const uint64_t payload_bytes = get(data + header_bytes - 8, 8);
  if (payload_bytes != table_bytes + body_bytes) {
    return format_error(what, "payload_bytes = " + std::to_string(payload_bytes) + ", the shape " +
                                  "and method imply " + std::to_string(table_bytes + body_bytes));
  }
  if (size - header_bytes != payload_bytes) {
    return format_error(
        what, std::to_string(size - header_bytes) + " payload bytes present, " +
                  std::to_string(payload_bytes) + " expected (" +
                  (size - header_bytes < payload_bytes ? "truncated" : "trailing bytes") + ")");
  }
  const uint8_t* table = data + header_bytes;
  const uint8_t* body = table + table_bytes;
  if (palette) {
    PalettizedTensor t;
    t.shape = shape;
    t.bits = static_cast<int>(bits);
    t.group_channels = static_cast<int64_t>(group_channels);
    t.luts.resize(table_bytes / 2);
    for (size_t i = 0; i < t.luts.size(); ++i)
      t.luts[i] = static_cast<uint16_t>(get(table + 2 * i, 2));
    t.indices.assign(body, body + body_bytes);
    TAEC_RETURN_IF_ERROR(check_palettized(t, what));
    return QuantizedTensor(std::move(t));
  }
  Int8Tensor t;
  t.shape = shape;
  t.scales.resize(table_count);
  for (size_t o = 0; o < t.scales.size(); ++o) {
    const auto bits32 = static_cast<uint32_t>(get(table + 4 * o, 4));
    std::memcpy(&t.scales[o], &bits32, 4);
  }
  t.values.resize(body_bytes);
  std::memcpy(t.values.data(), body, body_bytes);
  TAEC_RETURN_IF_ERROR(check_int8(t, what));
  return QuantizedTensor(std::move(t));
}

}  // namespace taec

#include "package/weight_file.h"

#include "quant/quant_format.h"

#include <cstring>
#include <set>

namespace taec {
namespace {

constexpr char kMagic[8] = {'T', 'A', 'E', 'C', 'W', 'B', 'I', 'N'};
constexpr size_t kHeaderBytes = 64;
constexpr uint64_t kAlign = 64;

uint64_t align_up(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put_u64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint32_t dtype_code(DType d) { return d == DType::f16 ? 2 : 1; }
constexpr uint32_t kQuantizedCode = 3;

// Bounds-checked little-endian cursor over the index.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t begin, uint64_t end) : data_(data), pos_(begin), end_(end) {}
  bool u32(uint32_t& v) { return take(4, v); }
  bool u64(uint64_t& v) { return take(8, v); }
  bool bytes(uint64_t n, std::string& s) {
    if (end_ - pos_ < n) return false;
    s.assign(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return true;
  }
  uint64_t pos() const { return pos_; }

 private:
  template <typename T>
  bool take(int n, T& v) {
    if (end_ - pos_ < static_cast<uint64_t>(n)) return false;
    v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<T>(data_[pos_ + i]) << (8 * i);
    pos_ += n;
    return true;
  }
  const uint8_t* data_;
  uint64_t pos_, end_;
};

// A quantized record, checked to hold a tensor of the index's shape, dequantized to f32.
Result<std::vector<float>> dequantize_record(const std::string& what, const uint8_t* data, size_t size,
                                             const std::vector<int64_t>& shape) {
  TAEC_ASSIGN_OR_RETURN(QuantizedTensor q, read_quantized(what, data, size));
  const std::vector<int64_t>& stored = std::visit([](const auto& t) -> const std::vector<int64_t>& { return t.shape; }, q);
  if (stored != shape) return Status(Code::format, what + ": quantized record's shape differs from the index's");
  return std::visit([](const auto& t) { return dequantize(t); }, q);
}

}  // namespace

Result<std::vector<uint8_t>> write_weight_file(const std::vector<WeightEntry>& entries) {
  if (entries.size() > WeightFileLimits::kMaxTensors) return Status(Code::invalid_argument, "too many tensors for weight.bin");
  std::vector<uint8_t> index;
  uint64_t data_bytes = 0;
  std::vector<uint64_t> offsets;
  std::vector<const std::vector<uint8_t>*> payloads;
  for (const WeightEntry& e : entries) {
    const RawTensor& t = e.tensor;
    const std::vector<uint8_t>& payload = e.quantized.empty() ? t.bytes : e.quantized;
    payloads.push_back(&payload);
    if (t.dtype == DType::bf16) return Status(Code::invalid_argument, "weight.bin stores f16 or f32, not bf16: " + t.name);
    if (t.name.empty() || t.name.size() > WeightFileLimits::kMaxNameBytes || t.shape.size() > WeightFileLimits::kMaxRank) {
      return Status(Code::invalid_argument, "tensor name or rank out of range for weight.bin: " + t.name);
    }
    put_u32(index, static_cast<uint32_t>(t.name.size()));
    index.insert(index.end(), t.name.begin(), t.name.end());
    put_u32(index, e.quantized.empty() ? dtype_code(t.dtype) : kQuantizedCode);
    put_u32(index, static_cast<uint32_t>(t.shape.size()));
    for (int64_t d : t.shape) put_u64(index, static_cast<uint64_t>(d));
    offsets.push_back(data_bytes);
    put_u64(index, data_bytes);
    put_u64(index, payload.size());
    data_bytes = align_up(data_bytes + payload.size());
  }
  const uint64_t data_offset = align_up(kHeaderBytes + index.size());
  uint64_t file_bytes = data_offset;
  if (!entries.empty()) file_bytes = data_offset + offsets.back() + payloads.back()->size();
  std::vector<uint8_t> out;
  out.reserve(file_bytes);
  out.insert(out.end(), kMagic, kMagic + 8);
  put_u32(out, kWeightFileVersion);
  put_u32(out, static_cast<uint32_t>(entries.size()));
  put_u64(out, kHeaderBytes);
  put_u64(out, index.size());
  put_u64(out, data_offset);
  put_u64(out, file_bytes);
  out.resize(kHeaderBytes, 0);
  out.insert(out.end(), index.begin(), index.end());
  out.resize(data_offset, 0);
  for (size_t i = 0; i < entries.size(); ++i) {
    out.resize(data_offset + offsets[i], 0);
    out.insert(out.end(), payloads[i]->begin(), payloads[i]->end());
  }
  return out;
}

Result<Checkpoint> read_weight_file(const std::string& what, const uint8_t* data, size_t size, size_t* quantized_count) {
  if (quantized_count) *quantized_count = 0;
  auto bad = [&](const std::string& why) { return Status(Code::format, what + ": " + why); };
  if (size < kHeaderBytes || std::memcmp(data, kMagic, 8) != 0) return bad("not a taec weight file (no TAECWBIN header)");
  if (size > WeightFileLimits::kMaxFileBytes) return bad("larger than the 1 GiB cap");
  Cursor h(data, 8, kHeaderBytes);
  uint32_t version = 0, count = 0;
  uint64_t index_offset = 0, index_bytes = 0, data_offset = 0, file_bytes = 0;
  h.u32(version);
  h.u32(count);
  h.u64(index_offset);
  h.u64(index_bytes);
  h.u64(data_offset);
  h.u64(file_bytes);
  if (version != kWeightFileVersion) {
    return Status(Code::unsupported, what + ": weight file version " + std::to_string(version) + " (this taec reads " +
                                         std::to_string(kWeightFileVersion) + ")");
  }
  if (file_bytes != size) {
    return bad("header says " + std::to_string(file_bytes) + " bytes but the file has " + std::to_string(size) + " (truncated or padded)");
  }
  if (count > WeightFileLimits::kMaxTensors) return bad("tensor count " + std::to_string(count) + " over the cap");
  if (index_offset != kHeaderBytes || index_bytes > size - kHeaderBytes || data_offset % kAlign != 0 ||
      data_offset < kHeaderBytes + index_bytes || data_offset > size) {
    return bad("index or data offsets outside the file");
  }
  for (size_t i = 48; i < kHeaderBytes; ++i) {
    if (data[i] != 0) return bad("reserved header bytes are not zero");
  }
  Checkpoint ck;
  ck.path = what;
  ck.format = "taec-weights";
  std::set<std::string> names;
  uint64_t prev_end = 0;
  Cursor c(data, index_offset, index_offset + index_bytes);
  for (uint32_t i = 0; i < count; ++i) {
    const std::string at = "index entry " + std::to_string(i);
    uint32_t name_bytes = 0, dtype = 0, rank = 0;
    RawTensor t;
    if (!c.u32(name_bytes) || name_bytes == 0 || name_bytes > WeightFileLimits::kMaxNameBytes || !c.bytes(name_bytes, t.name)) {
      return bad(at + ": bad name");
    }
    if (!names.insert(t.name).second) return bad("tensor '" + t.name + "' appears twice");
    if (!c.u32(dtype) || dtype < 1 || dtype > kQuantizedCode) return bad("tensor '" + t.name + "': unknown dtype code");
    t.dtype = dtype == 2 ? DType::f16 : DType::f32;
    if (!c.u32(rank) || rank > WeightFileLimits::kMaxRank) return bad("tensor '" + t.name + "': bad rank");
    for (uint32_t d = 0; d < rank; ++d) {
      uint64_t dim = 0;
      if (!c.u64(dim) || dim > static_cast<uint64_t>(CheckpointLimits::kMaxElems)) return bad("tensor '" + t.name + "': bad shape");
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    uint64_t offset = 0, nbytes = 0;
    if (!c.u64(offset) || !c.u64(nbytes)) return bad(at + ": truncated");
    TAEC_ASSIGN_OR_RETURN(int64_t numel, checked_numel(t.shape, what + " tensor '" + t.name + "'"));
    if (dtype != kQuantizedCode && nbytes != static_cast<uint64_t>(numel) * dtype_size(t.dtype)) {
      return bad("tensor '" + t.name + "': byte count does not match its shape");
    }
    if (offset % kAlign != 0 || offset < prev_end || offset > size - data_offset || nbytes > size - data_offset - offset) {
      return bad("tensor '" + t.name + "': data outside the file, unaligned or overlapping");
    }
    prev_end = offset + nbytes;
    const uint8_t* payload = data + data_offset + offset;
    if (dtype == kQuantizedCode) {
      TAEC_ASSIGN_OR_RETURN(std::vector<float> values, dequantize_record(what + " tensor '" + t.name + "'", payload, nbytes, t.shape));
      t.bytes.resize(values.size() * sizeof(float));
      std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
      if (quantized_count) ++*quantized_count;
    } else {
      t.bytes.assign(payload, payload + nbytes);
    }
    ck.tensors.push_back(std::move(t));
  }
  if (c.pos() != index_offset + index_bytes) return bad("index has trailing bytes");
  return ck;
}

}  // namespace taec

#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/text.h"
#include "io/json_strict.h"

namespace taec {
namespace {

// The format's own limit (safetensors rejects headers over 100 MB).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

Result<DType> parse_dtype(const std::string& s, const std::string& what) {
  if (s == "F16") return DType::f16;
  if (s == "BF16") return DType::bf16;
  if (s == "F32") return DType::f32;
  return Status(Code::unsupported, what + ": dtype \"" + printable(s, 32) +
                                       "\" is not supported (taec reads F16, BF16 and F32)");
}

struct Span {
  uint64_t begin, end;
  std::string name;
};

}  // namespace

bool looks_like_safetensors(const std::vector<uint8_t>& bytes) {
  return bytes.size() >= 9 && bytes[8] == '{';
}

Result<Checkpoint> read_safetensors(const std::string& path, const std::vector<uint8_t>& bytes) {
  auto fail = [&](Code code, const std::string& msg) { return Status(code, path + ": " + msg); };
  if (bytes.size() < 8) return fail(Code::format, "truncated safetensors file (no header length)");
  const uint64_t header_len = read_u64_le(bytes.data());
  if (header_len > kMaxHeaderBytes) {
    return fail(Code::format, "safetensors header length " + std::to_string(header_len) +
                                  " exceeds the 100 MB limit");
  }
  if (header_len > bytes.size() - 8) {
    return fail(Code::format, "safetensors header length " + std::to_string(header_len) +
                                  " runs past the end of the " + std::to_string(bytes.size()) +
                                  "-byte file (truncated?)");
  }
  const uint8_t* data = bytes.data() + 8 + header_len;
  const uint64_t data_len = bytes.size() - 8 - header_len;

  TAEC_ASSIGN_OR_RETURN(const nlohmann::json header,
                        parse_json_object(path + ": safetensors header", bytes.data() + 8, header_len, kMaxHeaderBytes));
  if (header.size() > CheckpointLimits::kMaxTensors) {
    return fail(Code::format, "safetensors header lists more than 100000 entries");
  }

  Checkpoint ckpt;
  ckpt.path = path;
  ckpt.format = "safetensors";
  std::vector<Span> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const auto& entry = it.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) return fail(Code::format, "__metadata__ is not an object");
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (!m.value().is_string()) {
          return fail(Code::format, "__metadata__ value \"" + printable(m.key()) + "\" is not a string");
        }
        ckpt.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string what = path + ": tensor \"" + printable(name) + "\"";
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets") || !entry["dtype"].is_string() ||
        !entry["shape"].is_array() || !entry["data_offsets"].is_array() ||
        entry["data_offsets"].size() != 2) {
      return Status(Code::format, what + ": entry needs dtype, shape and two data_offsets");
    }
    RawTensor t;
    t.name = name;
    TAEC_ASSIGN_OR_RETURN(t.dtype, parse_dtype(entry["dtype"].get<std::string>(), what));
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_unsigned()) return Status(Code::format, what + ": shape entry " + printable(d.dump(), 40) + " is not a non-negative integer");
      if (d.get<uint64_t>() > static_cast<uint64_t>(CheckpointLimits::kMaxElems)) {
        return Status(Code::format, what + ": dimension " + std::to_string(d.get<uint64_t>()) + " is implausibly large");
      }
      t.shape.push_back(static_cast<int64_t>(d.get<uint64_t>()));
    }
    TAEC_ASSIGN_OR_RETURN(int64_t numel, checked_numel(t.shape, what));
    const auto& offs = entry["data_offsets"];
    if (!offs[0].is_number_unsigned() || !offs[1].is_number_unsigned()) {
      return Status(Code::format, what + ": data_offsets are not non-negative integers");
    }
    const uint64_t begin = offs[0].get<uint64_t>(), end = offs[1].get<uint64_t>();
    if (begin > end || end > data_len) {
      return Status(Code::format, what + ": data_offsets [" + std::to_string(begin) + ", " +
                                      std::to_string(end) + ") lie outside the " +
                                      std::to_string(data_len) + "-byte data section");
    }
    const uint64_t want = static_cast<uint64_t>(numel) * dtype_size(t.dtype);
    if (end - begin != want) {
      return Status(Code::format, what + ": data_offsets span " + std::to_string(end - begin) +
                                      " bytes but dtype and shape need " + std::to_string(want));
    }
    t.bytes.assign(data + begin, data + end);
    spans.push_back({begin, end, name});
    ckpt.tensors.push_back(std::move(t));
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].begin < spans[i - 1].end) {
      return fail(Code::format, "tensors \"" + printable(spans[i - 1].name) + "\" and \"" + printable(spans[i].name) +
                                    "\" overlap in the data section");
    }
  }
  // The header is a JSON object, so its order is lost; restore file order for stable listings.
  std::vector<std::pair<uint64_t, size_t>> order;
  for (size_t i = 0; i < ckpt.tensors.size(); ++i) {
    order.push_back({header[ckpt.tensors[i].name]["data_offsets"][0].get<uint64_t>(), i});
  }
  std::sort(order.begin(), order.end());
  std::vector<RawTensor> sorted;
  sorted.reserve(order.size());
  for (auto& [offset, index] : order) sorted.push_back(std::move(ckpt.tensors[index]));
  ckpt.tensors = std::move(sorted);
  return ckpt;
}

std::vector<uint8_t> write_safetensors(const std::vector<RawTensor>& tensors,
                                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    static const char* kNames[] = {"F16", "BF16", "F32"};
    header[t.name] = {{"dtype", kNames[static_cast<int>(t.dtype)]},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text.push_back(' ');
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i));
  out.insert(out.end(), text.begin(), text.end());
  for (const auto& t : tensors) out.insert(out.end(), t.bytes.begin(), t.bytes.end());
  return out;
}

}  // namespace taec

#include "io/checkpoint.h"

#include <cstring>

#include "base/file_util.h"
#include "base/half.h"
#include "io/pth.h"
#include "io/safetensors.h"

namespace taec {

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
    case DType::f32: return "f32";
  }
  return "?";
}

size_t dtype_size(DType dtype) { return dtype == DType::f32 ? 4 : 2; }

int64_t RawTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<float> RawTensor::to_float() const {
  const size_t n = static_cast<size_t>(numel());
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) {
    if (dtype == DType::f32) {
      std::memcpy(&out[i], bytes.data() + 4 * i, 4);
    } else {
      uint16_t v;
      std::memcpy(&v, bytes.data() + 2 * i, 2);
      out[i] = dtype == DType::f16 ? fp16_to_float(v) : bf16_to_float(v);
    }
  }
  return out;
}

Result<int64_t> checked_numel(const std::vector<int64_t>& shape, const std::string& what) {
  if (shape.size() > static_cast<size_t>(CheckpointLimits::kMaxRank)) {
    return Status(Code::format, what + ": rank " + std::to_string(shape.size()) + " exceeds " +
                                    std::to_string(CheckpointLimits::kMaxRank));
  }
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return Status(Code::format, what + ": negative dimension " + std::to_string(d));
    // Each dimension on its own too: after a 0, the product no longer bounds the others.
    if (d > CheckpointLimits::kMaxElems || (d != 0 && n > CheckpointLimits::kMaxElems / d)) {
      return Status(Code::format, what + ": more than 2^31 elements");
    }
    n *= d;
  }
  return n;
}

Result<Checkpoint> parse_checkpoint(const std::string& path, const std::vector<uint8_t>& bytes) {
  if (bytes.size() >= 4 && std::memcmp(bytes.data(), "PK\x03\x04", 4) == 0) {
    return read_pth(path, bytes);
  }
  if (looks_like_safetensors(bytes)) return read_safetensors(path, bytes);
  if (bytes.size() >= 2 && bytes[0] == 0x80 && bytes[1] <= 5) {
    return Status(Code::unsupported,
                  path + ": legacy (pre-1.6, non-zip) PyTorch serialization is not supported; "
                         "re-save it with a current torch.save or convert it to .safetensors");
  }
  return Status(Code::format, path + ": not a checkpoint taec reads (expected a PyTorch zip "
                                     "archive or a .safetensors file; the content is neither)");
}

Result<Checkpoint> read_checkpoint(const std::string& path) {
  TAEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                        read_file(path, CheckpointLimits::kMaxFileBytes));
  return parse_checkpoint(path, bytes);
}

}  // namespace taec

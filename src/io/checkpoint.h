// A checkpoint is a flat, ordered list of named tensors as stored on disk (no conversion yet).
// Readers for each container validate everything they parse: a hostile file yields a Status
// that names the file and the problem, never a crash or an oversized allocation.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace taec {

enum class DType { f16, bf16, f32 };

const char* dtype_name(DType dtype);
size_t dtype_size(DType dtype);

struct RawTensor {
  std::string name;
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // little endian, C order, exactly numel * dtype_size

  int64_t numel() const;
  std::vector<float> to_float() const;
};

struct Checkpoint {
  std::string path;
  std::string format;  // "pth" or "safetensors"
  std::vector<RawTensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Caps shared by all readers: TAE checkpoints are a few MB, so anything near these is hostile.
struct CheckpointLimits {
  static constexpr uint64_t kMaxFileBytes = 2ull << 30;
  static constexpr size_t kMaxTensors = 100000;
  static constexpr int kMaxRank = 8;
  static constexpr int64_t kMaxElems = int64_t{1} << 31;
};

// Detects the container from its first bytes (zip magic or safetensors header), never the name.
Result<Checkpoint> read_checkpoint(const std::string& path);
Result<Checkpoint> parse_checkpoint(const std::string& path, const std::vector<uint8_t>& bytes);

// Shape validation shared by the readers; `what` names the tensor for messages.
Result<int64_t> checked_numel(const std::vector<int64_t>& shape, const std::string& what);

}  // namespace taec

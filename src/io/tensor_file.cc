#include "io/tensor_file.h"

#include <cstring>

#include "base/file_util.h"
#include "io/checkpoint.h"

namespace taec {

Result<NpyArray> read_tensor_file(const std::string& path) {
  TAEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(path, CheckpointLimits::kMaxFileBytes));
  if (bytes.size() >= 6 && std::memcmp(bytes.data(), "\x93NUMPY", 6) == 0) return parse_npy(path, bytes);
  // A file that starts like NumPy's magic (0x93) or is named .npy and is no zip is reported as the
  // broken .npy it claims to be (the more useful message), anything else as a checkpoint.
  const bool zip = bytes.size() >= 2 && std::memcmp(bytes.data(), "PK", 2) == 0;
  const bool npy_name = path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
  if (!zip && ((!bytes.empty() && bytes[0] == 0x93) || npy_name)) return parse_npy(path, bytes);
  TAEC_ASSIGN_OR_RETURN(Checkpoint ckpt, parse_checkpoint(path, bytes));
  if (ckpt.tensors.size() != 1) {
    return Status(Code::format, path + ": holds " + std::to_string(ckpt.tensors.size()) + " tensors; a tensor file holds one");
  }
  NpyArray a;
  a.shape = ckpt.tensors[0].shape;
  try {
    a.data = ckpt.tensors[0].to_float();
  } catch (const std::bad_alloc&) {
    return Status(Code::out_of_memory, path + ": out of memory converting its tensor to float32");
  }
  return a;
}

}  // namespace taec

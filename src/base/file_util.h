// Whole-file reads with a size cap, and atomic writes (temporary file in the same directory,
// fsync, rename) so a failed or interrupted write never leaves a half-written file behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace taec {

// Files larger than max_bytes are refused before anything is allocated.
Result<std::vector<uint8_t>> read_file(const std::string& path, uint64_t max_bytes);

Status write_file_atomic(const std::string& path, const void* data, size_t size);

}  // namespace taec

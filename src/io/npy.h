// NumPy .npy files (format versions 1.0, 2.0, 3.0): magic "\x93NUMPY", version, little-endian
// header length (u16 for v1, u32 after), a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (1, 32, 128, 128), } padded with spaces and
// a newline, then the raw C-order data. taec reads '<f4' and '<f2' and always yields fp32.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace taec {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

Result<NpyArray> parse_npy(const std::string& path, const std::vector<uint8_t>& bytes);
Result<NpyArray> read_npy(const std::string& path);

// The header (magic, version, dict, padding to 64 bytes) of an array of `shape`.
std::vector<uint8_t> npy_header(const std::vector<int64_t>& shape, bool fp16);

// fp16 = true writes '<f2' (rounded to nearest even), else '<f4'.
std::vector<uint8_t> encode_npy(const float* data, const std::vector<int64_t>& shape, bool fp16);
Status write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape, bool fp16);

}  // namespace taec

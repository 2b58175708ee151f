// PNG/JPEG reading and PNG writing (stb_image / stb_image_write from Debian's libstb).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace taec {

struct RgbImage {
  int height = 0, width = 0;
  std::vector<float> chw;  // [3, height, width], values in [0, 1]
};

// Formats from content. Images over 16384 px on a side or 64 MP are refused before decoding.
Result<RgbImage> read_image(const std::string& path);
// The same from bytes in memory; `path` only names the source in messages.
Result<RgbImage> decode_image(const std::string& path, const std::vector<uint8_t>& bytes);

// hwc: [height, width, 3] floats; clamped to [0,1] and rounded to 8 bits.
Status write_png_hwc(const std::string& path, const float* hwc, int height, int width);

}  // namespace taec

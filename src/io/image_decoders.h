// Internal to src/io: the PNG (libpng) and JPEG (libjpeg-turbo) decoders behind decode_image
// (image.h), and the limits they share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace taec {

constexpr int kMaxImageSide = 16384;
// 64 MP (8192 x 8192): the decoded 8-bit RGB plus the float image stay near 1 GB whatever a small
// file declares; FLUX round trips use a few MP.
constexpr int64_t kMaxImagePixels = int64_t{1} << 26;
// A normal progressive JPEG has about 10 scans (libjpeg's default script: 10 for colour, 6 for
// grey; encoders that optimize the script stay in the tens). Each scan costs a pass over its
// components' blocks even when it holds no data: measured here, 99 empty scans add 0.33 s to a
// 64 MP grey decode (1.3 s), so 50,000 would add minutes. 100 stays far above real encoders and
// bounds that extra to about a quarter of a normal decode.
constexpr int kMaxJpegScans = 100;

// 8-bit RGB, interleaved [height][width][3], in the order the file stores the pixels; the EXIF
// orientation (1..8) says how to turn that into what viewers show.
struct Rgb8Image {
  int height = 0, width = 0;
  std::vector<uint8_t> rgb;
  int orientation = 1;
};

// Refuses sizes over the caps above (before anything is allocated for them).
Status check_image_dimensions(const std::string& path, uint64_t width, uint64_t height);

Result<Rgb8Image> decode_png(const std::string& path, const std::vector<uint8_t>& bytes);
Result<Rgb8Image> decode_jpeg(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace taec

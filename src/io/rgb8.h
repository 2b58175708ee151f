// 8-bit RGB <-> float RGB in [0,1], shared by the image and video readers and writers so a frame
// saved as a PNG or as a video frame holds the same levels.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace taec {

// Where the channels of a float RGB frame are: planar [3,H,W] (NCHW) or interleaved [H,W,3] (NHWC).
enum class RgbOrder { chw, hwc };

// The 8-bit level a float in [0,1] is stored as: clamped, NaN as 0, rounded to nearest.
inline uint8_t unit_to_level(float v) {
  if (!(v > 0.0f)) return 0;  // also NaN
  if (v >= 1.0f) return 255;
  return static_cast<uint8_t>(std::lround(v * 255.0f));
}

// in: one frame in `order`; out: interleaved [height][width][3] levels.
void float_to_rgb8(const float* in, RgbOrder order, int height, int width, uint8_t* out);

// in: interleaved [height][width][3] levels as stored; out: level / 255 in `order`, turned as the
// EXIF `orientation` (1..8) says (PIL's ImageOps.exif_transpose). For output pixel (y, x) the
// stored pixel read is:
//   1 (y, x)           2 mirrored (y, W-1-x)          3 rotated 180 (H-1-y, W-1-x)
//   4 flipped (H-1-y, x)                               5 transposed (x, y)
//   6 rotated 90 clockwise (H-1-x, y)                  7 transversed (H-1-x, W-1-y)
//   8 rotated 90 counter-clockwise (x, W-1-y)
// where H x W is the stored size; orientations 5-8 make the output W x H.
void rgb8_to_float(const uint8_t* in, int height, int width, int orientation, RgbOrder order, float* out);

}  // namespace taec

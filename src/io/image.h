// Image reading (PNG through libpng, JPEG through libjpeg-turbo, both from Debian) and PNG writing
// (stb_image_write). README.md "What taec reads" says the same for users.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "io/rgb8.h"

namespace taec {

struct RgbImage {
  int height = 0, width = 0;
  std::vector<float> chw;  // [3, height, width], values in [0, 1]
};

// Reads a PNG or JPEG as RGB: 8-bit levels / 255, upright.
//
// - The format is decided by the content (magic bytes), never the name. Only PNG and JPEG are
//   read; anything else is refused naming what it is ("x.png: is a BMP image (by its content);
//   taec reads PNG and JPEG", Code::unsupported) or saying it is not an image taec knows
//   (Code::format).
// - PNG: every bit depth and colour type, interlaced or not. 16-bit samples keep their high byte
//   (png_set_strip_16, as PIL does for 16-bit RGB); grey is replicated into R, G and B; palettes
//   are expanded. Alpha, or a tRNS transparent colour, is dropped without compositing on any
//   background (as before, when stb was asked for 3 channels). Gamma and ICC profiles are not
//   applied. Corrupt data libpng calls benign (extra image data, bad palette index, duplicate
//   chunks) and a file cut short anywhere before IEND are refused.
// - JPEG: baseline, progressive and arithmetic-coded 8-bit JPEGs; grey, YCbCr and RGB, and
//   CMYK/YCCK converted as PIL converts them (Adobe-inverted CMYK). libjpeg's default (accurate
//   integer) IDCT and fancy upsampling, as PIL uses. Data that is corrupt or ends early is
//   refused, not filled in. More than kMaxJpegScans (100) scans is refused.
// - EXIF orientation (JPEG APP1 "Exif", PNG eXIf) is applied, as viewers and diffusers'
//   load_image (PIL ImageOps.exif_transpose) do: orientations 5-8 swap height and width. XMP
//   orientation is not read.
// - Limits, checked from the header before the pixels are allocated: 16384 px a side, 64 MP,
//   files up to 512 MiB; peak memory for the largest accepted image is about 1 GB.
Result<RgbImage> read_image(const std::string& path);
// The same from bytes in memory; `path` only names the source in messages.
Result<RgbImage> decode_image(const std::string& path, const std::vector<uint8_t>& bytes);

// One float frame in `order`, clamped to [0,1] (NaN -> 0) and rounded to 8 bits (unit_to_level).
Status write_png(const std::string& path, const float* data, RgbOrder order, int height, int width);
// write_png of an interleaved [height, width, 3] frame.
Status write_png_hwc(const std::string& path, const float* hwc, int height, int width);

}  // namespace taec

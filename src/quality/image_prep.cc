#include "quality/image_prep.h"

#include <stb_image_resize.h>

#include <algorithm>
#include <cmath>

namespace taec {
namespace {

RgbImage resize(const RgbImage& image, int height, int width) {
  if (image.height == height && image.width == width) return image;
  RgbImage out;
  out.height = height;
  out.width = width;
  out.chw.resize(static_cast<size_t>(3) * height * width);
  const size_t in_plane = static_cast<size_t>(image.height) * image.width;
  const size_t out_plane = static_cast<size_t>(height) * width;
  // Planar data: resize each channel as a one-channel image.
  for (int c = 0; c < 3; ++c) {
    stbir_resize_float_generic(image.chw.data() + c * in_plane, image.width, image.height, 0,
                               out.chw.data() + c * out_plane, width, height, 0, 1, STBIR_ALPHA_CHANNEL_NONE, 0,
                               STBIR_EDGE_CLAMP, STBIR_FILTER_DEFAULT, STBIR_COLORSPACE_LINEAR, nullptr);
  }
  for (float& v : out.chw) v = std::clamp(v, 0.0f, 1.0f);
  return out;
}

}  // namespace

RgbImage crop(const RgbImage& image, int y, int x, int height, int width) {
  RgbImage out;
  out.height = height;
  out.width = width;
  out.chw.resize(static_cast<size_t>(3) * height * width);
  for (int c = 0; c < 3; ++c) {
    for (int r = 0; r < height; ++r) {
      const float* src = image.chw.data() + (static_cast<size_t>(c) * image.height + y + r) * image.width + x;
      std::copy(src, src + width, out.chw.data() + (static_cast<size_t>(c) * height + r) * width);
    }
  }
  return out;
}

RgbImage resize_cover_crop(const RgbImage& image, int height, int width) {
  const double scale = std::max(static_cast<double>(height) / image.height, static_cast<double>(width) / image.width);
  // Never below the target on either axis, whatever the rounding.
  const int sh = std::max(height, static_cast<int>(std::lround(image.height * scale)));
  const int sw = std::max(width, static_cast<int>(std::lround(image.width * scale)));
  const RgbImage scaled = resize(image, sh, sw);
  return crop(scaled, (sh - height) / 2, (sw - width) / 2, height, width);
}

Result<RgbImage> load_image_fitted(const std::string& path, int height, int width) {
  TAEC_ASSIGN_OR_RETURN(RgbImage image, read_image(path));
  return resize_cover_crop(image, height, width);
}

RgbImage downscale_to_fit(const RgbImage& image, int max_side) {
  const int longer = std::max(image.height, image.width);
  if (longer <= max_side) return image;
  const double scale = static_cast<double>(max_side) / longer;
  return resize(image, std::max(1, static_cast<int>(std::lround(image.height * scale))),
                std::max(1, static_cast<int>(std::lround(image.width * scale))));
}

}  // namespace taec

// Fitting photos to the fixed size a plan was compiled for: scale to cover, then center-crop, so
// no content is stretched and no border is invented.
#pragma once

#include <string>

#include "base/status.h"
#include "io/image.h"

namespace taec {

// Scales `image` (planar RGB in [0,1]) so it covers height x width (the smaller scale factor that
// fills both axes), then crops the center. Resampling: stb_image_resize (Mitchell filter when
// shrinking, Catmull-Rom when enlarging, edge clamp) on the stored values, i.e. in sRGB-encoded
// space as PIL/torchvision do by default; results are clamped to [0,1].
RgbImage resize_cover_crop(const RgbImage& image, int height, int width);

// read_image + resize_cover_crop.
Result<RgbImage> load_image_fitted(const std::string& path, int height, int width);

// Area-filtered downscale so the longer side is at most max_side (returned unchanged if it already
// fits); for previews.
RgbImage downscale_to_fit(const RgbImage& image, int max_side);

// The [y, y+h) x [x, x+w) region (must lie inside the image).
RgbImage crop(const RgbImage& image, int y, int x, int height, int width);

}  // namespace taec

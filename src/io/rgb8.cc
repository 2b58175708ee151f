#include "io/rgb8.h"

namespace taec {

void float_to_rgb8(const float* in, RgbOrder order, int height, int width, uint8_t* out) {
  const size_t plane = static_cast<size_t>(height) * width;
  if (order == RgbOrder::hwc) {
    for (size_t i = 0; i < 3 * plane; ++i) out[i] = unit_to_level(in[i]);
    return;
  }
  for (size_t i = 0; i < plane; ++i) {
    for (size_t c = 0; c < 3; ++c) out[3 * i + c] = unit_to_level(in[c * plane + i]);
  }
}

void rgb8_to_float(const uint8_t* in, int height, int width, int orientation, RgbOrder order, float* out) {
  const int h = height, w = width, o = orientation;
  const bool swap = o >= 5 && o <= 8;
  const int out_h = swap ? w : h, out_w = swap ? h : w;
  const size_t plane = static_cast<size_t>(h) * w;
  for (int y = 0; y < out_h; ++y) {
    for (int x = 0; x < out_w; ++x) {
      int sy = y, sx = x;
      switch (o) {
        case 2: sx = w - 1 - x; break;
        case 3: sy = h - 1 - y, sx = w - 1 - x; break;
        case 4: sy = h - 1 - y; break;
        case 5: sy = x, sx = y; break;
        case 6: sy = h - 1 - x, sx = y; break;
        case 7: sy = h - 1 - x, sx = w - 1 - y; break;
        case 8: sy = x, sx = w - 1 - y; break;
        default: break;
      }
      const uint8_t* px = in + (static_cast<size_t>(sy) * w + sx) * 3;
      const size_t at = static_cast<size_t>(y) * out_w + x;
      if (order == RgbOrder::hwc) {
        for (int c = 0; c < 3; ++c) out[3 * at + c] = px[c] / 255.0f;
      } else {
        for (int c = 0; c < 3; ++c) out[c * plane + at] = px[c] / 255.0f;
      }
    }
  }
}

}  // namespace taec

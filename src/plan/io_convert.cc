#include "plan/io_convert.h"

#include <cmath>
#include <cstring>

#include "base/half.h"

namespace taec {
namespace {

size_t external_index(Layout layout, ValueShape s, int c, int y, int x) {
  return layout == Layout::nchw ? (static_cast<size_t>(c) * s.height + y) * s.width + x
                                : (static_cast<size_t>(y) * s.width + x) * s.channels + c;
}

}  // namespace

void import_nchw_f32(const void* src, Layout layout, IoDtype dtype, ValueShape s, float* dst) {
  for (int c = 0; c < s.channels; ++c) {
    for (int y = 0; y < s.height; ++y) {
      for (int x = 0; x < s.width; ++x) {
        const size_t i = external_index(layout, s, c, y, x);
        *dst++ = dtype == IoDtype::f32 ? static_cast<const float*>(src)[i]
                                       : fp16_to_float(static_cast<const uint16_t*>(src)[i]);
      }
    }
  }
}

void export_nchw_f32(const float* src, ValueShape s, Layout layout, IoDtype dtype, void* dst) {
  for (int c = 0; c < s.channels; ++c) {
    for (int y = 0; y < s.height; ++y) {
      for (int x = 0; x < s.width; ++x) {
        const size_t i = external_index(layout, s, c, y, x);
        const float v = *src++;
        if (dtype == IoDtype::f32) {
          static_cast<float*>(dst)[i] = v;
        } else {
          static_cast<uint16_t*>(dst)[i] = float_to_fp16(v);
        }
      }
    }
  }
}

Status check_finite_nchw(const float* data, ValueShape s, const std::string& what) {
  size_t nan = 0, inf = 0, first = SIZE_MAX;
  const size_t n = static_cast<size_t>(s.channels) * s.height * s.width;
  for (size_t i = 0; i < n; ++i) {
    if (std::isfinite(data[i])) continue;
    (std::isnan(data[i]) ? nan : inf) += 1;
    if (first == SIZE_MAX) first = i;
  }
  if (first == SIZE_MAX) return ok_status();
  const size_t plane = static_cast<size_t>(s.height) * s.width;
  const size_t c = first / plane, y = (first % plane) / s.width, x = first % s.width;
  return Status(Code::nonfinite,
                what + " holds " + std::to_string(nan) + " NaN and " + std::to_string(inf) +
                    " Inf values of " + std::to_string(n) + " (first at channel " + std::to_string(c) +
                    ", y " + std::to_string(y) + ", x " + std::to_string(x) +
                    "); refusing to run (nonfinite policy: reject)");
}

}  // namespace taec

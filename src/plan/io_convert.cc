#include "plan/io_convert.h"

#include <cmath>
#include <cstring>
#include <vector>

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

void import_row(const void* src, Layout layout, IoDtype dtype, ValueShape s, int y, float clamp_limit, float* dst) {
  for (int x = 0; x < s.width; ++x) {
    for (int c = 0; c < s.channels; ++c) {
      const size_t i = external_index(layout, s, c, y, x);
      float v = dtype == IoDtype::f32 ? static_cast<const float*>(src)[i]
                                      : fp16_to_float(static_cast<const uint16_t*>(src)[i]);
      if (clamp_limit != 0.0f) v = std::tanh(v / clamp_limit) * clamp_limit;
      dst[static_cast<size_t>(x) * s.channels + c] = v;
    }
  }
}

void export_row(const float* src, ValueShape s, int y, Layout layout, IoDtype dtype, void* dst) {
  if (layout == Layout::nhwc && dtype == IoDtype::f32) {
    std::memcpy(static_cast<float*>(dst) + static_cast<size_t>(y) * s.width * s.channels, src,
                static_cast<size_t>(s.width) * s.channels * sizeof(float));
    return;
  }
  for (int x = 0; x < s.width; ++x) {
    for (int c = 0; c < s.channels; ++c) {
      const size_t i = external_index(layout, s, c, y, x);
      const float v = src[static_cast<size_t>(x) * s.channels + c];
      if (dtype == IoDtype::f32) {
        static_cast<float*>(dst)[i] = v;
      } else {
        static_cast<uint16_t*>(dst)[i] = float_to_fp16(v);
      }
    }
  }
}

Status check_finite_external(const void* data, Layout layout, IoDtype dtype, ValueShape s, const std::string& what) {
  const size_t n = static_cast<size_t>(s.channels) * s.height * s.width;
  bool clean = true;
  for (size_t i = 0; i < n && clean; ++i) {
    const float v = dtype == IoDtype::f32 ? static_cast<const float*>(data)[i]
                                          : fp16_to_float(static_cast<const uint16_t*>(data)[i]);
    clean = std::isfinite(v);
  }
  if (clean) return ok_status();
  // Rare path: convert to NCHW so the message reports positions the same way for every layout.
  std::vector<float> nchw(n);
  import_nchw_f32(data, layout, dtype, s, nchw.data());
  return check_finite_nchw(nchw.data(), s, what);
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

#include "quality/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace taec {
namespace {

float clamp01_value(float v) { return std::min(std::max(v, 0.0f), 1.0f); }

// Normalized 1-D Gaussian taps, radius r (2r+1 taps).
std::vector<double> gaussian_taps(int radius, double sigma) {
  std::vector<double> taps(2 * radius + 1);
  double sum = 0;
  for (int i = -radius; i <= radius; ++i) sum += taps[i + radius] = std::exp(-(i * i) / (2 * sigma * sigma));
  for (double& t : taps) t /= sum;
  return taps;
}

// Valid-mode separable filter of a [height, width] plane with the same taps on both axes:
// out is [height - 2r, width - 2r].
std::vector<double> filter_valid(const std::vector<double>& plane, int height, int width,
                                 const std::vector<double>& taps) {
  const int k = static_cast<int>(taps.size());
  const int oh = height - k + 1, ow = width - k + 1;
  std::vector<double> rows(static_cast<size_t>(height) * ow);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < ow; ++x) {
      double acc = 0;
      for (int t = 0; t < k; ++t) acc += taps[t] * plane[static_cast<size_t>(y) * width + x + t];
      rows[static_cast<size_t>(y) * ow + x] = acc;
    }
  }
  std::vector<double> out(static_cast<size_t>(oh) * ow);
  for (int y = 0; y < oh; ++y) {
    for (int x = 0; x < ow; ++x) {
      double acc = 0;
      for (int t = 0; t < k; ++t) acc += taps[t] * rows[static_cast<size_t>(y + t) * ow + x];
      out[static_cast<size_t>(y) * ow + x] = acc;
    }
  }
  return out;
}

}  // namespace

double psnr_from_mse(double mse) {
  if (std::isnan(mse)) return mse;
  if (mse <= 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(1.0 / mse);
}

ErrorStats compare_buffers(const float* candidate, const float* reference, size_t count, bool clamp01) {
  ErrorStats s;
  s.count = count;
  double sum_abs = 0, sum_sq = 0, max_abs = 0;
  for (size_t i = 0; i < count; ++i) {
    float a = candidate[i], b = reference[i];
    if (!std::isfinite(a) || !std::isfinite(b)) {
      ++s.nonfinite;
      continue;
    }
    if (clamp01) {
      a = clamp01_value(a);
      b = clamp01_value(b);
    }
    const double d = std::fabs(static_cast<double>(a) - static_cast<double>(b));
    sum_abs += d;
    sum_sq += d * d;
    max_abs = std::max(max_abs, d);
  }
  if (s.nonfinite > 0) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    s.max_abs = s.mae = s.rmse = s.psnr_db = nan;
    return s;
  }
  const double n = count > 0 ? static_cast<double>(count) : 1.0;
  s.max_abs = max_abs;
  s.mae = sum_abs / n;
  s.rmse = std::sqrt(sum_sq / n);
  s.psnr_db = psnr_from_mse(sum_sq / n);
  return s;
}

ErrorStats merge_error_stats(const ErrorStats& a, const ErrorStats& b) {
  if (a.count == 0) return b;
  if (b.count == 0) return a;
  ErrorStats m;
  m.count = a.count + b.count;
  m.nonfinite = a.nonfinite + b.nonfinite;
  const double wa = static_cast<double>(a.count) / m.count, wb = static_cast<double>(b.count) / m.count;
  // NaN (a non-finite side) propagates through every line below, as intended.
  m.max_abs = std::isnan(a.max_abs) || std::isnan(b.max_abs) ? std::numeric_limits<double>::quiet_NaN()
                                                             : std::max(a.max_abs, b.max_abs);
  m.mae = wa * a.mae + wb * b.mae;
  const double mse = wa * a.rmse * a.rmse + wb * b.rmse * b.rmse;
  m.rmse = std::sqrt(mse);
  m.psnr_db = psnr_from_mse(mse);
  return m;
}

double ssim(const float* candidate, const float* reference, int channels, int height, int width) {
  constexpr double kC1 = 0.01 * 0.01, kC2 = 0.03 * 0.03, kSigma = 1.5;
  const int radius = std::min({5, (height - 1) / 2, (width - 1) / 2});
  const std::vector<double> taps = gaussian_taps(radius, kSigma);
  const size_t plane = static_cast<size_t>(height) * width;
  double total = 0;
  std::vector<double> x(plane), y(plane), xx(plane), yy(plane), xy(plane);
  for (int c = 0; c < channels; ++c) {
    for (size_t i = 0; i < plane; ++i) {
      const float a = candidate[c * plane + i], b = reference[c * plane + i];
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::quiet_NaN();
      x[i] = clamp01_value(a);
      y[i] = clamp01_value(b);
      xx[i] = x[i] * x[i];
      yy[i] = y[i] * y[i];
      xy[i] = x[i] * y[i];
    }
    const auto mx = filter_valid(x, height, width, taps), my = filter_valid(y, height, width, taps);
    const auto mxx = filter_valid(xx, height, width, taps), myy = filter_valid(yy, height, width, taps);
    const auto mxy = filter_valid(xy, height, width, taps);
    double sum = 0;
    for (size_t i = 0; i < mx.size(); ++i) {
      const double vx = mxx[i] - mx[i] * mx[i], vy = myy[i] - my[i] * my[i], cov = mxy[i] - mx[i] * my[i];
      sum += ((2 * mx[i] * my[i] + kC1) * (2 * cov + kC2)) / ((mx[i] * mx[i] + my[i] * my[i] + kC1) * (vx + vy + kC2));
    }
    total += sum / static_cast<double>(mx.size());
  }
  return total / channels;
}

}  // namespace taec

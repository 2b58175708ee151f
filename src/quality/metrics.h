// Image and tensor error metrics used by `taec validate` and `taec roundtrip`.
//
// Conventions (all functions):
// - Inputs are dense fp32 buffers; `candidate` is the thing being judged, `reference` the truth.
// - PSNR uses a peak of 1.0 (images are RGB in [0,1], the TAESD-family contract) and is
//   +infinity for identical inputs.
// - With `clamp01`, both sides are clamped to [0,1] first: that is what a saved 8-bit image shows,
//   so round-trip metrics use it; validation of raw plan outputs does not (it judges the numbers
//   the plan returns, which a caller may use unclamped).
// - NaN/Inf in either input are counted in `nonfinite` and make every statistic NaN (so a
//   comparison never passes a tolerance by accident).
#pragma once

#include <cstddef>

namespace taec {

struct ErrorStats {
  double max_abs = 0;  // max |candidate - reference|
  double mae = 0;      // mean |candidate - reference|
  double rmse = 0;     // sqrt(mean (candidate - reference)^2)
  double psnr_db = 0;  // 10 log10(1 / mse), peak 1.0; +inf when mse == 0
  size_t count = 0;    // elements compared
  size_t nonfinite = 0;
};

ErrorStats compare_buffers(const float* candidate, const float* reference, size_t count, bool clamp01);

// 10 log10(peak^2 / mse) with peak 1.0; +inf for mse == 0.
double psnr_from_mse(double mse);

// Merges per-input statistics into one over all their elements (max of max, count-weighted means).
ErrorStats merge_error_stats(const ErrorStats& a, const ErrorStats& b);

// SSIM (Wang, Bovik, Sheikh, Simoncelli 2004) as their reference implementation computes it:
// - planar images [channels, height, width] (NCHW, batch 1), clamped to [0,1] (data range 1.0);
// - an 11x11 Gaussian window with sigma 1.5 (normalized to sum 1), applied separably;
// - C1 = (0.01 * 1)^2, C2 = (0.03 * 1)^2; weighted (population) variances and covariance;
// - the SSIM map over "valid" window positions only (every window wholly inside the image, like
//   MATLAB's filter2(..., 'valid') and scikit-image's border crop), averaged;
// - the mean over channels of the per-channel means (no conversion to luma).
// Images smaller than 11 px on a side use a window shrunk to the image (still sigma 1.5).
// Returns NaN if either image holds NaN.
double ssim(const float* candidate, const float* reference, int channels, int height, int width);

}  // namespace taec

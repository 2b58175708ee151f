#include "quality/latent_contract.h"

#include <cmath>
#include <cstdio>

namespace taec {
namespace {

// Real-image latent statistics, measured with taec's fp32 encoders on the five photos of
// shared/images at their native sizes (astronaut, chelsea, coffee, rocket, hubble_deep_field):
//   taef2 (real weights):           overall std 0.80..0.85, |mean| <= 0.06, |x| <= 5.2,
//                                   per-channel means -0.91..0.76, per-channel std 0.51..1.25
//   taef1_synthetic (FLUX.1 arch):  overall std 0.73..0.84, |mean| <= 0.10, |x| <= 3.9
//   flat 256x256 gray/black/white images (the least varied input there is): std 0.51..0.90,
//                                   |mean| <= 0.11, |x| <= 2.3 (both models)
// The warning bounds leave a wide margin around those (a real latent is never flagged) while
// catching the usual mistakes: the big VAE's scaling applied (FLUX.1 multiplies by 0.3611, SD by
// 0.18215: std drops to ~0.3 or ~0.15, flat images to ~0.2), its inverse applied (std ~2-5), a
// shift left in (mean off by ~0.1-1), images or noise of the wrong scale (|x| in the tens or
// hundreds). taesd/taesdxl/taesd3 were not measured (no weights here); they share the bounds,
// which hold for unit-scale latents generally. The bounds are the defaults of LatentContract's
// fields (latent_contract.h), so the table below names only what differs per variant.
const std::vector<LatentContract> kContracts = {
    {.variant = "taesd",
     .pipeline = "Stable Diffusion 1.x/2.x",
     .latent_channels = 4,
     .note = "SD VAE latents already multiplied by 0.18215"},
    {.variant = "taesdxl",
     .pipeline = "Stable Diffusion XL",
     .latent_channels = 4,
     .note = "SDXL VAE latents already multiplied by 0.13025"},
    {.variant = "taesd3",
     .pipeline = "Stable Diffusion 3",
     .latent_channels = 16,
     .note = "SD3 VAE latents already shifted and scaled ((x - 0.0609) * 1.5305)"},
    {.variant = "taef1",
     .pipeline = "FLUX.1",
     .latent_channels = 16,
     .note = "FLUX.1 VAE latents already shifted and scaled ((x - 0.1159) * 0.3611); unpack the transformer's "
             "64-channel 2x2 tokens yourself"},
    {.variant = "taef2",
     .pipeline = "FLUX.2",
     .latent_channels = 32,
     .packed_channels = 128,
     .packed_factor = 16,
     .patch = 2,
     .note = "the transformer's 128-channel 1/16 form unpacks exactly (channel 4c + 2py + px); no BatchNorm "
             "denormalization"},
};

std::string fmt(const char* format, double a, double b = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, format, a, b);
  return buf;
}

}  // namespace

const std::vector<LatentContract>& latent_contracts() { return kContracts; }

const LatentContract* find_latent_contract(std::string_view variant) {
  for (const auto& c : kContracts) {
    if (c.variant == variant) return &c;
  }
  return nullptr;
}

Status unpack_flux2_packed(const float* packed, int packed_channels, int height, int width, bool nhwc, float* out) {
  if (packed_channels <= 0 || packed_channels % 4 != 0 || height <= 0 || width <= 0) {
    return Status(Code::shape,
                  "packed FLUX.2 latent must have a positive multiple of 4 channels and a non-empty "
                  "size; got " +
                      std::to_string(packed_channels) + " channels at " + std::to_string(height) + "x" +
                      std::to_string(width));
  }
  const int channels = packed_channels / 4, oh = 2 * height, ow = 2 * width;
  for (int pc = 0; pc < packed_channels; ++pc) {
    const int c = pc / 4, py = (pc / 2) % 2, px = pc % 2;
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        const size_t src = nhwc ? (static_cast<size_t>(y) * width + x) * packed_channels + pc
                                : (static_cast<size_t>(pc) * height + y) * width + x;
        const int uy = 2 * y + py, ux = 2 * x + px;
        const size_t dst =
            nhwc ? (static_cast<size_t>(uy) * ow + ux) * channels + c : (static_cast<size_t>(c) * oh + uy) * ow + ux;
        out[dst] = packed[src];
      }
    }
  }
  return ok_status();
}

Status pack_flux2_latent(const float* latent, int channels, int height, int width, bool nhwc, float* out) {
  if (channels <= 0 || height <= 0 || width <= 0 || height % 2 != 0 || width % 2 != 0) {
    return Status(Code::shape, "packing needs a non-empty latent of even size; got " + std::to_string(channels) +
                                   " channels at " + std::to_string(height) + "x" + std::to_string(width));
  }
  const int pcs = 4 * channels, ph = height / 2, pw = width / 2;
  for (int pc = 0; pc < pcs; ++pc) {
    const int c = pc / 4, py = (pc / 2) % 2, px = pc % 2;
    for (int y = 0; y < ph; ++y) {
      for (int x = 0; x < pw; ++x) {
        const int uy = 2 * y + py, ux = 2 * x + px;
        const size_t src = nhwc ? (static_cast<size_t>(uy) * width + ux) * channels + c
                                : (static_cast<size_t>(c) * height + uy) * width + ux;
        const size_t dst =
            nhwc ? (static_cast<size_t>(y) * pw + x) * pcs + pc : (static_cast<size_t>(pc) * ph + y) * pw + x;
        out[dst] = latent[src];
      }
    }
  }
  return ok_status();
}

std::vector<std::string> latent_sanity(const LatentContract& k, const float* latent, int channels, int height,
                                       int width, bool nhwc) {
  std::vector<std::string> warnings;
  const size_t n = static_cast<size_t>(channels) * height * width;
  size_t nan_count = 0, inf_count = 0, first = n;
  double sum = 0, sum_sq = 0, abs_max = 0;
  for (size_t i = 0; i < n; ++i) {
    const float v = latent[i];
    if (!std::isfinite(v)) {
      (std::isnan(v) ? nan_count : inf_count)++;
      if (first == n) first = i;
      continue;
    }
    sum += v;
    sum_sq += static_cast<double>(v) * v;
    abs_max = std::max(abs_max, static_cast<double>(std::fabs(v)));
  }
  if (nan_count + inf_count > 0) {
    const size_t plane = static_cast<size_t>(height) * width;
    const size_t c = nhwc ? first % channels : first / plane;
    const size_t pixel = nhwc ? first / channels : first % plane;
    warnings.push_back(std::to_string(nan_count) + " NaN and " + std::to_string(inf_count) + " Inf of " +
                       std::to_string(n) + " values; the first at channel " + std::to_string(c) + ", y " +
                       std::to_string(pixel / width) + ", x " + std::to_string(pixel % width) +
                       " (an upstream numerical failure: NaN decodes to NaN pixels)");
  }
  const size_t finite = n - nan_count - inf_count;
  if (finite == 0) return warnings;
  const double mean = sum / finite;
  const double std_dev = std::sqrt(std::max(0.0, sum_sq / finite - mean * mean));
  const std::string who = std::string(k.variant) + " latent";
  if (std_dev < k.plausible_std_min) {
    warnings.push_back(fmt("std %.3g is implausibly small for a ", std_dev) + who +
                       fmt(" (real images give ~%.2g): was the big VAE's scaling_factor applied? TAE latents use "
                           "scale 1.0, shift 0",
                           k.typical_std) +
                       (std_dev == 0 ? "; the latent is constant" : ""));
  } else if (std_dev > k.plausible_std_max) {
    warnings.push_back(fmt("std %.3g is implausibly large for a ", std_dev) + who +
                       fmt(" (real images give ~%.2g): was it divided by the big VAE's scaling_factor, or is this "
                           "not a latent (pixels in [0,255], unnormalized noise)?",
                           k.typical_std));
  }
  if (std::fabs(mean) > k.plausible_abs_mean_max) {
    warnings.push_back(
        fmt("mean %.3g is far from 0 (real ", mean) + who +
        fmt("s stay within +-%.2g): is a shift_factor still applied or missing?", k.plausible_abs_mean_max));
  }
  if (abs_max > k.plausible_abs_max) {
    warnings.push_back(
        fmt("max |value| %.3g exceeds %.3g; the decoder's tanh(x/3)*3 input clamp saturates past "
            "+-3, so those values decode like +-3",
            abs_max, k.plausible_abs_max));
  }
  return warnings;
}

}  // namespace taec

// The latent contract of each TAESD-family model, as data: what a decoder consumes and an encoder
// produces, so callers (and `taec validate`/`roundtrip`/`decode`) can check inputs and convert the
// forms diffusion pipelines emit.
//
// TAE latents are the diffusion model's own latent space: scale 1.0, shift 0 (the tiny
// autoencoders were trained on the already-normalized latents, so the big VAE's
// scaling_factor/shift_factor must NOT be applied). Images are RGB in [0,1] (not [-1,1]).
//
// FLUX.2's transformer works on 2x2 patches: it emits 128 channels at 1/16 of the image size. Its
// pipeline unpacks them ("unpatchify") to the VAE's 32 channels at 1/8:
//   packed[4c + 2py + px][y][x] = latent[c][2y + py][2x + px]   (c < 32, py, px in {0,1})
// i.e. diffusers' reshape(B, C/4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3). The pipeline's BatchNorm
// denormalization of the packed latent is NOT applied by default: taef2 decodes the latent the
// transformer works in (what taef2 was trained on), so unpacking alone is exact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace taec {

struct LatentContract {
  std::string_view variant;   // "taesd", "taesdxl", "taesd3", "taef1", "taef2"
  std::string_view pipeline;  // the diffusion model family it serves
  int latent_channels = 0;
  int spatial_factor = 8;  // image pixels per latent pixel, each axis
  float scale = 1.0f;      // latent = (vae_latent - shift) * scale: TAE latents need none
  float shift = 0.0f;
  float image_min = 0.0f, image_max = 1.0f;  // decoder output / encoder input range
  // Statistics of real-image latents (see latent_contract.cc for where they come from) and the
  // bounds past which latent_sanity() warns.
  float typical_std = 0.8f;  // overall std of a real-image latent
  float plausible_std_min = 0.4f;
  float plausible_std_max = 2.0f;
  float plausible_abs_mean_max = 0.5f;
  float plausible_abs_max = 10.0f;  // the decoders clamp their input with tanh(x/3)*3 anyway
  // Packed transformer form (FLUX.2 only; 0 = none).
  int packed_channels = 0;  // 128
  int packed_factor = 0;    // 16 image pixels per packed pixel
  int patch = 0;            // 2: packed pixel = patch x patch latent pixels
  std::string_view note;
};

// Every known contract, in a fixed order.
const std::vector<LatentContract>& latent_contracts();
// The contract of `variant`, or nullptr if it is not a known variant.
const LatentContract* find_latent_contract(std::string_view variant);

// FLUX.2 packed latent -> VAE latent, batch 1, exact (a permutation).
// packed: [4*channels, height, width] if !nhwc else [height, width, 4*channels];
// out:    [channels, 2*height, 2*width] if !nhwc else [2*height, 2*width, channels].
// `packed_channels` must be a multiple of 4.
Status unpack_flux2_packed(const float* packed, int packed_channels, int height, int width, bool nhwc, float* out);
// The inverse: latent [channels, 2h, 2w] -> packed [4*channels, h, w] (same layout convention;
// `height`/`width` are the latent's and must be even).
Status pack_flux2_latent(const float* latent, int channels, int height, int width, bool nhwc, float* out);

// Warnings, one human sentence each, about a latent a decoder is about to consume: NaN/Inf (how
// many and where the first one is) and statistics implausible for a TAE latent of `contract`
// (with the likely cause). Empty when nothing looks wrong. latent: [channels, height, width]
// (NCHW) or [height, width, channels] (nhwc).
std::vector<std::string> latent_sanity(const LatentContract& contract, const float* latent, int channels, int height,
                                       int width, bool nhwc);

}  // namespace taec

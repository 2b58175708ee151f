// The TAESD-family members taec knows, and how one is chosen for a checkpoint.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "graph/model.h"

namespace taec {

struct VariantSpec {
  const char* name;
  const char* for_model;  // the diffusion model whose latents it decodes
  int latent_channels;
  bool midblock_gn;       // GroupNorm "pool" branch in the latent-resolution blocks
  bool preferred;         // the default among variants with identical shapes
};

const std::vector<VariantSpec>& known_variants();

struct VariantChoice {
  const VariantSpec* spec = nullptr;
  std::string note;  // ambiguity or override explanation
};

// `requested` empty: detect from latent channels + GroupNorm presence. Otherwise the named
// variant, which must match the tensors' architecture.
Result<VariantChoice> choose_variant(const std::string& requested, int latent_channels, bool midblock_gn);

// The video TAEs (madebyollin/taehv), told apart by latent channels, patch size and decoder kind;
// the time strides are checked against the tensors.
struct VideoVariantSpec {
  const char* name;
  const char* for_model;
  int latent_channels;
  int patch;
  bool super_decoder;
  int tgrow[3];  // decoder stages' TGrow strides
  int tpool[3];  // encoder stages' TPool strides
  FrameRule rule;
  bool preferred;  // the default among variants with identical shapes
};

const std::vector<VideoVariantSpec>& known_video_variants();

struct VideoVariantChoice {
  const VideoVariantSpec* spec = nullptr;
  std::string note;
};

// `requested` empty: detect from the shapes; otherwise the named variant, checked against them.
Result<VideoVariantChoice> choose_video_variant(const std::string& requested, int latent_channels, int patch, bool super_decoder);

}  // namespace taec

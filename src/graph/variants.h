// The TAESD-family members taec knows, and how one is chosen for a checkpoint.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

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

}  // namespace taec

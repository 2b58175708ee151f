#include "graph/variants.h"

namespace taec {

const std::vector<VariantSpec>& known_variants() {
  // taesd/taesdxl and taesd3/taef1 have identical shapes: only --variant tells them apart. FLUX
  // comes first in this project, so taef1 is the default for 16 channels.
  static const std::vector<VariantSpec> kVariants = {
      {"taesd", "Stable Diffusion 1.x/2.x", 4, false, true},
      {"taesdxl", "SDXL", 4, false, false},
      {"taesd3", "Stable Diffusion 3", 16, false, false},
      {"taef1", "FLUX.1", 16, false, true},
      {"taef2", "FLUX.2", 32, true, true},
  };
  return kVariants;
}

namespace {

std::string describe(int latent_channels, bool midblock_gn) {
  return std::to_string(latent_channels) + " latent channels, " +
         (midblock_gn ? "with" : "without") + " midblock GroupNorm";
}

}  // namespace

Result<VariantChoice> choose_variant(const std::string& requested, int latent_channels, bool midblock_gn) {
  const auto& variants = known_variants();
  if (!requested.empty()) {
    for (const auto& v : variants) {
      if (requested != v.name) continue;
      if (v.latent_channels != latent_channels || v.midblock_gn != midblock_gn) {
        return Status(Code::shape, "variant " + requested + " expects " +
                                       describe(v.latent_channels, v.midblock_gn) +
                                       "; the checkpoint has " + describe(latent_channels, midblock_gn));
      }
      return VariantChoice{&v, "chosen by --variant"};
    }
    std::string names;
    for (const auto& v : variants) names += std::string(names.empty() ? "" : ", ") + v.name;
    return Status(Code::invalid_argument, "unknown variant \"" + requested + "\" (known: " + names + ")");
  }
  const VariantSpec* chosen = nullptr;
  std::string alternatives;
  for (const auto& v : variants) {
    if (v.latent_channels != latent_channels || v.midblock_gn != midblock_gn) continue;
    if (v.preferred) {
      chosen = &v;
    } else {
      alternatives += std::string(alternatives.empty() ? "" : ", ") + v.name;
    }
  }
  if (chosen == nullptr) {
    return Status(Code::unsupported, "no known TAESD-family variant has " +
                                         describe(latent_channels, midblock_gn));
  }
  VariantChoice choice{chosen, ""};
  if (!alternatives.empty()) {
    choice.note = "same shapes as " + alternatives + "; " + chosen->for_model +
                  " assumed, pass --variant to choose";
  }
  return choice;
}

}  // namespace taec

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

const std::vector<VideoVariantSpec>& known_video_variants() {
  // taew2_1, taehv, taecvx and taeos1_3 have identical shapes; Wan 2.1 is the default. taecvx's
  // frame rule differs (all frames kept for an even latent count).
  static const std::vector<VideoVariantSpec> kVariants = {
      {"taew2_1", "Wan 2.1 (and Qwen-Image)", 16, 1, false, {1, 2, 2}, {2, 2, 1}, FrameRule::standard, true},
      {"taehv", "HunyuanVideo", 16, 1, false, {1, 2, 2}, {2, 2, 1}, FrameRule::standard, false},
      {"taecvx", "CogVideoX", 16, 1, false, {1, 2, 2}, {2, 2, 1}, FrameRule::cogvideox, false},
      {"taeos1_3", "Open-Sora 1.3", 16, 1, false, {1, 2, 2}, {2, 2, 1}, FrameRule::standard, false},
      {"taehv1_5", "HunyuanVideo 1.5", 32, 2, false, {1, 2, 2}, {2, 2, 1}, FrameRule::standard, true},
      {"taeh3", "MiniMax H3", 24, 2, false, {1, 2, 2}, {2, 2, 1}, FrameRule::h3, true},
      {"taew2_2", "Wan 2.2 5B", 48, 2, false, {1, 2, 2}, {2, 2, 1}, FrameRule::standard, true},
      {"taew2_2_super", "Wan 2.2 5B (super decoder)", 48, 2, true, {1, 2, 2}, {2, 2, 1}, FrameRule::standard, true},
      {"taeltx_2", "LTX-2", 128, 4, false, {2, 2, 2}, {2, 2, 2}, FrameRule::standard, true},
      {"taeltx2_3", "LTX-2.3", 128, 4, false, {2, 2, 2}, {2, 2, 2}, FrameRule::standard, false},
  };
  return kVariants;
}

namespace {

std::string describe_video(int latent_channels, int patch, bool super_decoder) {
  return std::to_string(latent_channels) + " latent channels, patch " + std::to_string(patch) +
         (super_decoder ? ", super decoder" : "");
}

}  // namespace

Result<VideoVariantChoice> choose_video_variant(const std::string& requested, int latent_channels, int patch, bool super_decoder) {
  const auto& variants = known_video_variants();
  auto fits = [&](const VideoVariantSpec& v) {
    return v.latent_channels == latent_channels && v.patch == patch && v.super_decoder == super_decoder;
  };
  if (!requested.empty()) {
    for (const auto& v : variants) {
      if (requested != v.name) continue;
      if (!fits(v)) {
        return Status(Code::shape, "variant " + requested + " expects " + describe_video(v.latent_channels, v.patch, v.super_decoder) +
                                       "; the checkpoint has " + describe_video(latent_channels, patch, super_decoder));
      }
      return VideoVariantChoice{&v, "chosen by --variant"};
    }
    std::string names;
    for (const auto& v : variants) names += std::string(names.empty() ? "" : ", ") + v.name;
    return Status(Code::invalid_argument, "unknown video variant \"" + requested + "\" (known: " + names + ")");
  }
  const VideoVariantSpec* chosen = nullptr;
  std::string alternatives;
  for (const auto& v : variants) {
    if (!fits(v)) continue;
    if (v.preferred) {
      chosen = &v;
    } else {
      alternatives += std::string(alternatives.empty() ? "" : ", ") + v.name;
    }
  }
  if (chosen == nullptr) return Status(Code::unsupported, "no known TAEHV-family variant has " + describe_video(latent_channels, patch, super_decoder));
  VideoVariantChoice choice{chosen, ""};
  if (!alternatives.empty()) choice.note = "same shapes as " + alternatives + "; " + chosen->for_model + " assumed, pass --variant to choose";
  return choice;
}

}  // namespace taec

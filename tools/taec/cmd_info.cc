// taec info WEIGHTS: what a checkpoint is, without running it.
#include <cstdio>
#include <memory>
#include <string>

#include "cli_util.h"
#include "commands.h"

namespace taec_cli {
namespace {

struct InfoArgs {
  std::string weights;
  std::string variant;
  std::string role = "any";
  bool tensors = false;
};

std::string shape_text(const taec_tensor_info& t) {
  std::string s = "[";
  for (int i = 0; i < t.rank; ++i) s += (i ? ", " : "") + std::to_string(t.shape[i]);
  return s + "]";
}

int run_info(const InfoArgs& args) {
  taec_role role = args.role == "decoder" ? TAEC_ROLE_DECODER
                   : args.role == "encoder" ? TAEC_ROLE_ENCODER : TAEC_ROLE_ANY;
  const std::string path = taec::resolve_weights(args.weights, role == TAEC_ROLE_ANY ? TAEC_ROLE_DECODER : role);
  taec_load_options options = load_options(args.variant, role);
  taec::Model model(path, &options);
  const taec_model_info info = model.info();
  std::printf("file:            %s\n", info.source_path);
  std::printf("format:          %s\n", info.source_format);
  std::printf("sha256:          %s\n", info.source_sha256);
  std::printf("variant:         %s%s%s%s\n", info.variant, info.variant_note[0] ? " (" : "",
              info.variant_note, info.variant_note[0] ? ")" : "");
  std::printf("role:            %s\n", info.role == TAEC_ROLE_DECODER ? "decoder" : "encoder");
  std::printf("latent channels: %d\n", info.latent_channels);
  std::printf("spatial factor:  %d (latent HxW -> image %dHx%dW)\n", info.spatial_factor, info.spatial_factor,
              info.spatial_factor);
  std::printf("parameters:      %llu\n", static_cast<unsigned long long>(info.parameter_count));
  std::printf("tensors:         %zu\n", info.tensor_count);
  if (args.tensors) {
    for (size_t i = 0; i < info.tensor_count; ++i) {
      const taec_tensor_info t = model.tensor(i);
      std::printf("  %-24s %-5s %s\n", t.name, t.dtype, shape_text(t).c_str());
    }
  }
  return kExitOk;
}

}  // namespace

Command add_info_command(CLI::App& app) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* cmd = app.add_subcommand("info", "Show a checkpoint's variant, role, latent channels and tensors");
  cmd->add_option("weights", args->weights, "Weight file (.pth or .safetensors) or model name (taef2, taef1, …)")
      ->required();
  cmd->add_option("--variant", args->variant, "Override the detected variant (taesd, taesdxl, taesd3, taef1, taef2)");
  cmd->add_option("--role", args->role, "decoder|encoder: which half of a combined file; also picks the file for a model name")
      ->check(CLI::IsMember({"any", "decoder", "encoder"}));
  cmd->add_flag("--tensors", args->tensors, "List every tensor with dtype and shape");
  return {cmd, [args] { return run_info(*args); }};
}

}  // namespace taec_cli

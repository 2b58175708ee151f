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

void print_model(const taec::Model& model, const InfoArgs& args, bool file_lines) {
  const taec_model_info info = model.info();
  if (file_lines) {
    std::printf("file:            %s\n", info.source_path);
    std::printf("format:          %s\n", info.source_format);
    std::printf("sha256:          %s\n", info.source_sha256);
  }
  std::printf("variant:         %s%s%s%s\n", info.variant, info.variant_note[0] ? " (" : "",
              info.variant_note, info.variant_note[0] ? ")" : "");
  std::printf("role:            %s\n", info.role == TAEC_ROLE_DECODER ? "decoder" : "encoder");
  std::printf("latent channels: %d\n", info.latent_channels);
  std::printf("spatial factor:  %d (latent HxW -> image %dHx%dW)\n", info.spatial_factor, info.spatial_factor,
              info.spatial_factor);
  if (info.is_video) {
    const bool decoder = info.role == TAEC_ROLE_DECODER;
    std::printf("time factor:     %d (frames per latent)\n", info.time_factor);
    std::printf("patch:           %d (pixel %sshuffle)\n", info.patch, decoder ? "" : "un");
    std::printf("frame rule:      %s (%s)\n", info.frame_rule,
                decoder ? ("21 latents -> " + std::to_string(model.clip_length(21)) + " frames").c_str()
                        : ("81 frames -> " + std::to_string(model.clip_length(81)) + " latents").c_str());
  }
  std::printf("parameters:      %llu\n", static_cast<unsigned long long>(info.parameter_count));
  std::printf("tensors:         %zu\n", info.tensor_count);
  if (args.tensors) {
    for (size_t i = 0; i < info.tensor_count; ++i) {
      const taec_tensor_info t = model.tensor(i);
      std::printf("  %-24s %-5s %s\n", t.name, t.dtype, shape_text(t).c_str());
    }
  }
}

int run_info(const InfoArgs& args) {
  taec_role role = args.role == "decoder" ? TAEC_ROLE_DECODER
                   : args.role == "encoder" ? TAEC_ROLE_ENCODER : TAEC_ROLE_ANY;
  const std::string path = taec::resolve_weights(args.weights, role == TAEC_ROLE_ANY ? TAEC_ROLE_DECODER : role);
  taec_load_options options = load_options(args.variant, role);
  std::unique_ptr<taec::Model> model;
  try {
    model = std::make_unique<taec::Model>(path, &options);
  } catch (const taec::Error& e) {
    // A file holding both halves (the video TAEs): describe each.
    if (role != TAEC_ROLE_ANY || e.status() != TAEC_ERR_INVALID_ARGUMENT) throw;
    options.role = TAEC_ROLE_DECODER;
    print_model(taec::Model(path, &options), args, true);
    std::printf("\n");
    options.role = TAEC_ROLE_ENCODER;
    print_model(taec::Model(path, &options), args, false);
    return kExitOk;
  }
  print_model(*model, args, true);
  return kExitOk;
}

}  // namespace

Command add_info_command(CLI::App& app) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* cmd = app.add_subcommand("info", "Show a checkpoint's variant, role, latent channels and tensors");
  cmd->add_option("weights", args->weights, "Weight file (.pth or .safetensors) or model name (taef2, taef1, …); a video TAE file shows both halves")
      ->required();
  cmd->add_option("--variant", args->variant, "Override the detected variant (taesd, taesdxl, taesd3, taef1, taef2; taew2_1, taehv, taecvx, taeos1_3, …)");
  cmd->add_option("--role", args->role, "decoder|encoder: which half of a combined file; also picks the file for a model name")
      ->check(CLI::IsMember({"any", "decoder", "encoder"}));
  cmd->add_flag("--tensors", args->tensors, "List every tensor with dtype and shape");
  return {cmd, [args] { return run_info(*args); }};
}

}  // namespace taec_cli

// taec decode WEIGHTS LATENT.npy: latent -> PNG and/or .npy through a fixed-shape plan.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli_util.h"
#include "commands.h"

namespace taec_cli {
namespace {

struct DecodeArgs {
  std::string weights;
  std::string latent;
  std::string png;
  std::string npy;
  std::string variant;
  taec_precision precision = TAEC_PRECISION_FP32;
  LayoutChoice layout = LayoutChoice::automatic;
  std::string npy_dtype = "f32";
  bool allow_nonfinite = false;
  bool verbose = false;
};

int run_decode(const DecodeArgs& args) {
  if (args.png.empty() && args.npy.empty()) {
    return fail(TAEC_ERR_INVALID_ARGUMENT, "nothing to write: pass --png and/or --npy");
  }
  const std::string path = taec::resolve_weights(args.weights, TAEC_ROLE_DECODER);
  taec_load_options options = load_options(args.variant, TAEC_ROLE_DECODER);
  taec::Model model(path, &options);
  const taec_model_info info = model.info();

  taec::Array latent = taec::Array::load_npy(args.latent);
  std::vector<int64_t> shape = latent.shape();
  if (shape.size() == 3) shape.insert(shape.begin(), 1);  // unbatched [C,H,W] / [H,W,C]
  if (shape.size() != 4) {
    return fail(TAEC_ERR_SHAPE, args.latent + ": latent has rank " + std::to_string(latent.shape().size()) +
                                    "; expected 4 ([N,C,H,W] or [N,H,W,C]) or 3");
  }
  const taec_layout layout = choose_layout(args.layout, shape, info.latent_channels, args.latent);
  const bool nhwc = layout == TAEC_LAYOUT_NHWC;
  const int64_t batch = shape[0];
  const int64_t channels = nhwc ? shape[3] : shape[1];
  const int64_t height = nhwc ? shape[1] : shape[2];
  const int64_t width = nhwc ? shape[2] : shape[3];
  if (channels != info.latent_channels) {
    return fail(TAEC_ERR_SHAPE, args.latent + ": latent has " + std::to_string(channels) + " channels (" +
                                    (nhwc ? "NHWC" : "NCHW") + " reading of its shape), but " + info.variant +
                                    " expects " + std::to_string(info.latent_channels));
  }
  if (batch < 1 || height < 1 || width < 1) return fail(TAEC_ERR_SHAPE, args.latent + ": latent is empty");

  taec_plan_options opts;
  taec_plan_options_init(&opts);
  opts.precision = args.precision;
  opts.image_height = static_cast<int>(height * info.spatial_factor);
  opts.image_width = static_cast<int>(width * info.spatial_factor);
  opts.layout = layout;
  opts.nonfinite = args.allow_nonfinite ? TAEC_NONFINITE_PROPAGATE : TAEC_NONFINITE_REJECT;
  taec::Plan plan(model, opts);
  const taec_plan_io io = plan.io();
  if (args.verbose) print_plan_choice(plan);

  std::vector<float> images(io.output_elems * batch);
  for (int64_t n = 0; n < batch; ++n) {
    try {
      plan.run(latent.data() + n * io.input_elems, images.data() + n * io.output_elems);
    } catch (const taec::Error& e) {
      return fail(e.status(), args.latent + ": batch item " + std::to_string(n) + ": " + e.what());
    }
  }
  if (!args.npy.empty()) {
    std::vector<int64_t> out_shape = {batch, io.output_shape[1], io.output_shape[2], io.output_shape[3]};
    taec::save_npy(args.npy, images.data(), out_shape, args.npy_dtype == "f16" ? TAEC_DTYPE_F16 : TAEC_DTYPE_F32);
    std::fprintf(stderr, "wrote %s\n", args.npy.c_str());
  }
  if (!args.png.empty()) {
    for (int64_t n = 0; n < batch; ++n) {
      const std::string out = batch_path(args.png, n, batch);
      taec::save_png(out, images.data() + n * io.output_elems, opts.image_height, opts.image_width, layout);
      std::fprintf(stderr, "wrote %s\n", out.c_str());
    }
  }
  return kExitOk;
}

}  // namespace

Command add_decode_command(CLI::App& app) {
  auto args = std::make_shared<DecodeArgs>();
  CLI::App* cmd = app.add_subcommand("decode", "Decode a latent .npy into an image (PNG) and/or an .npy");
  cmd->add_option("weights", args->weights, "Decoder weights (.pth/.safetensors) or model name (taef2, taef1, …)")
      ->required();
  cmd->add_option("latent", args->latent, "Latent .npy, float32 or float16, [N,C,H,W] or [N,H,W,C] (or rank 3)")
      ->required();
  cmd->add_option("--png", args->png, "Write the image (clamped to [0,1]) as PNG; out_<n>.png per item if N > 1");
  cmd->add_option("--npy", args->npy, "Write the unclamped decoder output as .npy, in the latent's layout");
  cmd->add_option("--npy-dtype", args->npy_dtype, "f32|f16: element type of --npy")->check(CLI::IsMember({"f32", "f16"}));
  cmd->add_option("--layout", args->layout, "auto|nchw|nhwc: layout of the latent (and of --npy)")
      ->transform(CLI::CheckedTransformer(std::map<std::string, LayoutChoice>{
          {"auto", LayoutChoice::automatic}, {"nchw", LayoutChoice::nchw}, {"nhwc", LayoutChoice::nhwc}}));
  cmd->add_option("--variant", args->variant, "Override the detected variant");
  add_precision_option(cmd, args->precision);
  cmd->add_flag("-v,--verbose", args->verbose, "Say which engine, ISA and kernels the plan chose, and why");
  cmd->add_flag("--allow-nonfinite", args->allow_nonfinite,
                "Decode latents holding NaN/Inf anyway (default: refuse them; Inf clamps to +-3, NaN stays NaN)");
  return {cmd, [args] { return run_decode(*args); }};
}

}  // namespace taec_cli

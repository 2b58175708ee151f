// taec encode WEIGHTS IMAGE: PNG/JPEG -> latent .npy.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli_util.h"
#include "commands.h"
#include "encode_args.h"

namespace taec_cli {
namespace {

int run_encode(const EncodeArgs& args) {
  const std::string path = taec::resolve_weights(args.weights, TAEC_ROLE_ENCODER);
  taec_load_options options = load_options(args.variant, TAEC_ROLE_ENCODER);
  taec::Model model(path, &options);
  if (model.info().is_video) return run_video_encode(args, model);
  if (!args.layout.empty() && args.layout != "nchw" && args.layout != "nhwc") {
    return fail(TAEC_ERR_INVALID_ARGUMENT, "--layout " + args.layout + ": " + model.info().variant + " is an image encoder (nchw or nhwc)");
  }

  taec::Array image = taec::Array::load_image(args.input);  // [1,3,H,W] in [0,1]
  const std::vector<int64_t> shape = image.shape();
  taec_plan_options opts;
  taec_plan_options_init(&opts);
  opts.precision = args.precision;
  opts.threads = args.threads;
  opts.tune = args.tune;
  opts.image_height = static_cast<int>(shape[2]);
  opts.image_width = static_cast<int>(shape[3]);
  taec::Plan plan(model, opts);  // NCHW in; the latent is transposed below if asked
  const taec_plan_io io = plan.io();
  std::vector<float> latent(io.output_elems);
  plan.run(image.data(), latent.data());

  const int64_t c = io.output_shape[1], h = io.output_shape[2], w = io.output_shape[3];
  std::vector<int64_t> out_shape = {1, c, h, w};
  if (args.layout == "nhwc") {
    std::vector<float> nhwc(latent.size());
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t i = 0; i < h * w; ++i) nhwc[i * c + ch] = latent[ch * h * w + i];
    }
    latent.swap(nhwc);
    out_shape = {1, h, w, c};
  }
  taec::save_npy(args.out, latent.data(), out_shape, args.dtype == "f16" ? TAEC_DTYPE_F16 : TAEC_DTYPE_F32);
  std::fprintf(stderr, "wrote %s [%lld,%lld,%lld,%lld]\n", args.out.c_str(),
               static_cast<long long>(out_shape[0]), static_cast<long long>(out_shape[1]),
               static_cast<long long>(out_shape[2]), static_cast<long long>(out_shape[3]));
  return kExitOk;
}

}  // namespace

Command add_encode_command(CLI::App& app) {
  auto args = std::make_shared<EncodeArgs>();
  CLI::App* cmd = app.add_subcommand("encode", "Encode a PNG/JPEG image (or, for video models, a video file, a folder of frames or a "
                                               "clip .npy) into a latent .npy (raw latent, no scaling)");
  cmd->add_option("weights", args->weights, "Encoder weights (.pth/.safetensors) or model name (taef2, taef1, …)")
      ->required();
  cmd->add_option("input", args->input,
                  "PNG or JPEG image; any size (the latent is ceil(size/8)). Video models: a video file (.mp4, .webm, …), a "
                  "folder of PNG/JPEG frames (natural order), or a clip .npy [N,T,3,H,W] / [N,3,T,H,W] in [0,1]")
      ->required();
  cmd->add_option("-o,--out", args->out, "Latent .npy to write")->required();
  cmd->add_option("--layout", args->layout, "nchw|nhwc layout of the latent; clips: ntchw (default) | ncthw, also of a clip .npy input")
      ->check(CLI::IsMember({"nchw", "nhwc", "ntchw", "ncthw"}));
  cmd->add_option("--threads", args->threads, "Threads (0 = all cores)")->check(CLI::Range(0, 1024));
  add_tune_option(cmd, args->tune);
  cmd->add_option("--max-frames", args->max_frames, "Clips: encode at most this many frames (0 = all)")->check(CLI::Range(0, 1 << 24));
  cmd->add_flag("-q,--quiet", args->quiet, "No progress lines for long clips");
  cmd->add_option("--dtype", args->dtype, "f32|f16 element type of the latent")->check(CLI::IsMember({"f32", "f16"}));
  cmd->add_option("--variant", args->variant, "Override the detected variant");
  add_precision_option(cmd, args->precision);
  return {cmd, [args] { return run_encode(*args); }};
}

}  // namespace taec_cli

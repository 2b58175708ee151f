// taec decode WEIGHTS LATENT.npy | --package DIR LATENT.npy: latent -> PNG and/or .npy through a
// fixed-shape plan, compiled from weights or loaded from a package.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli_util.h"
#include "commands.h"
#include "decode_args.h"
#include "quality_cli_util.h"
#include "taec/taec_quality.h"

namespace taec_cli {
namespace {

int run_decode(const DecodeArgs& args) {
  if (args.png.empty() && args.npy.empty() && args.video.empty()) {
    return fail(TAEC_ERR_INVALID_ARGUMENT, "nothing to write: pass --png, --npy and/or --video");
  }
  Decoder decoder = open_decoder(args);
  const taec::Model& model = *decoder.model;
  const taec_model_info info = model.info();
  if (info.is_video) return run_video_decode(args, decoder);
  if (!args.video.empty()) return fail(TAEC_ERR_INVALID_ARGUMENT, "--video: " + std::string(info.variant) + " is an image decoder");
  const LayoutChoice layout_choice = args.layout == "nhwc" ? LayoutChoice::nhwc : args.layout == "nchw" ? LayoutChoice::nchw : LayoutChoice::automatic;
  if (args.layout == "ntchw" || args.layout == "ncthw") {
    return fail(TAEC_ERR_INVALID_ARGUMENT, "--layout " + args.layout + ": " + info.variant + " is an image decoder (nchw or nhwc)");
  }

  taec::Array latent = taec::Array::load_tensor(args.latent);
  std::vector<int64_t> shape = latent.shape();
  if (shape.size() == 3) shape.insert(shape.begin(), 1);  // unbatched [C,H,W] / [H,W,C]
  if (shape.size() != 4) {
    return fail(TAEC_ERR_SHAPE, args.latent + ": latent has rank " + std::to_string(latent.shape().size()) +
                                    "; expected 4 ([N,C,H,W] or [N,H,W,C]) or 3");
  }
  // FLUX.2's transformer emits 128 channels at 1/16 (2x2 patches); unpacked below (exact).
  const bool packed = args.input_form == "flux2-packed";
  taec_latent_contract contract;
  if (packed && (taec_latent_contract_get(info.variant, &contract) != TAEC_OK || contract.packed_channels == 0)) {
    return fail(TAEC_ERR_INVALID_ARGUMENT, std::string("--input flux2-packed: ") + info.variant +
                                               " has no packed latent form (it is FLUX.2's, for taef2)");
  }
  const int expected_channels = packed ? contract.packed_channels : info.latent_channels;
  if (!packed && taec_latent_contract_get(info.variant, &contract) == TAEC_OK && contract.packed_channels > 0 &&
      (shape[1] == contract.packed_channels || shape[3] == contract.packed_channels)) {
    warn(args.latent + ": shape has " + std::to_string(contract.packed_channels) +
         " channels, FLUX.2's packed transformer form; if it is, pass --input flux2-packed");
  }
  const taec_layout layout = choose_layout(layout_choice, shape, expected_channels, args.latent);
  const bool nhwc = layout == TAEC_LAYOUT_NHWC;
  const int64_t batch = shape[0];
  int64_t channels = nhwc ? shape[3] : shape[1];
  int64_t height = nhwc ? shape[1] : shape[2];
  int64_t width = nhwc ? shape[2] : shape[3];
  if (channels != expected_channels) {
    return fail(TAEC_ERR_SHAPE, args.latent + ": latent has " + std::to_string(channels) + " channels (" +
                                    (nhwc ? "NHWC" : "NCHW") + " reading of its shape), but " + info.variant +
                                    (packed ? "'s packed form has " : " expects ") + std::to_string(expected_channels));
  }
  if (batch < 1 || height < 1 || width < 1) return fail(TAEC_ERR_SHAPE, args.latent + ": latent is empty");
  const float* latent_data = latent.data();
  std::vector<float> unpacked;
  if (packed) {
    const size_t item = static_cast<size_t>(channels) * height * width;
    unpacked.resize(item * batch);
    for (int64_t n = 0; n < batch; ++n) {
      taec::check(taec_flux2_unpack(latent.data() + n * item, static_cast<int>(channels), static_cast<int>(height),
                                    static_cast<int>(width), layout, unpacked.data() + n * item));
    }
    latent_data = unpacked.data();
    channels /= 4;
    height *= 2;
    width *= 2;
  }
  // Warnings only (NaN/Inf, implausible statistics), each printed once with the items it fits.
  std::vector<std::pair<std::string, std::vector<int64_t>>> warnings;
  for (int64_t n = 0; n < batch; ++n) {
    const char* text = "";
    const size_t item = static_cast<size_t>(channels) * height * width;
    taec::check(taec_latent_check(model.get(), latent_data + n * item, static_cast<int>(height),
                                  static_cast<int>(width), layout, &text));
    for (const char* line = text; *line;) {
      const char* end = std::strchr(line, '\n');
      const std::string w(line, end);
      auto it = std::find_if(warnings.begin(), warnings.end(), [&](const auto& e) { return e.first == w; });
      if (it == warnings.end()) it = warnings.insert(warnings.end(), {w, {}});
      it->second.push_back(n);
      line = end + 1;
    }
  }
  for (const auto& [w, items] : warnings) {
    std::string where = args.latent;
    if (batch > 1) where += items.size() == 1 ? " item " + std::to_string(items[0]) : " " + std::to_string(items.size()) + " items";
    warn(where + ": " + w);
  }

  taec_plan_options opts;
  taec_plan_options_init(&opts);
  opts.threads = args.threads;
  opts.tune = args.tune;
  opts.precision = args.precision;
  opts.image_height = static_cast<int>(height * info.spatial_factor);
  opts.image_width = static_cast<int>(width * info.spatial_factor);
  opts.layout = layout;
  opts.nonfinite = args.allow_nonfinite ? TAEC_NONFINITE_PROPAGATE : TAEC_NONFINITE_REJECT;
  // A package's plans have a fixed layout and I/O type; the files keep theirs (converted here).
  const taec_layout plan_layout = decoder.package ? decoder.package_info.layout : layout;
  const bool f16 = decoder.package && decoder.package_info.io_dtype == TAEC_DTYPE_F16;
  if (decoder.package && !args.size.empty()) {
    int h = 0, w = 0;
    if (!parse_image_size(args.size, &h, &w)) return fail(TAEC_ERR_INVALID_ARGUMENT, "--size: \"" + args.size + "\" is not N or HxW");
    if (h != opts.image_height || w != opts.image_width) {
      return fail(TAEC_ERR_SHAPE, args.latent + ": a " + std::to_string(height) + "x" + std::to_string(width) + " latent decodes to " +
                                      std::to_string(opts.image_height) + "x" + std::to_string(opts.image_width) + ", not the --size " +
                                      args.size);
    }
  }
  // Int8 activation ranges: measured on photos, as `taec bench` and `taec validate` do.
  std::unique_ptr<taec::Calibration> calibration;
  if (args.precision == TAEC_PRECISION_INT8 && !decoder.package) {
    calibration = std::make_unique<taec::Calibration>(
        calibrate_on_images(model, args.weights, args.encoder, args.calibration_images, args.threads));
    opts.calibration = calibration->get();
  }
  taec::Plan plan = decoder.package ? decoder.package->load_plan(opts.image_height, opts.image_width, &opts) : taec::Plan(model, opts);
  const taec_plan_io io = plan.io();
  if (args.verbose) print_plan_choice(plan);

  // The outputs are written band by band as the plan finishes them, so no full-size image is
  // held (a 2048² fp32 image is 48 MiB, a third of the plan's own memory). One exception: a
  // channel-major .npy into a pipe must come in order, so each item is held whole for it.
  const int out_h = opts.image_height, out_w = opts.image_width;
  const bool out_nhwc = layout == TAEC_LAYOUT_NHWC;
  std::optional<taec::NpyWriter> npy;
  if (!args.npy.empty()) {
    npy.emplace(args.npy, std::vector<int64_t>{batch, out_nhwc ? out_h : 3, out_nhwc ? out_w : out_h, out_nhwc ? 3 : out_w},
                args.npy_dtype == "f16" ? TAEC_DTYPE_F16 : TAEC_DTYPE_F32);
  }
  std::vector<float> whole_item;
  if (npy && !out_nhwc && !npy->seekable()) {
    try {
      whole_item.resize(io.output_elems);
    } catch (const std::bad_alloc&) {
      return fail(TAEC_ERR_OUT_OF_MEMORY, args.npy + ": out of memory holding a decoded image for the stream");
    }
  }
  std::vector<float> in_t(plan_layout != layout ? io.input_elems : 0), band_f32, band_converted;
  std::vector<uint16_t> in16(f16 ? io.input_elems : 0);
  for (int64_t n = 0; n < batch; ++n) {
    const float* in = latent_data + n * io.input_elems;
    if (plan_layout != layout) {
      convert_layout(in, static_cast<int>(channels), static_cast<int>(height), static_cast<int>(width), layout, in_t.data());
      in = in_t.data();
    }
    const void* plan_in = in;
    if (f16) {
      taec_f32_to_f16(in, in16.data(), in16.size());
      plan_in = in16.data();
    }
    std::optional<taec::PngWriter> png;
    const std::string png_path = args.png.empty() ? "" : batch_path(args.png, n, batch);
    if (!png_path.empty()) png.emplace(png_path, out_h, out_w);
    const uint64_t item = static_cast<uint64_t>(n) * io.output_elems;
    auto write_band = [&](int y0, int y1, const void* rows) {
      const int r = y1 - y0;
      const size_t elems = static_cast<size_t>(r) * out_w * 3;
      const float* band = static_cast<const float*>(rows);
      if (f16) {
        band_f32.resize(elems);
        taec_f16_to_f32(static_cast<const uint16_t*>(rows), band_f32.data(), elems);
        band = band_f32.data();
      }
      if (plan_layout != layout) {
        band_converted.resize(elems);
        convert_layout(band, 3, r, out_w, plan_layout, band_converted.data());
        band = band_converted.data();
      }
      if (png) png->write_rows(band, r, layout);
      if (!npy) return;
      const size_t plane = static_cast<size_t>(out_h) * out_w, row0 = static_cast<size_t>(y0) * out_w;
      if (out_nhwc) {
        npy->write(item + row0 * 3, band, elems);
      } else if (!whole_item.empty()) {
        for (int c = 0; c < 3; ++c) std::copy_n(band + static_cast<size_t>(c) * r * out_w, static_cast<size_t>(r) * out_w, whole_item.data() + c * plane + row0);
      } else {
        for (int c = 0; c < 3; ++c) npy->write(item + c * plane + row0, band + static_cast<size_t>(c) * r * out_w, static_cast<size_t>(r) * out_w);
      }
    };
    try {
      plan.run_rows(plan_in, write_band);
    } catch (const taec::Error& e) {
      return fail(e.status(), args.latent + ": batch item " + std::to_string(n) + ": " + e.what());
    }
    if (!whole_item.empty()) npy->write(item, whole_item.data(), whole_item.size());
    if (png) {
      png->close();
      std::fprintf(stderr, "wrote %s\n", png_path.c_str());
    }
  }
  if (npy) {
    npy->close();
    std::fprintf(stderr, "wrote %s\n", args.npy.c_str());
  }
  return kExitOk;
}

}  // namespace

Decoder open_decoder(const DecodeArgs& args) {
  Decoder d;
  if (!args.package.empty()) {
    d.package = std::make_unique<taec::Package>(args.package);
    d.package_info = d.package->info();
    if (d.package_info.role != TAEC_ROLE_DECODER) {
      throw taec::Error(TAEC_ERR_INVALID_ARGUMENT, args.package + ": holds an encoder; decode needs a decoder package");
    }
    d.model = std::make_unique<taec::Model>(d.package->model());
    return d;
  }
  const std::string path = taec::resolve_weights(args.weights, TAEC_ROLE_DECODER);
  taec_load_options options = load_options(args.variant, TAEC_ROLE_DECODER);
  d.model = std::make_unique<taec::Model>(path, &options);
  return d;
}

Command add_decode_command(CLI::App& app) {
  auto args = std::make_shared<DecodeArgs>();
  CLI::App* cmd = app.add_subcommand("decode", "Decode a latent .npy into an image (PNG) and/or an .npy");
  cmd->add_option("weights", args->weights, "Decoder weights (.pth/.safetensors) or model name (taef2, taef1, …); "
                                            "omitted with --package");
  cmd->add_option("latent", args->latent, "Latent .npy (float32/float16) or tensor file (torch.save, bf16 too): [N,C,H,W] or [N,H,W,C] (or rank 3); video "
                                          "[N,T,C,H,W] or [N,C,T,H,W] (or rank 4)");
  cmd->add_option("--package", args->package, "Decode with a package's plan (directory or .zip) instead of weights");
  cmd->add_option("--size", args->size, "With --package: the image size to decode to (N or HxW; default from the latent)");
  cmd->add_option("--png", args->png, "Write the image (clamped to [0,1]) as PNG; out_<n>.png per item if N > 1. Video: a new or "
                                    "empty folder of frame_00000.png, … (FOLDER_<n> per clip if N > 1)");
  cmd->add_option("--npy", args->npy, "Write the unclamped decoder output as .npy, in the latent's layout");
  cmd->add_option("--npy-dtype", args->npy_dtype, "f32|f16: element type of --npy")->check(CLI::IsMember({"f32", "f16"}));
  cmd->add_option("--layout", args->layout,
                  "auto|nchw|nhwc (images) | ntchw|ncthw (video clips: taehv.py's [N,T,C,H,W] or Wan's [N,C,T,H,W]): layout "
                  "of the latent, and of --npy")
      ->check(CLI::IsMember({"auto", "nchw", "nhwc", "ntchw", "ncthw"}));
  cmd->add_option("--video", args->video, "Video models: write the clip as a video file (.mp4 H.264, .webm VP9, .mkv)");
  cmd->add_option("--fps", args->fps, "Frame rate of --video (default: the model family's, Wan 16, CogVideoX 8, others 24)")
      ->check(CLI::Range(1, 240));
  cmd->add_option("--threads", args->threads, "Threads (0 = all cores)")->check(CLI::Range(0, 1024));
  add_tune_option(cmd, args->tune);
  cmd->add_flag("-q,--quiet", args->quiet, "No progress lines for long clips");
  cmd->add_option("--variant", args->variant, "Override the detected variant");
  cmd->add_option("--input", args->input_form,
                  "latent (default) | flux2-packed: the FLUX.2 transformer's 128-channel 1/16 latent "
                  "([N,128,H/16,W/16] or NHWC), unpacked exactly to 32 channels at 1/8 (channel 4c+2py+px; no "
                  "BatchNorm denormalization, as taef2 expects)")
      ->check(CLI::IsMember({"latent", "flux2-packed"}));
  add_precision_option(cmd, args->precision, /*with_int8=*/true);
  cmd->add_option("--calibration-images", args->calibration_images,
                  "int8: photos or folders to calibrate on, as `taec bench` does (default $TAEC_IMAGE_DIR; a package packed "
                  "with int8 holds its own ranges)");
  cmd->add_option("--encoder", args->encoder, "int8: encoder weights for the calibration latents (default: beside the weights)");
  cmd->add_flag("-v,--verbose", args->verbose, "Say which engine, ISA and kernels the plan chose, and why");
  cmd->add_flag("--allow-nonfinite", args->allow_nonfinite,
                "Decode latents holding NaN/Inf anyway (default: refuse them; Inf clamps to +-3, NaN stays NaN)");
  return {cmd, [args] {
            if (!args->package.empty() && args->latent.empty()) std::swap(args->weights, args->latent);
            if (args->latent.empty() || (args->package.empty() == args->weights.empty())) {
              return fail(TAEC_ERR_INVALID_ARGUMENT, "decode: pass WEIGHTS LATENT, or --package DIR LATENT");
            }
            return run_decode(*args);
          }};
}

}  // namespace taec_cli

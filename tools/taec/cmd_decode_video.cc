// taec decode of a video latent: the clip streamed latent by latent through one fixed-shape plan,
// each frame written (PNG folder, .npy, video file) as soon as it exists, so memory does not
// grow with the clip beyond the latent file itself.
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "decode_args.h"
#include "video_cli.h"

namespace taec_cli {
namespace {

// NaN/Inf in a latent is refused before anything is decoded, naming where it is.
void check_finite(const ClipShape& s, const float* clip, const std::string& what) {
  const size_t plane = static_cast<size_t>(s.height) * s.width;
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t t = 0; t < s.time; ++t) {
      for (int64_t c = 0; c < s.channels; ++c) {
        const float* p = clip + clip_offset(s, n, t, c);
        for (size_t i = 0; i < plane; ++i) {
          if (!std::isfinite(p[i])) {
            throw taec::Error(TAEC_ERR_NONFINITE, what + ": " + (std::isnan(p[i]) ? "NaN" : "Inf") + " in clip " + std::to_string(n) +
                                                      ", latent " + std::to_string(t) + ", channel " + std::to_string(c) +
                                                      " (pass --allow-nonfinite to decode anyway)");
          }
        }
      }
    }
  }
}

}  // namespace

int run_video_decode(const DecodeArgs& args, Decoder& decoder) {
  const taec::Model& model = *decoder.model;
  const taec_model_info info = model.info();
  if (args.precision == TAEC_PRECISION_INT8) {
    return fail(TAEC_ERR_UNSUPPORTED, "--precision int8: not implemented for video models (fp32, bf16, reference)");
  }
  if (args.input_form != "latent") return fail(TAEC_ERR_INVALID_ARGUMENT, "--input " + args.input_form + ": only for FLUX.2 image latents");
  if (args.layout == "nchw" || args.layout == "nhwc") {
    return fail(TAEC_ERR_INVALID_ARGUMENT, "--layout " + args.layout + ": " + info.variant + " decodes clips: pass ntchw, ncthw or auto");
  }
  taec::Array latent = taec::Array::load_tensor(args.latent);
  const ClipShape in = clip_shape(args.layout, latent.shape(), info.latent_channels, args.latent);
  if (!args.allow_nonfinite) check_finite(in, latent.data(), args.latent);

  taec_plan_options opts;
  taec_plan_options_init(&opts);
  opts.precision = args.precision;
  opts.threads = args.threads;
  opts.tune = args.tune;
  opts.image_height = static_cast<int>(in.height * info.spatial_factor);
  opts.image_width = static_cast<int>(in.width * info.spatial_factor);
  opts.layout = TAEC_LAYOUT_NCHW;
  opts.nonfinite = args.allow_nonfinite ? TAEC_NONFINITE_PROPAGATE : TAEC_NONFINITE_REJECT;
  if (decoder.package && !args.size.empty()) {
    int h = 0, w = 0;
    if (!parse_image_size(args.size, &h, &w)) return fail(TAEC_ERR_INVALID_ARGUMENT, "--size: \"" + args.size + "\" is not N or HxW");
    if (h != opts.image_height || w != opts.image_width) {
      return fail(TAEC_ERR_SHAPE, args.latent + ": its latents decode to " + std::to_string(opts.image_height) + "x" +
                                      std::to_string(opts.image_width) + " frames, not the --size " + args.size);
    }
  }
  taec::Plan plan = decoder.package ? decoder.package->load_plan(opts.image_height, opts.image_width, &opts) : taec::Plan(model, opts);
  if (args.verbose) print_plan_choice(plan);
  const taec_plan_io io = plan.io();
  const bool plan_nhwc = decoder.package && decoder.package_info.layout == TAEC_LAYOUT_NHWC;
  const bool f16 = decoder.package && decoder.package_info.io_dtype == TAEC_DTYPE_F16;
  const int height = opts.image_height, width = opts.image_width;
  const size_t frame_elems = static_cast<size_t>(3) * height * width;
  const size_t latent_elems = static_cast<size_t>(in.channels) * in.height * in.width;

  ClipShape out = in;
  out.channels = 3;
  out.time = model.clip_length(in.time);
  out.height = height;
  out.width = width;
  std::optional<taec::NpyWriter> npy;
  if (!args.npy.empty()) {
    const std::vector<int64_t> shape = out.layout == ClipLayout::ntchw ? std::vector<int64_t>{out.batch, out.time, 3, height, width}
                                                                       : std::vector<int64_t>{out.batch, 3, out.time, height, width};
    npy.emplace(args.npy, shape, args.npy_dtype == "f16" ? TAEC_DTYPE_F16 : TAEC_DTYPE_F32);
  }
  std::vector<std::unique_ptr<FrameFolder>> folders;
  std::vector<std::unique_ptr<VideoSink>> videos;
  for (int64_t n = 0; n < in.batch; ++n) {
    if (!args.png.empty()) folders.push_back(std::make_unique<FrameFolder>(batch_path(args.png, n, in.batch)));
    if (!args.video.empty()) {
      videos.push_back(std::make_unique<VideoSink>(batch_path(args.video, n, in.batch), height, width,
                                                   args.fps > 0 ? args.fps : default_fps(info.variant)));
    }
  }

  std::fprintf(stderr, "decoding %lld clip%s of %lld latents (%s) -> %lld frames of %dx%d each, %s, state %.1f MiB\n",
               static_cast<long long>(in.batch), in.batch > 1 ? "s" : "", static_cast<long long>(in.time), clip_layout_name(in.layout),
               static_cast<long long>(out.time), height, width, precision_label(args.precision), io.state_bytes / 1048576.0);
  taec::Stream stream(plan, static_cast<int>(in.time));
  std::vector<float> item(latent_elems), frame(frame_elems), staged(std::max(latent_elems, frame_elems));
  std::vector<uint16_t> half(f16 ? std::max(latent_elems, frame_elems) : 0);
  Progress progress("decode", in.batch * in.time, in.batch * out.time, args.quiet || out.time * in.batch < 32);
  int64_t done = 0;
  for (int64_t n = 0; n < in.batch; ++n) {
    if (n > 0) stream.reset();
    int64_t f = 0;
    // Pending frames go out in order: to the folder, the .npy (plane by plane in NCTHW) and the video.
    auto drain = [&] {
      while (stream.pending() > 0) {
        if (f16) {
          stream.pull(half.data());
          taec_f16_to_f32(half.data(), plan_nhwc ? staged.data() : frame.data(), frame_elems);
        } else {
          stream.pull(plan_nhwc ? staged.data() : frame.data());
        }
        if (plan_nhwc) convert_layout(staged.data(), 3, height, width, TAEC_LAYOUT_NHWC, frame.data());
        if (f >= out.time) throw taec::Error(TAEC_ERR_INTERNAL, args.latent + ": the stream gave more frames than its frame rule says");
        if (!folders.empty()) folders[n]->write(f, frame.data(), height, width);
        if (npy) {
          const size_t plane = static_cast<size_t>(height) * width;
          for (int c = 0; c < 3; ++c) npy->write(clip_offset(out, n, f, c), frame.data() + c * plane, plane);
        }
        if (!videos.empty()) videos[n]->write(frame.data());
        ++f;
        ++done;
      }
    };
    for (int64_t t = 0; t < in.time; ++t) {
      gather_item(in, latent.data(), n, t, item.data());
      const float* push = item.data();
      if (plan_nhwc) {
        convert_layout(item.data(), static_cast<int>(in.channels), static_cast<int>(in.height), static_cast<int>(in.width), TAEC_LAYOUT_NCHW,
                       staged.data());
        push = staged.data();
      }
      try {
        if (f16) {
          taec_f32_to_f16(push, half.data(), latent_elems);
          stream.push(half.data());
        } else {
          stream.push(push);
        }
      } catch (const taec::Error& e) {
        return fail(e.status(), args.latent + ": clip " + std::to_string(n) + ", latent " + std::to_string(t) + ": " + e.what());
      }
      drain();
      progress.update(n * in.time + t + 1, done);
    }
    stream.flush();
    drain();
    if (f != out.time) {
      return fail(TAEC_ERR_INTERNAL, args.latent + ": clip " + std::to_string(n) + " gave " + std::to_string(f) + " frames; its frame rule says " +
                                         std::to_string(out.time));
    }
  }
  progress.finish(done);
  for (size_t n = 0; n < folders.size(); ++n) {
    folders[n]->commit();
    std::fprintf(stderr, "wrote %s/ (%lld frames)\n", batch_path(args.png, n, in.batch).c_str(), static_cast<long long>(out.time));
  }
  for (size_t n = 0; n < videos.size(); ++n) {
    videos[n]->close();
    std::fprintf(stderr, "wrote %s\n", batch_path(args.video, n, in.batch).c_str());
  }
  if (npy) {
    npy->close();
    std::fprintf(stderr, "wrote %s\n", args.npy.c_str());
  }
  return kExitOk;
}

}  // namespace taec_cli

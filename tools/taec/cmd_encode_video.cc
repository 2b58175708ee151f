// taec encode for video models: a clip (video file, folder of frames, or clip tensor) streamed
// frame by frame through one fixed-shape encoder plan; the latents, 1/(8p)^2 of the pixels per
// time_factor frames, are gathered and written as one .npy.
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "encode_args.h"
#include "video_cli.h"

namespace taec_cli {
namespace {

// Where the frames come from; every frame is [3,H,W] float in [0,1].
class FrameSource {
 public:
  virtual ~FrameSource() = default;
  virtual int clips() const { return 1; }
  virtual int height() const = 0;
  virtual int width() const = 0;
  virtual int64_t frames() const = 0;  // -1: unknown until the end
  // Frame `t` of clip `n`, asked in order; false past the clip's end.
  virtual bool read(int n, int64_t t, float* chw) = 0;
};

class FolderSource : public FrameSource {
 public:
  explicit FolderSource(const std::string& dir) : files_(list_frames(dir)) {
    if (files_.empty()) throw taec::Error(TAEC_ERR_IO, dir + ": no PNG or JPEG frames in the folder");
    first_ = std::make_unique<taec::Array>(taec::Array::load_image(files_[0]));
    height_ = static_cast<int>(first_->shape()[2]);
    width_ = static_cast<int>(first_->shape()[3]);
  }
  int height() const override { return height_; }
  int width() const override { return width_; }
  int64_t frames() const override { return static_cast<int64_t>(files_.size()); }
  bool read(int, int64_t t, float* chw) override {
    if (t >= frames()) return false;
    taec::Array image = t == 0 && first_ ? std::move(*first_) : taec::Array::load_image(files_[t]);
    first_.reset();
    if (image.shape()[2] != height_ || image.shape()[3] != width_) {
      throw taec::Error(TAEC_ERR_SHAPE, files_[t] + ": is " + std::to_string(image.shape()[2]) + "x" + std::to_string(image.shape()[3]) +
                                            "; the clip's first frame (" + files_[0] + ") is " + std::to_string(height_) + "x" +
                                            std::to_string(width_));
    }
    std::memcpy(chw, image.data(), image.elems() * sizeof(float));
    return true;
  }

 private:
  std::vector<std::string> files_;
  std::unique_ptr<taec::Array> first_;
  int height_ = 0, width_ = 0;
};

class TensorSource : public FrameSource {
 public:
  TensorSource(const std::string& path, const std::string& layout)
      : clip_(taec::Array::load_tensor(path)), shape_(clip_shape(layout, clip_.shape(), 3, path)) {
    for (size_t i = 0; i < clip_.elems(); ++i) {
      if (!std::isfinite(clip_.data()[i])) throw taec::Error(TAEC_ERR_NONFINITE, path + ": NaN or Inf in the frames");
    }
  }
  int clips() const override { return static_cast<int>(shape_.batch); }
  int height() const override { return static_cast<int>(shape_.height); }
  int width() const override { return static_cast<int>(shape_.width); }
  int64_t frames() const override { return shape_.time; }
  bool read(int n, int64_t t, float* chw) override {
    if (t >= shape_.time) return false;
    gather_item(shape_, clip_.data(), n, t, chw);
    return true;
  }

 private:
  taec::Array clip_;
  ClipShape shape_;
};

class VideoFileSource : public FrameSource {
 public:
  explicit VideoFileSource(const std::string& path) : video_(path) {}
  int height() const override { return video_.height(); }
  int width() const override { return video_.width(); }
  int64_t frames() const override { return video_.frame_count(); }
  bool read(int, int64_t, float* chw) override { return video_.read(chw); }

 private:
  VideoSource video_;
};

std::unique_ptr<FrameSource> open_source(const EncodeArgs& args) {
  struct stat st;
  if (stat(args.input.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return std::make_unique<FolderSource>(args.input);
  const size_t dot = args.input.find_last_of('.');
  const std::string ext = dot == std::string::npos ? "" : args.input.substr(dot);
  if (ext == ".npy" || ext == ".pt" || ext == ".pth" || ext == ".safetensors") return std::make_unique<TensorSource>(args.input, args.layout);
  return std::make_unique<VideoFileSource>(args.input);
}

}  // namespace

int run_video_encode(const EncodeArgs& args, const taec::Model& model) {
  const taec_model_info info = model.info();
  if (args.layout == "nchw" || args.layout == "nhwc") {
    return fail(TAEC_ERR_INVALID_ARGUMENT, "--layout " + args.layout + ": " + info.variant + " encodes clips: pass ntchw or ncthw");
  }
  std::unique_ptr<FrameSource> source = open_source(args);
  taec_plan_options opts;
  taec_plan_options_init(&opts);
  opts.precision = args.precision;
  opts.threads = args.threads;
  opts.tune = args.tune;
  opts.image_height = source->height();
  opts.image_width = source->width();
  opts.layout = TAEC_LAYOUT_NCHW;
  taec::Plan plan(model, opts);
  const taec_plan_io io = plan.io();
  const int64_t c = io.output_shape[1], h = io.output_shape[2], w = io.output_shape[3];
  const size_t latent_elems = static_cast<size_t>(c) * h * w;

  const int64_t known = source->frames();
  const int64_t frames_per_clip = args.max_frames > 0 && (known < 0 || known > args.max_frames) ? args.max_frames : known;
  std::vector<std::vector<float>> latents(source->clips());  // per clip, latent after latent
  taec::Stream stream(plan);
  std::vector<float> frame(static_cast<size_t>(3) * source->height() * source->width());
  Progress progress("encode", frames_per_clip < 0 ? -1 : frames_per_clip * source->clips(),
                    frames_per_clip < 0 ? -1 : model.clip_length(frames_per_clip) * source->clips(), args.quiet || frames_per_clip < 32);
  int64_t read_total = 0, latents_total = 0;
  int64_t frames = 0;
  for (int n = 0; n < source->clips(); ++n) {
    if (n > 0) stream.reset();
    auto drain = [&] {
      while (stream.pending() > 0) {
        latents[n].resize(latents[n].size() + latent_elems);
        stream.pull(latents[n].data() + latents[n].size() - latent_elems);
        ++latents_total;
      }
    };
    frames = 0;
    while ((args.max_frames == 0 || frames < args.max_frames) && source->read(n, frames, frame.data())) {
      stream.push(frame.data());
      drain();
      ++frames;
      progress.update(++read_total, latents_total);
    }
    if (frames == 0) return fail(TAEC_ERR_SHAPE, args.input + ": the clip has no frames");
    stream.flush();
    drain();
  }
  progress.finish(latents_total);
  const int64_t t = static_cast<int64_t>(latents[0].size() / latent_elems);
  const bool ncthw = args.layout == "ncthw";
  const int64_t batch = source->clips();
  const std::vector<int64_t> shape = ncthw ? std::vector<int64_t>{batch, c, t, h, w} : std::vector<int64_t>{batch, t, c, h, w};
  ClipShape out{ncthw ? ClipLayout::ncthw : ClipLayout::ntchw, batch, t, c, h, w};
  taec::NpyWriter npy(args.out, shape, args.dtype == "f16" ? TAEC_DTYPE_F16 : TAEC_DTYPE_F32);
  const size_t plane = static_cast<size_t>(h) * w;
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t i = 0; i < t; ++i) {
      for (int64_t ch = 0; ch < c; ++ch) npy.write(clip_offset(out, n, i, ch), latents[n].data() + i * latent_elems + ch * plane, plane);
    }
  }
  npy.close();
  std::fprintf(stderr, "wrote %s [%lld,%lld,%lld,%lld,%lld] (%s): %lld frames -> %lld latents per clip\n", args.out.c_str(),
               static_cast<long long>(shape[0]), static_cast<long long>(shape[1]), static_cast<long long>(shape[2]),
               static_cast<long long>(shape[3]), static_cast<long long>(shape[4]), clip_layout_name(out.layout),
               static_cast<long long>(frames), static_cast<long long>(t));
  return kExitOk;
}

}  // namespace taec_cli

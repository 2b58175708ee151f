// The CLI's video files, on the public taec_video.h API.
#include <vector>

#include "taec/taec_video.h"
#include "video_cli.h"

namespace taec_cli {

struct VideoSink::Impl {
  taec_video_writer* writer = nullptr;
  ~Impl() { taec_video_writer_free(writer); }
};

VideoSink::VideoSink(const std::string& path, int height, int width, int fps) : impl_(std::make_unique<Impl>()) {
  taec_video_writer_options o;
  taec_video_writer_options_init(&o);
  o.width = width;
  o.height = height;
  o.fps_num = fps;
  o.fps_den = 1;
  taec::check(taec_video_writer_open(path.c_str(), &o, &impl_->writer));
}

VideoSink::~VideoSink() = default;

void VideoSink::write(const float* chw) { taec::check(taec_video_writer_write(impl_->writer, chw, TAEC_LAYOUT_NCHW)); }

void VideoSink::close() {
  taec_video_writer* w = impl_->writer;
  impl_->writer = nullptr;
  taec::check(taec_video_writer_close(w));
}

struct VideoSource::Impl {
  taec_video_reader* reader = nullptr;
  taec_video_info info{};
  ~Impl() { taec_video_reader_free(reader); }
};

VideoSource::VideoSource(const std::string& path) : impl_(std::make_unique<Impl>()) {
  taec::check(taec_video_reader_open(path.c_str(), &impl_->reader));
  taec::check(taec_video_reader_get_info(impl_->reader, &impl_->info));
}

VideoSource::~VideoSource() = default;
int VideoSource::height() const { return impl_->info.height; }
int VideoSource::width() const { return impl_->info.width; }
int64_t VideoSource::frame_count() const { return impl_->info.frame_count > 0 ? impl_->info.frame_count : -1; }

bool VideoSource::read(float* chw) {
  int got = 0;
  taec::check(taec_video_reader_read(impl_->reader, chw, TAEC_LAYOUT_NCHW, &got));
  return got != 0;
}

}  // namespace taec_cli

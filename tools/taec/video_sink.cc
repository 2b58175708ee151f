#include "video_cli.h"

namespace taec_cli {

struct VideoSink::Impl {};

VideoSink::VideoSink(const std::string& path, int, int, int) {
  throw taec::Error(TAEC_ERR_UNSUPPORTED, path + ": video files are not available in this build yet");
}
VideoSink::~VideoSink() = default;
void VideoSink::write(const float*) {}
void VideoSink::close() {}

struct VideoSource::Impl {};

VideoSource::VideoSource(const std::string& path) {
  throw taec::Error(TAEC_ERR_UNSUPPORTED, path + ": video files are not available in this build yet");
}
VideoSource::~VideoSource() = default;
int VideoSource::height() const { return 0; }
int VideoSource::width() const { return 0; }
int64_t VideoSource::frame_count() const { return -1; }
bool VideoSource::read(float*) { return false; }

}  // namespace taec_cli

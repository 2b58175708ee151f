// Thin C++ RAII over taec_video.h, in the style of taec.hpp: owning handles, failures thrown as
// taec::Error. See taec_video.h for the contracts.
#ifndef TAEC_TAEC_VIDEO_HPP_
#define TAEC_TAEC_VIDEO_HPP_

#include <memory>
#include <string>

#include "taec/taec.hpp"
#include "taec/taec_video.h"

namespace taec {
inline namespace cpp {

namespace detail {
struct VideoWriterDeleter { void operator()(taec_video_writer* p) const { taec_video_writer_free(p); } };
struct VideoReaderDeleter { void operator()(taec_video_reader* p) const { taec_video_reader_free(p); } };
}  // namespace detail

// Destroyed without close() (an exception on the way), it abandons the file: nothing is left.
class VideoWriter {
 public:
  VideoWriter(const std::string& path, const taec_video_writer_options& options) {
    taec_video_writer* raw = nullptr;
    check(taec_video_writer_open(path.c_str(), &options, &raw));
    handle_.reset(raw);
  }
  // Options with the defaults of taec_video_writer_options_init and this size.
  static taec_video_writer_options options(int width, int height) {
    taec_video_writer_options o;
    taec_video_writer_options_init(&o);
    o.width = width;
    o.height = height;
    return o;
  }
  void write(const float* rgb, taec_layout layout) { check(taec_video_writer_write(handle_.get(), rgb, layout)); }
  taec_video_writer_info info() const {
    taec_video_writer_info i;
    check(taec_video_writer_get_info(handle_.get(), &i));
    return i;
  }
  void close() { check(taec_video_writer_close(handle_.release())); }

 private:
  std::unique_ptr<taec_video_writer, detail::VideoWriterDeleter> handle_;
};

class VideoReader {
 public:
  explicit VideoReader(const std::string& path) {
    taec_video_reader* raw = nullptr;
    check(taec_video_reader_open(path.c_str(), &raw));
    handle_.reset(raw);
  }
  taec_video_info info() const {
    taec_video_info i;
    check(taec_video_reader_get_info(handle_.get(), &i));
    return i;
  }
  // The next frame into rgb (3 * width * height floats); false at the end.
  bool read(float* rgb, taec_layout layout) {
    int got = 0;
    check(taec_video_reader_read(handle_.get(), rgb, layout, &got));
    return got != 0;
  }

 private:
  std::unique_ptr<taec_video_reader, detail::VideoReaderDeleter> handle_;
};

}  // namespace cpp
}  // namespace taec

#endif  // TAEC_TAEC_VIDEO_HPP_

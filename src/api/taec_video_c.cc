// The C ABI of video files (taec_video.h) over io/video_writer.h and io/video_reader.h.
#include "api/c_handles.h"
#include "io/video_reader.h"
#include "io/video_writer.h"
#include "taec/taec_video.h"

using taec::c_api::guarded;
using taec::c_api::invalid;
using taec::c_api::one_of;
using taec::c_api::report;

struct taec_video_writer {
  std::unique_ptr<taec::VideoWriter> writer;
};

struct taec_video_reader {
  std::unique_ptr<taec::VideoReader> reader;
};

namespace {

taec::RgbOrder order_of(taec_layout layout) {
  return layout == TAEC_LAYOUT_NHWC ? taec::RgbOrder::hwc : taec::RgbOrder::chw;
}

}  // namespace

extern "C" {

void taec_video_writer_options_init(taec_video_writer_options* options) {
  if (options) *options = taec_video_writer_options{0, 0, 16, 1, nullptr, nullptr, -1, 0};
}

taec_status taec_video_writer_open(const char* path, const taec_video_writer_options* options, taec_video_writer** out) {
  if (path == nullptr || options == nullptr || out == nullptr) return invalid("taec_video_writer_open: NULL argument");
  *out = nullptr;
  return guarded(path, [&] {
    taec::VideoWriterOptions o;
    o.width = options->width;
    o.height = options->height;
    o.fps_num = options->fps_num;
    o.fps_den = options->fps_den;
    o.container = options->container ? options->container : "";
    o.codec = options->codec ? options->codec : "";
    o.crf = options->crf;
    o.threads = options->threads;
    auto writer = taec::VideoWriter::open(path, o);
    if (!writer.ok()) return report(writer.status());
    *out = new taec_video_writer{std::move(*writer)};
    return report(taec::ok_status());
  });
}

taec_status taec_video_writer_write(taec_video_writer* writer, const float* rgb, taec_layout layout) {
  if (writer == nullptr || rgb == nullptr) return invalid("taec_video_writer_write: NULL argument");
  if (!one_of(layout, {TAEC_LAYOUT_NCHW, TAEC_LAYOUT_NHWC})) return invalid("taec_video_writer_write: invalid layout");
  return guarded(writer->writer->path(), [&] { return report(writer->writer->write(rgb, order_of(layout))); });
}

taec_status taec_video_writer_close(taec_video_writer* writer) {
  if (writer == nullptr) return invalid("taec_video_writer_close: NULL argument");
  const taec_status status = guarded(writer->writer->path(), [&] { return report(writer->writer->close()); });
  delete writer;
  return status;
}

void taec_video_writer_free(taec_video_writer* writer) { delete writer; }

taec_status taec_video_writer_get_info(const taec_video_writer* writer, taec_video_writer_info* out) {
  if (writer == nullptr || out == nullptr) return invalid("taec_video_writer_get_info: NULL argument");
  const taec::VideoWriterInfo& i = writer->writer->info();
  *out = taec_video_writer_info{i.container.c_str(), i.codec.c_str(), i.encoder.c_str(), i.crf, i.fragmented ? 1 : 0, i.frames};
  return report(taec::ok_status());
}

taec_status taec_video_reader_open(const char* path, taec_video_reader** out) {
  if (path == nullptr || out == nullptr) return invalid("taec_video_reader_open: NULL argument");
  *out = nullptr;
  return guarded(path, [&] {
    auto reader = taec::VideoReader::open(path);
    if (!reader.ok()) return report(reader.status());
    *out = new taec_video_reader{std::move(*reader)};
    return report(taec::ok_status());
  });
}

taec_status taec_video_reader_get_info(const taec_video_reader* reader, taec_video_info* out) {
  if (reader == nullptr || out == nullptr) return invalid("taec_video_reader_get_info: NULL argument");
  const taec::VideoInfo& i = reader->reader->info();
  *out = taec_video_info{i.width,          i.height,          i.fps_num,         i.fps_den,   i.frame_count,
                         i.duration_s,     i.container.c_str(), i.codec.c_str(), i.color.c_str(), i.rotation};
  return report(taec::ok_status());
}

taec_status taec_video_reader_read(taec_video_reader* reader, float* rgb, taec_layout layout, int* got) {
  if (reader == nullptr || rgb == nullptr || got == nullptr) return invalid("taec_video_reader_read: NULL argument");
  *got = 0;
  if (!one_of(layout, {TAEC_LAYOUT_NCHW, TAEC_LAYOUT_NHWC})) return invalid("taec_video_reader_read: invalid layout");
  return guarded([&] {
    auto frame = reader->reader->read(rgb, order_of(layout));
    if (!frame.ok()) return report(frame.status());
    *got = *frame ? 1 : 0;
    return report(taec::ok_status());
  });
}

void taec_video_reader_free(taec_video_reader* reader) { delete reader; }

}  // extern "C"

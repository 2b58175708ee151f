// Internal to src/io: what the video reader and writer share of FFmpeg's libraries (Debian's
// libavformat / libavcodec / libswscale / libavutil): owning pointers, error text, and the log.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}

#include <memory>
#include <string>

namespace taec::av {

struct FormatInputDeleter { void operator()(AVFormatContext* p) const { avformat_close_input(&p); } };
struct FormatOutputDeleter { void operator()(AVFormatContext* p) const { avformat_free_context(p); } };
struct CodecDeleter { void operator()(AVCodecContext* p) const { avcodec_free_context(&p); } };
struct FrameDeleter { void operator()(AVFrame* p) const { av_frame_free(&p); } };
struct PacketDeleter { void operator()(AVPacket* p) const { av_packet_free(&p); } };
struct SwsDeleter { void operator()(SwsContext* p) const { sws_freeContext(p); } };
// Frees the context and the buffer it holds now (FFmpeg may have replaced the one it was given).
struct IoDeleter {
  void operator()(AVIOContext* p) const {
    if (p) av_freep(&p->buffer);
    avio_context_free(&p);
  }
};

using InputPtr = std::unique_ptr<AVFormatContext, FormatInputDeleter>;
using OutputPtr = std::unique_ptr<AVFormatContext, FormatOutputDeleter>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;
using IoPtr = std::unique_ptr<AVIOContext, IoDeleter>;

// The AVIO write callback's buffer became const in libavformat 61 (FFmpeg 7).
#if LIBAVFORMAT_VERSION_MAJOR >= 61
using WriteBuffer = const uint8_t*;
#else
using WriteBuffer = uint8_t*;
#endif

// Bytes the AVIO contexts buffer between FFmpeg and the file.
constexpr int kIoBufferBytes = 1 << 16;

// Makes an AVIO context over `opaque` (FFmpeg owns the buffer from then on); throws bad_alloc.
IoPtr make_io(void* opaque, bool writable, int (*read)(void*, uint8_t*, int), int (*write)(void*, WriteBuffer, int),
              int64_t (*seek)(void*, int64_t, int));

// "Invalid data found when processing input", plus what FFmpeg last logged as an error on this
// thread ("; h264: no frame!"), which is often the only place the real reason is said.
std::string error_text(int averror);

// FFmpeg logs to stderr by default; taec keeps a library quiet. On first use this routes FFmpeg's
// log (process-wide: FFmpeg has one) into a per-thread "last error" that error_text() adds, and
// drops everything else. Called by every reader and writer before FFmpeg runs.
void take_over_log();

// Forgets what was logged on this thread (before an operation whose failure is reported).
void clear_logged_error();

}  // namespace taec::av

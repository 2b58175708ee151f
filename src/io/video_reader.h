// Reading a video file frame by frame through FFmpeg (docs/VIDEO.md "Video files"; the C API is
// include/taec/taec_video.h).
//
// - Only regular files (InputFile: a FIFO or device is refused by its type), and only the
//   containers MP4/MOV (and 3GP), Matroska/WebM and AVI, told by content, never by the name;
//   other formats are refused naming what FFmpeg thinks they are. The demuxer may open nothing
//   else (no external references, no URLs, no playlists).
// - Only these decoders run: H.264, HEVC, VP8, VP9, AV1, MPEG-4 Part 2, MPEG-1/2, Motion JPEG,
//   ProRes, FFV1. Damaged data is an error (decoders "explode" instead of concealing it), and so
//   is a file that ends before the frame count its index declares: nothing is filled in.
// - The first video stream is read (not a cover picture); other streams are skipped unread.
// - Frames come out as 8-bit RGB levels / 255: the stream's YUV matrix and range as tagged
//   (untagged: BT.709 from 720 lines up, else BT.601; limited range), converted by swscale with
//   accurate rounding and interpolated chroma. Transfer and primaries are not converted. A
//   rotation in the container's display matrix (phone videos) is applied in steps of 90 degrees,
//   as players do; mirroring is not.
// - Frames are returned in presentation order, as decoded, one per coded frame (no frame-rate
//   conversion). Every frame must have the first one's size.
// - Limits: 16384 px a side and 64 MP a frame (as images), checked before decoding, and at most
//   kMaxVideoFrames frames.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "io/rgb8.h"

namespace taec {

// 2^24 frames: a week at 25 fps. A header declaring more is refused as implausible.
constexpr int64_t kMaxVideoFrames = int64_t{1} << 24;

struct VideoInfo {
  int width = 0, height = 0;  // of every frame read (after the rotation)
  int fps_num = 0, fps_den = 1;  // the stream's average frame rate; 0/1 when the file does not say
  int64_t frame_count = 0;    // as the container's index says; 0 when it does not (WebM, MKV)
  double duration_s = 0;      // 0 when unknown
  std::string container;      // "mp4", "matroska", "webm", "avi"
  std::string codec;          // FFmpeg's codec name: "h264", "vp9", ...
  std::string color;          // what the conversion assumed, e.g. "bt709 limited" or "bt601 limited (untagged)"
  int rotation = 0;           // degrees clockwise applied: 0, 90, 180, 270
};

struct VideoReaderOptions {
  int threads = 0;  // decoder threads; 0 = FFmpeg's choice
};

class VideoReader {
 public:
  static Result<std::unique_ptr<VideoReader>> open(const std::string& path, const VideoReaderOptions& options = {});
  // The same from bytes in memory (the fuzzer); `name` stands for the file in messages.
  static Result<std::unique_ptr<VideoReader>> open_memory(const std::string& name, std::vector<uint8_t> bytes,
                                                          const VideoReaderOptions& options = {});
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  const VideoInfo& info() const;
  // The next frame into rgb (3 x width x height floats in `order`): true, or false at the end.
  // After an error every later call reports it again.
  Result<bool> read(float* rgb, RgbOrder order);
  int64_t frames_read() const;

  struct Impl;

 private:
  explicit VideoReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace taec

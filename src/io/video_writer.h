// Writing a video file frame by frame through FFmpeg (docs/VIDEO.md "Video files"; the C API is
// include/taec/taec_video.h).
//
// - Frames are 8-bit RGB (float frames rounded as the PNG writer rounds them, rgb8.h), converted
//   to yuv420p by swscale with the BT.709 matrix into limited range, and tagged so (primaries,
//   transfer, matrix, range), which is what players assume for HD video anyway. VP8 defines only
//   the BT.601 matrix, so VP8 gets that one (tagged so; primaries and transfer still BT.709).
// - The file goes through OutputFile (base/file_util.h): a regular or new file is written to a
//   temporary beside it and renamed into place by close(); destroying the writer without close()
//   removes the temporary. Links, FIFOs and character devices are written through.
// - MP4 and MOV need to seek back (the index goes at the end and points backwards); written
//   through to something that cannot seek (a FIFO, a pipe on stdout), MP4/MOV become fragmented
//   MP4 (an empty moov up front, then moof+mdat fragments at keyframes and at least every second),
//   which players and FFmpeg stream. Matroska/WebM stream as they are (no index, unknown segment size).
// - yuv420p halves the chroma in both directions, so width and height must be even: odd sizes are
//   refused at open, naming the size (crop or pad the frames yourself; taec never resizes).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "io/rgb8.h"

namespace taec {

struct VideoWriterOptions {
  int width = 0, height = 0;  // even, 2..16384, at most 64 MP
  int fps_num = 16, fps_den = 1;
  // "" = by the path's extension: .mp4/.m4v -> "mp4", .mov -> "mov", .mkv -> "mkv", .webm -> "webm".
  std::string container;
  // "" or "auto": H.264 (libx264) for mp4/mov/mkv, else MPEG-4 Part 2 when libx264 is missing;
  // VP9 (libvpx-vp9) for webm, else VP8. Or one of "h264", "vp9", "vp8", "mpeg4".
  std::string codec;
  // The codec's constant-quality setting on its own scale (lower = better): H.264 CRF 0-51,
  // VP8/VP9 CRF 0-63 (VP8: 4-63), MPEG-4 Part 2 quantizer 1-31. -1 = visually near-lossless
  // defaults: H.264 18, VP9 24, VP8 8, MPEG-4 2.
  int crf = -1;
  int threads = 0;  // encoder threads; 0 = FFmpeg's choice (about one per core)
};

struct VideoWriterInfo {
  std::string container;  // "mp4", "mov", "mkv", "webm"
  std::string codec;      // "h264", "vp9", "vp8", "mpeg4"
  std::string encoder;    // FFmpeg's encoder: "libx264", "libvpx-vp9", ...
  int crf = 0;            // the setting used
  bool fragmented = false;  // MP4/MOV written as fragments (the output cannot seek)
  int64_t frames = 0;     // written so far
};

class VideoWriter {
 public:
  static Result<std::unique_ptr<VideoWriter>> open(const std::string& path, const VideoWriterOptions& options);
  ~VideoWriter();  // without close(): aborts, removing the temporary file
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // One frame of options' size in `order`.
  Status write(const float* rgb, RgbOrder order);
  // Flushes the encoder, writes the trailer and moves the file into place. After a failure
  // anywhere the writer only reports it again; nothing is left at a regular-file path.
  Status close();
  const VideoWriterInfo& info() const;
  const std::string& path() const;

  struct Impl;

 private:
  explicit VideoWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace taec

// What the CLI's video commands share: the clip layouts of a latent file, a folder of frames
// written atomically, progress on long clips, and a frame rate per model family.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "taec/taec.hpp"

namespace taec_cli {

// A clip tensor's layout: [N,T,C,H,W] (taehv.py's) or [N,C,T,H,W] (Wan's and diffusers'). Rank 4
// is one clip without its batch axis.
enum class ClipLayout { ntchw, ncthw };
const char* clip_layout_name(ClipLayout layout);

// "auto", "ntchw", "ncthw" -> a layout from the option and the shape; `channels` is what the
// model takes per frame. Throws (naming `what`) where the shape does not fit or both readings do.
struct ClipShape {
  ClipLayout layout = ClipLayout::ntchw;
  int64_t batch = 1, time = 0, channels = 0, height = 0, width = 0;
};
ClipShape clip_shape(const std::string& layout_option, std::vector<int64_t> shape, int channels, const std::string& what);

// Element offset of (n, t, c, y=0, x=0) in a clip tensor of this shape.
uint64_t clip_offset(const ClipShape& s, int64_t n, int64_t t, int64_t c);

// Copies latent/frame (n, t) as one [C,H,W] item.
void gather_item(const ClipShape& s, const float* clip, int64_t n, int64_t t, float* item);

// PNG frames into a new or empty folder: written into a sibling temporary folder, which replaces
// the target only when every frame is there. Destroyed before commit(), it removes what it wrote.
class FrameFolder {
 public:
  explicit FrameFolder(const std::string& dir);
  ~FrameFolder();
  FrameFolder(const FrameFolder&) = delete;
  FrameFolder& operator=(const FrameFolder&) = delete;
  // frame_00000.png, frame_00001.png, … (what ffmpeg's `-i frame_%05d.png` reads).
  void write(int64_t index, const float* chw, int height, int width);
  void commit();

 private:
  std::string dir_, tmp_;
  std::vector<std::string> written_;
  bool replace_empty_ = false;
};

// Image files (PNG/JPEG, by extension) of a folder, in natural order (frame2 before frame10).
std::vector<std::string> list_frames(const std::string& dir);

// "latent 12/21, 45/81 frames, 11.8 frames/s" on stderr: rewritten in place on a terminal,
// otherwise a line every few seconds; nothing when quiet.
class Progress {
 public:
  Progress(std::string what, int64_t total_in, int64_t total_out, bool quiet);
  void update(int64_t done_in, int64_t done_out);
  void finish(int64_t done_out);

 private:
  std::string what_;
  int64_t total_in_, total_out_;
  bool quiet_, tty_;
  std::chrono::steady_clock::time_point start_, last_;
};

// A clip as a video file (taec_video.h): frames in [C,H,W] float, finalized by close(); destroyed
// before close(), it leaves nothing.
class VideoSink {
 public:
  VideoSink(const std::string& path, int height, int width, int fps);
  ~VideoSink();
  VideoSink(const VideoSink&) = delete;
  VideoSink& operator=(const VideoSink&) = delete;
  void write(const float* chw);
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A video file's frames as [C,H,W] float RGB in [0,1] (taec_video.h).
class VideoSource {
 public:
  explicit VideoSource(const std::string& path);
  ~VideoSource();
  VideoSource(const VideoSource&) = delete;
  VideoSource& operator=(const VideoSource&) = delete;
  int height() const;
  int width() const;
  // -1 where the container does not say.
  int64_t frame_count() const;
  // False at the end of the clip.
  bool read(float* chw);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Frames per second a model family's videos are made at (Wan 16, CogVideoX 8, the others 24).
int default_fps(const std::string& variant);

}  // namespace taec_cli

// `taec encode`'s options, shared by the image path (cmd_encode.cc) and the clip path
// (cmd_encode_video.cc).
#pragma once

#include <string>

#include "cli_util.h"

namespace taec_cli {

struct EncodeArgs {
  std::string weights;
  std::string input;
  std::string out;
  std::string variant;
  taec_precision precision = TAEC_PRECISION_FP32;
  std::string layout;  // images: nchw (default) | nhwc; clips: ntchw (default) | ncthw
  std::string dtype = "f32";
  int threads = 0;
  taec_tune tune = TAEC_TUNE_DEFAULT;
  int max_frames = 0;  // clips: 0 = all
  bool quiet = false;
};

// A video encoder over a video file, a folder of frames, or a clip tensor (.npy / tensor file).
int run_video_encode(const EncodeArgs& args, const taec::Model& model);

}  // namespace taec_cli

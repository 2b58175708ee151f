// `taec bench`'s options, shared by the image path (cmd_bench.cc) and the video path
// (cmd_bench_video.cc).
#pragma once

#include <string>
#include <vector>

#include "taec/taec.hpp"

namespace taec_cli {

struct BenchArgs {
  std::string weights;
  std::vector<int> sizes;
  int height = 0, width = 0;
  std::string precision = "fp32";
  std::string layout = "nhwc";
  std::string memory = "banded";
  std::string role = "decoder";
  std::string variant;
  int threads = 0;
  taec_tune tune = TAEC_TUNE_DEFAULT;
  int warmup = 1;
  int iters = 5;
  bool profile = false;
  std::string json;
  std::string input;  // .npy to use as the input instead of seeded random values
  std::string package;
  bool rss_table = false;
  bool no_share = false;
  bool shared_arena = false;
  std::vector<std::string> calibration_images;  // int8: photos to calibrate on
  std::string weight_storage = "none";
  std::string encoder;
  std::vector<int> latents;  // video: clip lengths, each measured in its own process
};

// Video models: clips of args.latents latents streamed through one plan per size.
int run_video_bench(const BenchArgs& args, const taec::Model& model, const std::vector<std::pair<int, int>>& shapes);

}  // namespace taec_cli

// `taec decode`'s options and the decoder it opens, shared by the image path (cmd_decode.cc) and
// the video path (cmd_decode_video.cc).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli_util.h"

namespace taec_cli {

struct DecodeArgs {
  std::string weights;
  std::string latent;
  std::string png;
  std::string npy;
  std::string video;
  int fps = 0;  // 0: the model family's
  std::string variant;
  taec_precision precision = TAEC_PRECISION_FP32;
  std::string layout = "auto";
  std::string npy_dtype = "f32";
  std::string input_form = "latent";  // or "flux2-packed"
  bool allow_nonfinite = false;
  bool verbose = false;
  bool quiet = false;
  int threads = 0;
  taec_tune tune = TAEC_TUNE_DEFAULT;
  std::string package;
  std::string size;  // with --package: "N" or "HxW"; default from the latent's shape
  std::vector<std::string> calibration_images;  // int8 from weights: photos to calibrate on
  std::string encoder;                          // int8: encoder for the calibration latents
};

// The decoder to run: a model (plans compiled on demand) or a package (plans loaded from it).
struct Decoder {
  std::unique_ptr<taec::Package> package;
  std::unique_ptr<taec::Model> model;
  taec_package_info package_info{};
};

Decoder open_decoder(const DecodeArgs& args);

// The clip path of `taec decode` (video models): streamed latent by latent.
int run_video_decode(const DecodeArgs& args, Decoder& decoder);

}  // namespace taec_cli

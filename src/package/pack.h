// `taec pack`: every requested size of one model compiled, validated against the fp32
// reference, and written as a package (docs/PACKAGE.md) sharing one weight.bin. Image TAEs and
// video decoders (the TAEHV family: a checkpoint holding both halves packs its decoder), whose
// plans are validated as streams over seeded random clips.
//
// Atomicity: everything is written into a sibling temporary (`<out>.partial-<pid>`), each file
// fsynced, manifest.json last; then the temporary replaces `out` in one rename (an atomic
// exchange when a previous package is there). A failed pack removes its temporary and leaves a
// previous package untouched; a killed one leaves at most a temporary without a valid manifest
// or a complete package, never a mix.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "package/package_format.h"
#include "plan/plan.h"
#include "quant/weight_quant.h"

namespace taec {

// How weight.bin stores the convolution weights: WeightQuant (quant/weight_quant.h). Loaders
// dequantize at load, so compute runs at `precision` either way.

struct PackOptions {
  std::string weights_path;  // the checkpoint
  std::string model_name;    // recorded in the manifest ("taef2"); derived from the file if empty
  std::string variant;       // "" = detected from the tensors; else checked against them
  std::vector<std::pair<int, int>> sizes;  // image height, width
  Layout layout = Layout::nhwc;
  IoDtype io_dtype = IoDtype::f16;
  Precision precision = Precision::bf16;
  WeightQuant weights = WeightQuant::none;
  std::string out;           // package directory, or zip file with `zip`
  bool zip = false;
  int threads = 0;
  // Validation inputs: seeded random latents plus latents of the photos in image_dir made by
  // the model's encoder (encoder_path; derived from weights_path if empty).
  int random_inputs = 2;
  uint64_t seed = 20240917;
  std::string image_dir;
  std::string encoder_path;
  // Video decoders: latents per validation clip, at least 3 (the second step is the first to
  // read a carried state, the third the first to read one rewritten by a step before).
  int clip_latents = 4;
  double tolerance = 0;  // 0: the precision's default for the variant
  TuneMode tune = TuneMode::fast;  // the plans' conv algorithms, recorded in their plan files
};

using ProgressFn = std::function<void(const std::string& line)>;

// Summary of what was written, for the caller to print.
struct PackResult {
  Manifest manifest;
  uint64_t package_bytes = 0;
};

Result<PackResult> pack_package(const PackOptions& options, const ProgressFn& progress);

// Bytes of the weight.bin a package of `model` with storage `q` holds (what pack writes).
Result<uint64_t> weight_file_bytes(const Model& model, WeightQuant q);

}  // namespace taec

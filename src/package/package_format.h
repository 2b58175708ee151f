// A package's two JSON formats (docs/PACKAGE.md): manifest.json, which lists every file with
// its SHA-256 and the per-size validation figures, and one plan file per size, which pins the
// compiled program (its canonical description's SHA-256) and the weight file it was built from.
// Parsers are strict (types, ranges, required keys) because packages come from the internet.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/model.h"
#include "plan/calibration.h"
#include "plan/plan.h"

namespace taec {

// Image packages are version 1. Video packages are version 2: version 1 plus the video fields
// (ManifestVideo, state bytes per size, the plan files' "stream"), so that a reader that knows only
// version 1 refuses them by number instead of loading plans it cannot check.
constexpr int kPackageFormatVersion = 1;
constexpr int kVideoPackageFormatVersion = 2;
constexpr const char* kManifestName = "manifest.json";
constexpr const char* kWeightFileName = "weight.bin";
constexpr uint64_t kMaxJsonBytes = 16u << 20;

struct FileDigest {
  uint64_t bytes = 0;
  std::string sha256;  // lower-case hex
};

// Error of a candidate plan against the fp32 reference on one validation input.
struct ErrorFigures {
  std::string input;  // e.g. "random_seed1", "image_coffee"
  double max_abs = 0, mae = 0, rmse = 0;
};

struct SizeValidation {
  double tolerance = 0;  // on max |err|
  bool passed = false;
  ErrorFigures worst;    // the largest of each figure over the inputs ("input" names the max_abs one)
  std::vector<ErrorFigures> inputs;
};

struct ManifestPlan {
  int height = 0, width = 0;
  std::string file;  // relative path, e.g. "plans/1024x1024.json"
  uint64_t state_bytes = 0;  // video: what a stream of this size holds between steps (0 for images)
  SizeValidation validation;
};

// What a video decoder package's plans are (format version 2): every field is checked against
// the model weight.bin builds, so a manifest cannot describe plans other than the ones it holds.
struct ManifestVideo {
  FrameRule frame_rule = FrameRule::standard;
  int time_factor = 0;       // frames per latent
  int patch = 1;             // pixel (un)shuffle of the frames
  bool super_decoder = false;
  int frames_in = 0, frames_out = 0;  // per step (a decoder: 1 latent -> time_factor raw frames)
  int clip_latents = 0;      // latents of each validation clip
};

struct Manifest {
  int format_version = kPackageFormatVersion;
  std::string taec_version;
  std::string model_name;  // as the user named it, e.g. "taef2"
  std::string variant;
  Role role = Role::decoder;
  int latent_channels = 0, spatial_factor = 8;
  std::string source_file, source_sha256;  // the checkpoint the package was made from
  Layout layout = Layout::nhwc;
  IoDtype io_dtype = IoDtype::f32;
  Precision precision = Precision::fp32;
  std::string weights = "none";  // how weight.bin stores conv weights: none, int8, palette8, palette4
  std::string reference;   // what the validation compared against
  std::string validation_inputs;  // how the inputs were made (seed, images)
  // Precision::int8 only: the activation ranges its plans were compiled and validated with.
  std::shared_ptr<const ActivationCalibration> calibration;
  bool is_video = false;  // format version 2
  ManifestVideo video;
  std::vector<ManifestPlan> plans;
  std::map<std::string, FileDigest> files;  // every file but the manifest itself
};

struct PlanFile {
  int format_version = kPackageFormatVersion;
  std::string taec_version;
  std::string variant;
  Role role = Role::decoder;
  std::string weight_file = kWeightFileName;
  FileDigest weights;  // of weight.bin: a plan refers to exactly one weight file
  PlanOptions options;  // threads and memory are run-time choices, not stored
  int band_pixels = 0;
  // One step's input and output, [frames, C, H, W] or [frames, H, W, C] (an image plan: 1 frame).
  int64_t input_shape[4] = {}, output_shape[4] = {};
  // Video plans (format version 2; options.winograd_tiles is stored too): frames per step and
  // the stream state between steps.
  bool is_video = false;
  int frames_in = 1, frames_out = 1;
  uint64_t state_bytes = 0;
  std::string kernels;         // kernel sets the program was lowered for at pack time
  std::string program_sha256;  // of Program::describe()
  uint64_t arena_bytes = 0, steps = 0;
  struct Op {
    std::string name, kind;
  };
  std::vector<Op> ops;  // for people reading the file; the digest is what is checked
};

std::string plan_file_name(int height, int width);  // "plans/1024x1024.json"

std::string serialize_manifest(const Manifest& m);
Result<Manifest> parse_manifest(const std::string& what, const uint8_t* data, size_t size);

std::string serialize_plan_file(const PlanFile& p);
Result<PlanFile> parse_plan_file(const std::string& what, const uint8_t* data, size_t size);

const char* layout_name(Layout l);
const char* io_dtype_name(IoDtype d);

}  // namespace taec

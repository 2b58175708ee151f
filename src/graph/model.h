// A loaded model: which member of the TAESD family it is, and its graph.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"
#include "io/checkpoint.h"

namespace taec {

enum class Role { decoder = 1, encoder = 2 };

const char* role_name(Role role);

// Which frames of a decoder's output a clip keeps, and how an encoder pads (video TAEs; see
// frame_rules.h). Image TAEs have FrameRule::image.
enum class FrameRule {
  image,
  standard,   // T latents -> t*(T-1)+1 frames: the first t-1 raw frames are dropped
  cogvideox,  // as standard, but every raw frame is kept when T is even
  h3,         // MiniMax H3: 17-frame encoder chunks, 20-frame decoder groups
};

struct VideoSpec {
  FrameRule rule = FrameRule::image;
  int patch = 1;        // pixel (un)shuffle factor between RGB frames and the network
  int time_factor = 1;  // frames per latent
  bool super_decoder = false;
};

struct TensorListing {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
};

struct Model {
  Role role = Role::decoder;
  std::string variant;       // "taef2", …
  std::string variant_note;  // ambiguity or override explanation, "" if none
  int latent_channels = 0;
  int image_channels = 3;
  int spatial_factor = 8;  // image pixels per latent pixel (8 x the patch size for video TAEs)
  VideoSpec video;
  std::string source_path;
  std::string source_format;
  std::string source_sha256;
  std::vector<TensorListing> tensors;  // as stored, in file order
  uint64_t parameter_count = 0;
  Graph graph;

  bool is_video() const { return video.rule != FrameRule::image; }
  int input_channels() const { return role == Role::decoder ? latent_channels : image_channels; }
  int output_channels() const { return role == Role::decoder ? image_channels : latent_channels; }
};

struct LoadRequest {
  std::string variant;  // "" = detect
  int role = 0;         // 0 = any, else Role
};

// Builds the model strictly from a checkpoint's tensors (names and shapes, never the file name).
Result<std::shared_ptr<Model>> build_model(const Checkpoint& checkpoint, const LoadRequest& request);

Result<std::shared_ptr<const Model>> load_model(const std::string& path, const LoadRequest& request);

}  // namespace taec

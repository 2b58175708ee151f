// The TAESD family, built from tensor names and shapes.
//
// Canonical names are those of taesd.py (madebyollin/taesd), where Encoder/Decoder are
// nn.Sequential and a Block is {conv: Sequential(conv3x3, ReLU, conv3x3, ReLU, conv3x3),
// skip: Identity, fuse: ReLU, pool (taef2 midblocks only): Sequential(conv1x1 64->256,
// GroupNorm(4, 256), ReLU, conv1x1 256->64)}. diffusers' AutoencoderTiny files
// ("decoder.layers.N…", "encoder.layers.N…") are mapped onto them: its DecoderTiny keeps the
// Clamp outside `layers`, so its indices are one lower.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "base/file_util.h"
#include "base/sha256.h"
#include "base/text.h"
#include "graph/graph_builder.h"
#include "graph/model.h"
#include "graph/variants.h"
#include "graph/zoo_taehv.h"

namespace taec {
namespace {

constexpr int kWidth = 64;   // every TAESD-family stage is 64 channels wide
constexpr int kPoolWidth = 4 * kWidth;
constexpr int kPoolGroups = 4;
constexpr float kGroupNormEps = 1e-5f;

// taesd.py Block(64, 64[, use_midblock_gn]).
int block(GraphBuilder& b, int x, const std::string& prefix, bool midblock_gn) {
  if (midblock_gn) {
    int p = b.conv(x, prefix + ".pool.0", kPoolWidth, 1, 1, false);
    p = b.group_norm(p, prefix + ".pool.1", kPoolGroups, kGroupNormEps);
    p = b.unary(OpKind::relu, p, prefix + ".pool.2");
    p = b.conv(p, prefix + ".pool.3", kWidth, 1, 1, false);
    x = b.add(x, p, prefix + ".pool_add");
  }
  int c = b.conv(x, prefix + ".conv.0", kWidth, 3, 1, true);
  c = b.unary(OpKind::relu, c, prefix + ".conv.1");
  c = b.conv(c, prefix + ".conv.2", kWidth, 3, 1, true);
  c = b.unary(OpKind::relu, c, prefix + ".conv.3");
  c = b.conv(c, prefix + ".conv.4", kWidth, 3, 1, true);
  int sum = b.add(c, x, prefix + ".skip_add");
  return b.unary(OpKind::relu, sum, prefix + ".fuse");
}

Graph build_decoder(GraphBuilder& b, int latent_channels, bool midblock_gn) {
  int x = b.input(latent_channels);
  x = b.clamp(x, "0", 3.0f);
  x = b.conv(x, "1", kWidth, 3, 1, true);
  x = b.unary(OpKind::relu, x, "2");
  // Three 2x stages: blocks, nearest upsample, bias-free conv; then one block and conv to RGB.
  const int stages[3][5] = {{3, 4, 5, 6, 7}, {8, 9, 10, 11, 12}, {13, 14, 15, 16, 17}};
  for (int s = 0; s < 3; ++s) {
    for (int i = 0; i < 3; ++i) x = block(b, x, std::to_string(stages[s][i]), midblock_gn && s == 0);
    x = b.unary(OpKind::upsample_nearest2x, x, std::to_string(stages[s][3]));
    x = b.conv(x, std::to_string(stages[s][4]), kWidth, 3, 1, false);
  }
  x = block(b, x, "18", false);
  b.conv(x, "19", 3, 3, 1, true);
  return b.take_graph();
}

Graph build_encoder(GraphBuilder& b, int latent_channels, bool midblock_gn) {
  int x = b.input(3);
  x = b.conv(x, "0", kWidth, 3, 1, true);
  x = block(b, x, "1", false);
  // Three 2x stages: stride-2 bias-free conv, then three blocks (GroupNorm pool in the last).
  for (int s = 0; s < 3; ++s) {
    int base = 2 + 4 * s;
    x = b.conv(x, std::to_string(base), kWidth, 3, 2, false);
    for (int i = 1; i <= 3; ++i) x = block(b, x, std::to_string(base + i), midblock_gn && s == 2);
  }
  b.conv(x, "14", latent_channels, 3, 1, true);
  return b.take_graph();
}

// Latent channels from the first decoder conv (in) or last encoder conv (out); GroupNorm "pool"
// branches from their tensors. Both before strict matching, so that errors can name a variant.
struct Shape {
  int latent_channels = 0;
  bool midblock_gn = false;
};

Result<Shape> probe_shape(const NamedTensors& named, const std::string& path) {
  const char* conv = named.role == Role::decoder ? "1.weight" : "14.weight";
  auto it = named.by_name.find(conv);
  if (it == named.by_name.end() || it->second->shape.size() != 4) {
    return Status(Code::shape, path + ": " + role_name(named.role) + " tensor " + conv +
                                   " is missing or not a 4-d convolution weight");
  }
  const auto& shape = it->second->shape;
  int64_t channels = named.role == Role::decoder ? shape[1] : shape[0];
  if (channels <= 0 || channels > 4096) {
    return Status(Code::shape, path + ": implausible latent channel count " + std::to_string(channels));
  }
  Shape s;
  s.latent_channels = static_cast<int>(channels);
  for (const auto& [name, raw] : named.by_name) s.midblock_gn |= name.find(".pool.") != std::string::npos;
  return s;
}

}  // namespace

const char* role_name(Role role) { return role == Role::decoder ? "decoder" : "encoder"; }

Result<std::shared_ptr<Model>> build_model(const Checkpoint& ckpt, const LoadRequest& request) {
  if (looks_like_taehv(ckpt)) return build_taehv_model(ckpt, request);
  TAEC_ASSIGN_OR_RETURN(NamedTensors named, normalize_names(ckpt, request.role));
  TAEC_ASSIGN_OR_RETURN(Shape shape, probe_shape(named, ckpt.path));

  auto model = std::make_shared<Model>();
  model->role = named.role;
  model->latent_channels = shape.latent_channels;
  model->source_path = ckpt.path;
  model->source_format = ckpt.format;
  TAEC_ASSIGN_OR_RETURN(VariantChoice choice,
                        choose_variant(request.variant, shape.latent_channels, shape.midblock_gn));
  model->variant = choice.spec->name;
  model->variant_note = choice.note;

  GraphBuilder builder(named);
  model->graph = named.role == Role::decoder
                     ? build_decoder(builder, shape.latent_channels, choice.spec->midblock_gn)
                     : build_encoder(builder, shape.latent_channels, choice.spec->midblock_gn);
  TAEC_RETURN_IF_ERROR(builder.finish(ckpt.path + ": " + model->variant + " " + role_name(named.role)));

  for (const auto& t : ckpt.tensors) {
    model->tensors.push_back({t.name, t.dtype, t.shape});
  }
  for (const auto& w : model->graph.weights) model->parameter_count += w.data.size();
  return model;
}

Result<std::shared_ptr<const Model>> load_model(const std::string& path, const LoadRequest& request) {
  TAEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(path, CheckpointLimits::kMaxFileBytes));
  TAEC_ASSIGN_OR_RETURN(Checkpoint ckpt, parse_checkpoint(path, bytes));
  TAEC_ASSIGN_OR_RETURN(std::shared_ptr<Model> model, build_model(ckpt, request));
  model->source_sha256 = sha256_hex(bytes.data(), bytes.size());
  return std::shared_ptr<const Model>(std::move(model));
}

}  // namespace taec

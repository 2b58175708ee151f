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
#include "graph/model.h"
#include "graph/variants.h"

namespace taec {
namespace {

constexpr int kWidth = 64;   // every TAESD-family stage is 64 channels wide
constexpr int kPoolWidth = 4 * kWidth;
constexpr int kPoolGroups = 4;
constexpr float kGroupNormEps = 1e-5f;

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string list_names(const std::vector<std::string>& names) {
  std::string s;
  const size_t shown = std::min<size_t>(names.size(), 8);
  for (size_t i = 0; i < shown; ++i) s += (i ? ", " : "") + printable(names[i]);
  if (names.size() > shown) s += ", … (" + std::to_string(names.size() - shown) + " more)";
  return s;
}

// Canonical name -> stored tensor, after undoing a container prefix and diffusers numbering.
struct NamedTensors {
  Role role = Role::decoder;
  std::map<std::string, const RawTensor*> by_name;
  std::map<std::string, std::string> stored_name;  // canonical -> as in the file
};

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

Result<NamedTensors> normalize_names(const Checkpoint& ckpt, int requested_role) {
  bool has_decoder = false, has_encoder = false;
  for (const auto& t : ckpt.tensors) {
    has_decoder |= starts_with(t.name, "decoder.");
    has_encoder |= starts_with(t.name, "encoder.");
  }
  NamedTensors out;
  std::string prefix;
  if (has_decoder || has_encoder) {
    if (has_decoder && has_encoder && requested_role == 0) {
      return Status(Code::invalid_argument,
                    ckpt.path + ": holds both an encoder and a decoder; choose one (role)");
    }
    bool decoder = requested_role == 0 ? has_decoder : requested_role == static_cast<int>(Role::decoder);
    if (decoder ? !has_decoder : !has_encoder) {
      return Status(Code::invalid_argument, ckpt.path + ": holds no " + (decoder ? "decoder" : "encoder"));
    }
    out.role = decoder ? Role::decoder : Role::encoder;
    prefix = decoder ? "decoder." : "encoder.";
  }
  for (const auto& t : ckpt.tensors) {
    if (!prefix.empty() && !starts_with(t.name, prefix)) {
      if (starts_with(t.name, "decoder.") || starts_with(t.name, "encoder.")) continue;  // the other half
    }
    std::string name = t.name.substr(starts_with(t.name, prefix) ? prefix.size() : 0);
    if (!prefix.empty() && starts_with(name, "layers.")) {
      name = name.substr(7);
      if (out.role == Role::decoder) {  // diffusers DecoderTiny: layers[i] is taesd.py's [i + 1]
        size_t dot = name.find('.');
        bool numeric = dot != std::string::npos && dot > 0 && dot < 4 &&
                       name.find_first_not_of("0123456789") == dot;
        if (numeric) name = std::to_string(std::stoi(name.substr(0, dot)) + 1) + name.substr(dot);
      }
    }
    if (auto seen = out.stored_name.find(name); seen != out.stored_name.end()) {
      return Status(Code::format, ckpt.path + ": tensors \"" + printable(seen->second) + "\" and \"" + printable(t.name) +
                                      "\" are the same parameter (" + printable(name) + ") under two namings; refusing to pick one");
    }
    out.by_name[name] = &t;
    out.stored_name[name] = t.name;
  }
  if (prefix.empty()) {
    // taesd.py: the encoder starts with conv `0`, the decoder with Clamp (no tensors) then conv `1`.
    bool encoder = out.by_name.count("0.weight") > 0;
    bool decoder = !encoder && out.by_name.count("1.weight") > 0;
    if (!encoder && !decoder) {
      return Status(Code::unsupported, ckpt.path + ": tensor names match no TAESD-family encoder or "
                                                   "decoder (no first convolution \"0.weight\" or \"1.weight\")");
    }
    out.role = encoder ? Role::encoder : Role::decoder;
    if (requested_role != 0 && requested_role != static_cast<int>(out.role)) {
      return Status(Code::invalid_argument, ckpt.path + ": is a " + role_name(out.role) + ", not a " +
                                                role_name(static_cast<Role>(requested_role)));
    }
  }
  return out;
}

// Takes tensors by canonical name with an expected shape; collects every mismatch so one error
// lists all of them.
class Builder {
 public:
  explicit Builder(const NamedTensors& named) : named_(named) {}

  int take(const std::string& name, std::vector<int64_t> shape) {
    auto it = named_.by_name.find(name);
    if (it == named_.by_name.end()) {
      missing_.push_back(name + " " + shape_text(shape));
      return -1;
    }
    used_.insert(name);
    const RawTensor& raw = *it->second;
    if (raw.shape != shape) {
      misshaped_.push_back(named_.stored_name.at(name) + " is " + shape_text(raw.shape) +
                           ", expected " + shape_text(shape));
      return -1;
    }
    std::vector<float> data = raw.to_float();
    const size_t nonfinite = std::count_if(data.begin(), data.end(), [](float v) { return !std::isfinite(v); });
    if (nonfinite > 0) {
      nonfinite_.push_back(named_.stored_name.at(name) + " (" + std::to_string(nonfinite) + " of " + std::to_string(data.size()) + ")");
      return -1;
    }
    graph_.weights.push_back({named_.stored_name.at(name), raw.shape, std::move(data)});
    return static_cast<int>(graph_.weights.size()) - 1;
  }

  int add_node(Node node) {
    graph_.nodes.push_back(std::move(node));
    return static_cast<int>(graph_.nodes.size()) - 1;
  }

  int input(int channels) {
    Node n;
    n.op = OpKind::input;
    n.name = "input";
    n.channels = channels;
    return add_node(n);
  }

  int unary(OpKind op, int x, const std::string& name) {
    Node n;
    n.op = op;
    n.inputs = {x};
    n.name = name;
    n.channels = graph_.nodes[x].channels;
    return add_node(n);
  }

  int add(int a, int b, const std::string& name) {
    Node n;
    n.op = OpKind::add;
    n.inputs = {a, b};
    n.name = name;
    n.channels = graph_.nodes[a].channels;
    return add_node(n);
  }

  int conv(int x, const std::string& prefix, int cout, int kernel, int stride, bool bias) {
    Node n;
    n.op = OpKind::conv2d;
    n.inputs = {x};
    n.name = prefix;
    n.in_channels = graph_.nodes[x].channels;
    n.channels = cout;
    n.kernel = kernel;
    n.stride = stride;
    n.pad = kernel / 2;
    n.weight = take(prefix + ".weight", {cout, n.in_channels, kernel, kernel});
    if (bias) n.bias = take(prefix + ".bias", {cout});
    return add_node(n);
  }

  int group_norm(int x, const std::string& prefix, int groups) {
    Node n;
    n.op = OpKind::group_norm;
    n.inputs = {x};
    n.name = prefix;
    n.channels = graph_.nodes[x].channels;
    n.groups = groups;
    n.eps = kGroupNormEps;
    n.weight = take(prefix + ".weight", {n.channels});
    n.bias = take(prefix + ".bias", {n.channels});
    return add_node(n);
  }

  // taesd.py Block(64, 64[, use_midblock_gn]).
  int block(int x, const std::string& prefix, bool midblock_gn) {
    if (midblock_gn) {
      int p = conv(x, prefix + ".pool.0", kPoolWidth, 1, 1, false);
      p = group_norm(p, prefix + ".pool.1", kPoolGroups);
      p = unary(OpKind::relu, p, prefix + ".pool.2");
      p = conv(p, prefix + ".pool.3", kWidth, 1, 1, false);
      x = add(x, p, prefix + ".pool_add");
    }
    int c = conv(x, prefix + ".conv.0", kWidth, 3, 1, true);
    c = unary(OpKind::relu, c, prefix + ".conv.1");
    c = conv(c, prefix + ".conv.2", kWidth, 3, 1, true);
    c = unary(OpKind::relu, c, prefix + ".conv.3");
    c = conv(c, prefix + ".conv.4", kWidth, 3, 1, true);
    int sum = add(c, x, prefix + ".skip_add");
    return unary(OpKind::relu, sum, prefix + ".fuse");
  }

  Status finish(const std::string& what) {
    std::vector<std::string> unexpected;
    for (const auto& [name, raw] : named_.by_name) {
      if (!used_.count(name)) unexpected.push_back(named_.stored_name.at(name) + " " + shape_text(raw->shape));
    }
    if (!nonfinite_.empty()) {
      return Status(Code::format, what + ": NaN or Inf in the weights: " + list_names(nonfinite_) +
                                      " (a corrupt or diverged checkpoint; it would decode to garbage)");
    }
    if (missing_.empty() && misshaped_.empty() && unexpected.empty()) return ok_status();
    std::string msg = what + " does not match the architecture:";
    if (!missing_.empty()) msg += " missing tensors: " + list_names(missing_) + ";";
    if (!misshaped_.empty()) msg += " wrong shapes: " + list_names(misshaped_) + ";";
    if (!unexpected.empty()) msg += " unexpected tensors: " + list_names(unexpected) + ";";
    msg.pop_back();
    return Status(Code::shape, msg);
  }

  void set_clamp_limit(int node, float limit) { graph_.nodes[node].limit = limit; }

  Graph take_graph() { return std::move(graph_); }

 private:
  const NamedTensors& named_;
  Graph graph_;
  std::set<std::string> used_;
  std::vector<std::string> missing_, misshaped_, nonfinite_;
};

Graph build_decoder(Builder& b, int latent_channels, bool midblock_gn) {
  int x = b.input(latent_channels);
  x = b.unary(OpKind::tanh_clamp, x, "0");
  b.set_clamp_limit(x, 3.0f);
  x = b.conv(x, "1", kWidth, 3, 1, true);
  x = b.unary(OpKind::relu, x, "2");
  // Three 2x stages: blocks, nearest upsample, bias-free conv; then one block and conv to RGB.
  const int stages[3][5] = {{3, 4, 5, 6, 7}, {8, 9, 10, 11, 12}, {13, 14, 15, 16, 17}};
  for (int s = 0; s < 3; ++s) {
    for (int i = 0; i < 3; ++i) x = b.block(x, std::to_string(stages[s][i]), midblock_gn && s == 0);
    x = b.unary(OpKind::upsample_nearest2x, x, std::to_string(stages[s][3]));
    x = b.conv(x, std::to_string(stages[s][4]), kWidth, 3, 1, false);
  }
  x = b.block(x, "18", false);
  b.conv(x, "19", 3, 3, 1, true);
  return b.take_graph();
}

Graph build_encoder(Builder& b, int latent_channels, bool midblock_gn) {
  int x = b.input(3);
  x = b.conv(x, "0", kWidth, 3, 1, true);
  x = b.block(x, "1", false);
  // Three 2x stages: stride-2 bias-free conv, then three blocks (GroupNorm pool in the last).
  for (int s = 0; s < 3; ++s) {
    int base = 2 + 4 * s;
    x = b.conv(x, std::to_string(base), kWidth, 3, 2, false);
    for (int i = 1; i <= 3; ++i) x = b.block(x, std::to_string(base + i), midblock_gn && s == 2);
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

  Builder builder(named);
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

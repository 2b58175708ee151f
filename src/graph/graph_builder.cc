#include "graph/graph_builder.h"

#include <algorithm>
#include <cmath>

#include "base/text.h"

namespace taec {

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
std::vector<int64_t> GraphBuilder::shape_of(const std::string& name) const {
  auto it = named_.by_name.find(name);
  return it == named_.by_name.end() ? std::vector<int64_t>{} : it->second->shape;
}

int GraphBuilder::take(const std::string& name, std::vector<int64_t> shape) {
  auto it = named_.by_name.find(name);
  if (it == named_.by_name.end()) {
    missing_.push_back(name + " " + shape_text(shape));
    return -1;
  }
  used_.insert(name);
  const RawTensor& raw = *it->second;
  if (raw.shape != shape) {
    misshaped_.push_back(named_.stored_name.at(name) + " is " + shape_text(raw.shape) + ", expected " + shape_text(shape));
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

int GraphBuilder::add_node(Node node) {
  graph_.nodes.push_back(std::move(node));
  return static_cast<int>(graph_.nodes.size()) - 1;
}

int GraphBuilder::input(int channels) {
  Node n;
  n.op = OpKind::input;
  n.name = "input";
  n.channels = channels;
  return add_node(n);
}

int GraphBuilder::unary(OpKind op, int x, const std::string& name) {
  Node n;
  n.op = op;
  n.inputs = {x};
  n.name = name;
  n.channels = graph_.nodes[x].channels;
  return add_node(n);
}

int GraphBuilder::add(int a, int b, const std::string& name) {
  Node n;
  n.op = OpKind::add;
  n.inputs = {a, b};
  n.name = name;
  n.channels = graph_.nodes[a].channels;
  return add_node(n);
}

int GraphBuilder::conv(int x, const std::string& prefix, int cout, int kernel, int stride, bool bias, int groups) {
  Node n;
  n.op = OpKind::conv2d;
  n.inputs = {x};
  n.name = prefix;
  n.in_channels = graph_.nodes[x].channels;
  n.channels = cout;
  n.kernel = kernel;
  n.stride = stride;
  n.pad = kernel / 2;
  n.groups = groups;
  n.weight = take(prefix + ".weight", {cout, n.in_channels / groups, kernel, kernel});
  if (bias) n.bias = take(prefix + ".bias", {cout});
  return add_node(n);
}

int GraphBuilder::group_norm(int x, const std::string& prefix, int groups, float eps) {
  Node n;
  n.op = OpKind::group_norm;
  n.inputs = {x};
  n.name = prefix;
  n.channels = graph_.nodes[x].channels;
  n.groups = groups;
  n.eps = eps;
  n.weight = take(prefix + ".weight", {n.channels});
  n.bias = take(prefix + ".bias", {n.channels});
  return add_node(n);
}

int GraphBuilder::clamp(int x, const std::string& name, float limit) {
  const int n = unary(OpKind::tanh_clamp, x, name);
  graph_.nodes[n].limit = limit;
  return n;
}

int GraphBuilder::concat_past(int x, const std::string& name) {
  const int n = unary(OpKind::concat_past, x, name);
  graph_.nodes[n].channels *= 2;
  return n;
}

int GraphBuilder::tgrow(int x, const std::string& prefix, int time_stride) {
  Node n;
  n.op = OpKind::tgrow;
  n.inputs = {x};
  n.name = prefix;
  n.channels = n.in_channels = graph_.nodes[x].channels;
  n.kernel = 1;
  n.time_stride = time_stride;
  n.weight = take(prefix + ".weight", {int64_t{time_stride} * n.channels, n.channels, 1, 1});
  return add_node(n);
}

int GraphBuilder::tpool(int x, const std::string& prefix, int time_stride) {
  Node n;
  n.op = OpKind::tpool;
  n.inputs = {x};
  n.name = prefix;
  n.channels = graph_.nodes[x].channels;
  n.in_channels = n.channels * time_stride;
  n.kernel = 1;
  n.time_stride = time_stride;
  n.weight = take(prefix + ".weight", {n.channels, n.in_channels, 1, 1});
  return add_node(n);
}

int GraphBuilder::pixel_shuffle(int x, const std::string& name, int factor) {
  const int n = unary(OpKind::pixel_shuffle, x, name);
  graph_.nodes[n].factor = factor;
  graph_.nodes[n].channels /= factor * factor;
  return n;
}

int GraphBuilder::pixel_unshuffle(int x, const std::string& name, int factor) {
  const int n = unary(OpKind::pixel_unshuffle, x, name);
  graph_.nodes[n].factor = factor;
  graph_.nodes[n].channels *= factor * factor;
  return n;
}

Status GraphBuilder::finish(const std::string& what) {
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

}  // namespace taec

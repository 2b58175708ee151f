// Building a Graph from checkpoint tensors, shared by the model families (zoo.cc: the image TAEs,
// zoo_taehv.cc: the video TAEs). Names are canonical (a container prefix and diffusers numbering
// undone); the builder takes tensors by canonical name with an expected shape and collects every
// mismatch, so one error lists all of them; NaN or Inf in a weight is refused.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"
#include "graph/model.h"
#include "io/checkpoint.h"

namespace taec {

std::string shape_text(const std::vector<int64_t>& shape);
// Up to 8 names, escaped, then "… (N more)".
std::string list_names(const std::vector<std::string>& names);
bool starts_with(const std::string& s, const std::string& prefix);

// Canonical name -> stored tensor, after undoing a container prefix and diffusers numbering.
struct NamedTensors {
  Role role = Role::decoder;
  std::map<std::string, const RawTensor*> by_name;
  std::map<std::string, std::string> stored_name;  // canonical -> as in the file
};

// A file holding both halves ("decoder." / "encoder." prefixes) needs `requested_role` (0 = any).
Result<NamedTensors> normalize_names(const Checkpoint& ckpt, int requested_role);

class GraphBuilder {
 public:
  explicit GraphBuilder(const NamedTensors& named) : named_(named) {}

  // The tensor's shape if present (for probing strides before taking), else empty.
  std::vector<int64_t> shape_of(const std::string& name) const;
  int take(const std::string& name, std::vector<int64_t> shape);
  int add_node(Node node);
  int input(int channels);
  int unary(OpKind op, int x, const std::string& name);
  int add(int a, int b, const std::string& name);
  // Square kernel, padding kernel / 2; groups > 1 for grouped (depthwise) convolutions.
  int conv(int x, const std::string& prefix, int cout, int kernel, int stride, bool bias, int groups = 1);
  int group_norm(int x, const std::string& prefix, int groups, float eps);
  int clamp(int x, const std::string& name, float limit);
  int concat_past(int x, const std::string& name);
  // tgrow / tpool with the time stride their weight ("<prefix>.weight") has.
  int tgrow(int x, const std::string& prefix, int time_stride);
  int tpool(int x, const std::string& prefix, int time_stride);
  int pixel_shuffle(int x, const std::string& name, int factor);
  int pixel_unshuffle(int x, const std::string& name, int factor);
  int channels(int node) const { return graph_.nodes[node].channels; }

  Status finish(const std::string& what);
  Graph take_graph() { return std::move(graph_); }

 private:
  const NamedTensors& named_;
  Graph graph_;
  std::set<std::string> used_;
  std::vector<std::string> missing_, misshaped_, nonfinite_;
};

}  // namespace taec

// The network as a small SSA graph: node i produces value i, node 0 is the input, the last node is
// the output, nodes are in topological order. Weights are fp32 (upcast from the checkpoint).
// This IR is what the reference engine interprets and what plan compilers lower and fuse.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace taec {

enum class OpKind {
  input,
  conv2d,              // square kernel, zero padding, optional bias
  relu,
  tanh_clamp,          // tanh(x / limit) * limit
  upsample_nearest2x,
  add,
  group_norm,          // per-group mean/variance over channels-in-group x H x W, then affine
};

const char* op_kind_name(OpKind op);

struct Weight {
  std::string name;  // checkpoint name, for messages
  std::vector<int64_t> shape;
  std::vector<float> data;
};

struct Node {
  OpKind op = OpKind::input;
  std::vector<int> inputs;
  std::string name;  // checkpoint prefix ("3.conv.0") or a descriptive label
  int channels = 0;  // channels of the value this node produces
  // conv2d
  int in_channels = 0, kernel = 0, stride = 1, pad = 0;
  int weight = -1, bias = -1;  // indices into Graph::weights; for group_norm: gamma, beta
  // group_norm
  int groups = 0;
  float eps = 0;
  // tanh_clamp
  float limit = 0;
};

struct ValueShape {
  int channels = 0, height = 0, width = 0;
};

struct Graph {
  std::vector<Weight> weights;
  std::vector<Node> nodes;

  int output() const { return static_cast<int>(nodes.size()) - 1; }
  // Per-node output shapes for an input of height x width (batch 1).
  std::vector<ValueShape> infer_shapes(int height, int width) const;
  // Index of the last node reading each value (the node itself if nothing reads it).
  std::vector<int> last_uses() const;
};

}  // namespace taec

// The network as a small SSA graph: node i produces value i, node 0 is the input, the last node is
// the output, nodes are in topological order. Weights are fp32 (upcast from the checkpoint).
// This IR is what the reference engine interprets and what plan compilers lower and fuse.
//
// Time (video TAEs): a value is one frame of a sequence. Most ops map frame t of their input to
// frame t of their output. Three ops involve other frames:
//   concat_past  [x_t, x_{t-1}] on channels (zeros for t = 0): a MemBlock's memory;
//   tgrow(s)     a 1x1 conv C -> s*C whose channel groups [j*C, (j+1)*C) become s consecutive
//                output frames (earliest first): frame rate x s;
//   tpool(s)     s consecutive input frames concatenated on channels (earliest first), then a
//                1x1 conv s*C -> C: frame rate / s.
// A graph is run in steps: each step takes `frames_in` input frames and makes `frames_out`
// output frames (temporal_info); an image TAE is the case 1 -> 1 without concat_past. The graph
// must be a chain of segments separated by tgrow/tpool nodes (every TAE is), which is what lets
// the reference run it frame by frame in causal order.
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
  concat_past,         // [x_t, x_{t-1}] (zeros before the first frame): 2C channels
  tgrow,               // 1x1 conv C -> s*C, channel group j = output frame j of s (no bias)
  tpool,               // s frames concatenated on channels -> 1x1 conv s*C -> C (no bias)
  pixel_shuffle,       // C*f*f -> C at f x the resolution (torch.nn.functional.pixel_shuffle)
  pixel_unshuffle,     // C at f x the resolution -> C*f*f (its inverse)
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
  // conv2d: channel groups (in_channels = groups for a depthwise conv; 0 or 1: dense);
  // group_norm: normalization groups
  int groups = 0;
  // tgrow / tpool: frames per group; pixel_shuffle / pixel_unshuffle: spatial factor
  int time_stride = 1, factor = 1;
  float eps = 0;
  // tanh_clamp
  float limit = 0;
};

struct ValueShape {
  int channels = 0, height = 0, width = 0;
};

// How a graph runs in time. A segment is a run of nodes at one frame rate: it starts at the input
// or at a tgrow/tpool node and ends before the next one (or at the output).
struct Segment {
  int begin = 0, end = 0;  // node indices [begin, end)
  int per_step = 1;        // frames of this segment per step
};

struct TemporalInfo {
  int frames_in = 1, frames_out = 1;  // per step
  std::vector<Segment> segments;
  std::vector<int> per_step;  // per node: its frames per step
  std::vector<int> segment_of;  // per node
  bool stateful = false;        // has concat_past: frames depend on earlier steps
};

struct Graph {
  std::vector<Weight> weights;
  std::vector<Node> nodes;

  int output() const { return static_cast<int>(nodes.size()) - 1; }
  // Per-node output shapes (one frame) for an input of height x width (batch 1).
  std::vector<ValueShape> infer_shapes(int height, int width) const;
  // Index of the last node reading each value (the node itself if nothing reads it).
  std::vector<int> last_uses() const;
  // The step structure; an error for a graph whose time-changing nodes do not split it into a
  // chain of segments (a builder bug, not user input).
  std::string temporal_error() const;  // "" if the graph is well formed in time
  TemporalInfo temporal() const;       // requires temporal_error().empty()
};

}  // namespace taec

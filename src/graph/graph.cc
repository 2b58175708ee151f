#include "graph/graph.h"

namespace taec {

const char* op_kind_name(OpKind op) {
  switch (op) {
    case OpKind::input: return "input";
    case OpKind::conv2d: return "conv2d";
    case OpKind::relu: return "relu";
    case OpKind::tanh_clamp: return "tanh_clamp";
    case OpKind::upsample_nearest2x: return "upsample_nearest2x";
    case OpKind::add: return "add";
    case OpKind::group_norm: return "group_norm";
    case OpKind::concat_past: return "concat_past";
    case OpKind::tgrow: return "tgrow";
    case OpKind::tpool: return "tpool";
    case OpKind::pixel_shuffle: return "pixel_shuffle";
    case OpKind::pixel_unshuffle: return "pixel_unshuffle";
  }
  return "?";
}

std::vector<ValueShape> Graph::infer_shapes(int height, int width) const {
  std::vector<ValueShape> shapes(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    ValueShape s = n.inputs.empty() ? ValueShape{n.channels, height, width} : shapes[n.inputs[0]];
    s.channels = n.channels;
    if (n.op == OpKind::conv2d) {
      s.height = (s.height + 2 * n.pad - n.kernel) / n.stride + 1;
      s.width = (s.width + 2 * n.pad - n.kernel) / n.stride + 1;
    } else if (n.op == OpKind::upsample_nearest2x) {
      s.height *= 2;
      s.width *= 2;
    } else if (n.op == OpKind::pixel_shuffle) {
      s.height *= n.factor;
      s.width *= n.factor;
    } else if (n.op == OpKind::pixel_unshuffle) {
      s.height /= n.factor;
      s.width /= n.factor;
    }
    shapes[i] = s;
  }
  return shapes;
}

std::vector<int> Graph::last_uses() const {
  std::vector<int> last(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    last[i] = static_cast<int>(i);
    for (int in : nodes[i].inputs) last[in] = static_cast<int>(i);
  }
  return last;
}

namespace {

bool changes_rate(OpKind op) { return op == OpKind::tgrow || op == OpKind::tpool; }

}  // namespace

std::string Graph::temporal_error() const {
  if (nodes.empty() || nodes[0].op != OpKind::input) return "node 0 is not the input";
  int begin = 0;
  for (size_t i = 1; i <= nodes.size(); ++i) {
    if (i < nodes.size() && !changes_rate(nodes[i].op)) continue;
    for (int n = begin; n < static_cast<int>(i); ++n) {  // a segment reads only itself
      for (int in : nodes[n].inputs) {
        if (in < begin && !(n == begin && in == begin - 1)) {
          return "node " + std::to_string(n) + " (" + nodes[n].name + ") reads node " + std::to_string(in) +
                 " of an earlier segment";
        }
      }
    }
    if (i < nodes.size()) {
      const Node& b = nodes[i];
      if (b.inputs.size() != 1 || b.inputs[0] != static_cast<int>(i) - 1 || b.time_stride < 1) {
        return "node " + std::to_string(i) + " (" + b.name + ") does not follow the end of its segment";
      }
    }
    begin = static_cast<int>(i);
  }
  return "";
}

TemporalInfo Graph::temporal() const {
  TemporalInfo t;
  // Frames per step: a step consumes the product of the tpool strides, so every tpool fills.
  for (const Node& n : nodes) {
    if (n.op == OpKind::tpool) t.frames_in *= n.time_stride;
  }
  int rate = t.frames_in;
  t.per_step.resize(nodes.size());
  t.segment_of.resize(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (i == 0 || changes_rate(n.op)) {
      if (n.op == OpKind::tgrow) rate *= n.time_stride;
      if (n.op == OpKind::tpool) rate /= n.time_stride;
      if (!t.segments.empty()) t.segments.back().end = static_cast<int>(i);
      t.segments.push_back({static_cast<int>(i), static_cast<int>(nodes.size()), rate});
    }
    t.per_step[i] = rate;
    t.segment_of[i] = static_cast<int>(t.segments.size()) - 1;
    t.stateful |= n.op == OpKind::concat_past;
  }
  t.frames_out = rate;
  return t;
}

}  // namespace taec

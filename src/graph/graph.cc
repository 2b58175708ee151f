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

}  // namespace taec

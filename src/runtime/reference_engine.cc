#include "runtime/reference_engine.h"

#include <cstring>
#include <vector>

#include "kernels/reference/ops.h"

namespace taec {

void run_graph_reference(const Graph& graph, int height, int width, const float* input, float* output) {
  const std::vector<ValueShape> shapes = graph.infer_shapes(height, width);
  const std::vector<int> last_use = graph.last_uses();
  std::vector<std::vector<float>> values(graph.nodes.size());
  auto elems = [&](int i) {
    return static_cast<size_t>(shapes[i].channels) * shapes[i].height * shapes[i].width;
  };
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    std::vector<float>& out = values[i];
    out.resize(elems(static_cast<int>(i)));
    const float* x = n.inputs.empty() ? nullptr : values[n.inputs[0]].data();
    const ValueShape in = n.inputs.empty() ? ValueShape{} : shapes[n.inputs[0]];
    switch (n.op) {
      case OpKind::input:
        std::memcpy(out.data(), input, out.size() * sizeof(float));
        break;
      case OpKind::conv2d:
        conv2d_nchw_f32__reference(x, in.channels, in.height, in.width,
                                   graph.weights[n.weight].data.data(),
                                   n.bias >= 0 ? graph.weights[n.bias].data.data() : nullptr,
                                   n.channels, n.kernel, n.stride, n.pad, out.data());
        break;
      case OpKind::relu:
        relu_f32__reference(x, out.data(), out.size());
        break;
      case OpKind::tanh_clamp:
        tanh_clamp_f32__reference(x, out.data(), out.size(), n.limit);
        break;
      case OpKind::upsample_nearest2x:
        upsample_nearest2x_nchw_f32__reference(x, in.channels, in.height, in.width, out.data());
        break;
      case OpKind::add:
        add_f32__reference(x, values[n.inputs[1]].data(), out.data(), out.size());
        break;
      case OpKind::group_norm:
        group_norm_nchw_f32__reference(x, in.channels, in.height, in.width, n.groups, n.eps,
                                       graph.weights[n.weight].data.data(),
                                       graph.weights[n.bias].data.data(), out.data());
        break;
    }
    for (int input_id : n.inputs) {
      if (last_use[input_id] == static_cast<int>(i)) std::vector<float>().swap(values[input_id]);
    }
  }
  const std::vector<float>& result = values[graph.output()];
  std::memcpy(output, result.data(), result.size() * sizeof(float));
}

}  // namespace taec

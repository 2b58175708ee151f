#include "runtime/reference_engine.h"

#include <cstring>

#include "kernels/reference/ops.h"

namespace taec {
namespace {

using Frame = std::vector<float>;

size_t elems(const ValueShape& s) { return static_cast<size_t>(s.channels) * s.height * s.width; }

// The frame-to-frame ops: node n applied to one frame of each of its inputs. concat_past gets its
// past frame as `past`.
Frame eval_frame(const Graph& g, const std::vector<ValueShape>& shapes, int n, const std::vector<const Frame*>& in,
                 const float* past) {
  const Node& node = g.nodes[n];
  Frame out(elems(shapes[n]));
  const ValueShape s = node.inputs.empty() ? ValueShape{} : shapes[node.inputs[0]];
  const float* x = in.empty() ? nullptr : in[0]->data();
  switch (node.op) {
    case OpKind::input: break;  // set by the caller
    case OpKind::conv2d:
      conv2d_nchw_f32__reference(x, s.channels, s.height, s.width, g.weights[node.weight].data.data(),
                                 node.bias >= 0 ? g.weights[node.bias].data.data() : nullptr, node.channels, node.kernel,
                                 node.stride, node.pad, out.data(), node.groups > 1 ? node.groups : 1);
      break;
    case OpKind::relu: relu_f32__reference(x, out.data(), out.size()); break;
    case OpKind::tanh_clamp: tanh_clamp_f32__reference(x, out.data(), out.size(), node.limit); break;
    case OpKind::upsample_nearest2x: upsample_nearest2x_nchw_f32__reference(x, s.channels, s.height, s.width, out.data()); break;
    case OpKind::add: add_f32__reference(x, in[1]->data(), out.data(), out.size()); break;
    case OpKind::group_norm:
      group_norm_nchw_f32__reference(x, s.channels, s.height, s.width, node.groups, node.eps, g.weights[node.weight].data.data(),
                                     g.weights[node.bias].data.data(), out.data());
      break;
    case OpKind::concat_past:
      std::memcpy(out.data(), x, in[0]->size() * sizeof(float));
      if (past) {
        std::memcpy(out.data() + in[0]->size(), past, in[0]->size() * sizeof(float));
      } else {
        std::fill(out.begin() + static_cast<std::ptrdiff_t>(in[0]->size()), out.end(), 0.0f);
      }
      break;
    case OpKind::pixel_shuffle:
      pixel_shuffle_nchw_f32__reference(x, node.channels, s.height, s.width, node.factor, out.data());
      break;
    case OpKind::pixel_unshuffle:
      pixel_unshuffle_nchw_f32__reference(x, s.channels, s.height, s.width, node.factor, out.data());
      break;
    case OpKind::tgrow:
    case OpKind::tpool: break;  // handled by the callers: they change the frame count
  }
  return out;
}

// tgrow / tpool: their 1x1 conv over one (tpool: concatenated) frame of `channels_in` channels.
Frame time_conv(const Graph& g, const Node& node, const Frame& in, const ValueShape& s, int channels_in) {
  const int channels_out = node.op == OpKind::tgrow ? node.channels * node.time_stride : node.channels;
  Frame out(static_cast<size_t>(channels_out) * s.height * s.width);
  conv2d_nchw_f32__reference(in.data(), channels_in, s.height, s.width, g.weights[node.weight].data.data(), nullptr,
                             channels_out, 1, 1, 0, out.data());
  return out;
}

class Stepper {
 public:
  Stepper(const Graph& g, int height, int width, float* state)
      : g_(g), shapes_(g.infer_shapes(height, width)), t_(g.temporal()), state_(state), pools_(t_.segments.size()) {
    size_t offset = 0;
    state_offset_.assign(g.nodes.size(), 0);
    for (size_t n = 0; n < g.nodes.size(); ++n) {
      if (g.nodes[n].op != OpKind::concat_past) continue;
      state_offset_[n] = offset;
      offset += elems(shapes_[g.nodes[n].inputs[0]]);
    }
  }

  void step(const float* inputs, float* outputs) {
    outputs_ = outputs;
    const size_t in_elems = elems(shapes_[0]);
    for (int f = 0; f < t_.frames_in; ++f) process(0, Frame(inputs + f * in_elems, inputs + (f + 1) * in_elems));
  }

 private:
  // One frame through segment `seg`, whose first node's value is `entry`; then on to the next
  // segment as the reference's work queue does: depth first, in time order.
  void process(int seg, Frame entry) {
    const Segment& s = t_.segments[seg];
    std::vector<Frame> values(s.end - s.begin);
    values[0] = std::move(entry);
    auto value = [&](int n) -> Frame& { return values[n - s.begin]; };
    for (int n = s.begin + 1; n < s.end; ++n) {
      std::vector<const Frame*> in;
      for (int i : g_.nodes[n].inputs) in.push_back(&value(i));
      float* past = g_.nodes[n].op == OpKind::concat_past && state_ ? state_ + state_offset_[n] : nullptr;
      value(n) = eval_frame(g_, shapes_, n, in, past);
      if (past) std::memcpy(past, in[0]->data(), in[0]->size() * sizeof(float));
    }
    Frame& last = value(s.end - 1);
    if (seg + 1 == static_cast<int>(t_.segments.size())) {
      std::memcpy(outputs_, last.data(), last.size() * sizeof(float));
      outputs_ += last.size();
      return;
    }
    const Node& next = g_.nodes[t_.segments[seg + 1].begin];
    const ValueShape& shape = shapes_[s.end - 1];
    if (next.op == OpKind::tgrow) {
      const Frame grown = time_conv(g_, next, last, shape, shape.channels);
      const size_t frame = elems(shape);
      for (int j = 0; j < next.time_stride; ++j) process(seg + 1, Frame(grown.begin() + j * frame, grown.begin() + (j + 1) * frame));
      return;
    }
    std::vector<Frame>& pool = pools_[seg + 1];
    pool.push_back(std::move(last));
    if (static_cast<int>(pool.size()) < next.time_stride) return;
    Frame stacked;
    for (const Frame& f : pool) stacked.insert(stacked.end(), f.begin(), f.end());
    pool.clear();
    process(seg + 1, time_conv(g_, next, stacked, shape, shape.channels * next.time_stride));
  }

  const Graph& g_;
  std::vector<ValueShape> shapes_;
  TemporalInfo t_;
  float* state_;
  std::vector<size_t> state_offset_;
  std::vector<std::vector<Frame>> pools_;  // tpool inputs gathered so far, by segment
  float* outputs_ = nullptr;
};

}  // namespace

size_t reference_state_floats(const Graph& graph, int height, int width) {
  const std::vector<ValueShape> shapes = graph.infer_shapes(height, width);
  size_t floats = 0;
  for (const Node& n : graph.nodes) {
    if (n.op == OpKind::concat_past) floats += elems(shapes[n.inputs[0]]);
  }
  return floats;
}

void run_graph_reference_step(const Graph& graph, int height, int width, const float* inputs, float* outputs, float* state) {
  Stepper(graph, height, width, state).step(inputs, outputs);
}

void run_graph_reference(const Graph& graph, int height, int width, const float* input, float* output) {
  run_graph_reference_step(graph, height, width, input, output, nullptr);
}

std::vector<float> run_graph_reference_clip(const Graph& graph, int height, int width, const float* frames, int count) {
  const std::vector<ValueShape> shapes = graph.infer_shapes(height, width);
  const std::vector<int> last_use = graph.last_uses();
  std::vector<std::vector<Frame>> values(graph.nodes.size());  // every frame of every live value
  for (int f = 0; f < count; ++f) values[0].emplace_back(frames + f * elems(shapes[0]), frames + (f + 1) * elems(shapes[0]));
  for (size_t n = 1; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    const std::vector<Frame>& x = values[node.inputs[0]];
    std::vector<Frame>& out = values[n];
    const ValueShape& s = shapes[node.inputs[0]];
    if (node.op == OpKind::tgrow) {
      const size_t frame = elems(s);
      for (const Frame& f : x) {
        const Frame grown = time_conv(graph, node, f, s, s.channels);
        for (int j = 0; j < node.time_stride; ++j) out.emplace_back(grown.begin() + j * frame, grown.begin() + (j + 1) * frame);
      }
    } else if (node.op == OpKind::tpool) {
      for (size_t t = 0; t + node.time_stride <= x.size(); t += node.time_stride) {
        Frame stacked;
        for (int j = 0; j < node.time_stride; ++j) stacked.insert(stacked.end(), x[t + j].begin(), x[t + j].end());
        out.push_back(time_conv(graph, node, stacked, s, s.channels * node.time_stride));
      }
    } else {
      for (size_t t = 0; t < x.size(); ++t) {
        std::vector<const Frame*> in;
        for (int i : node.inputs) in.push_back(&values[i][t]);
        out.push_back(eval_frame(graph, shapes, static_cast<int>(n), in, t > 0 ? x[t - 1].data() : nullptr));
      }
    }
    for (int i : node.inputs) {
      if (last_use[i] == static_cast<int>(n)) std::vector<Frame>().swap(values[i]);
    }
  }
  std::vector<float> result;
  for (const Frame& f : values[graph.output()]) result.insert(result.end(), f.begin(), f.end());
  return result;
}

}  // namespace taec

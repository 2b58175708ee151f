// The video decoders as one MIL function per frame size: a chunk of K latents unrolled step by
// step, exactly the order the reference's sequential mode (runtime/reference_engine.cc, Stepper)
// runs them in, so that the states carry the same frames.
#include "export/coreml/mil_builder.h"
#include "export/coreml/mil_lowering.h"

namespace taec::coreml {
namespace {

using lowering::FunctionBuilder;
using lowering::NodeLowerer;

class VideoUnroller {
 public:
  VideoUnroller(const Model& model, FunctionBuilder& b, NodeLowerer& lw, const VideoLowering& video)
      : g_(model.graph), b_(b), lw_(lw), video_(video), t_(g_.temporal()) {
    for (size_t n = 0; n < g_.nodes.size(); ++n) {
      if (g_.nodes[n].op != OpKind::concat_past) continue;
      StateIo s;
      s.name = lowering::identifier_for(role_name(model.role), g_.nodes[n].name);
      s.dims = lw_.nchw(g_.nodes[n].inputs[0]);
      state_of_node_[static_cast<int>(n)] = static_cast<int>(states_.size());
      states_.push_back(std::move(s));
    }
    past_.resize(states_.size());
    uses_left_.resize(states_.size());
    for (const auto& [node, s] : state_of_node_) uses_left_[s] = video.chunk_latents * t_.per_step[node];
    for (size_t s = 0; s < states_.size(); ++s) past_[s] = states_[s].name;  // tensor style: the input itself
  }

  const std::vector<StateIo>& states() const { return states_; }
  const std::vector<std::string>& frames() const { return frames_; }

  // One latent [1, Cz, h, w] through one step.
  Status step(const std::string& latent, int index) { return process(0, latent, "_l" + std::to_string(index)); }

 private:
  // One frame through segment `seg`, whose first node's value is `entry`, then depth first into
  // the next segment (a TGrow's sub-frames in time order), as the reference's work queue does.
  Status process(int seg, const std::string& entry, const std::string& suffix) {
    const Segment& s = t_.segments[seg];
    std::map<int, std::string> values;
    values[s.begin] = entry;
    for (int n = s.begin + 1; n < s.end; ++n) {
      const Node& node = g_.nodes[n];
      std::vector<std::string> inputs;
      for (int i : node.inputs) inputs.push_back(values.at(i));
      if (node.op == OpKind::concat_past) {
        const int st = state_of_node_.at(n);
        inputs.push_back(past(st));
        TAEC_ASSIGN_OR_RETURN(values[n], lw_.lower(n, inputs, suffix));
        past_[st] = inputs[0];  // this frame's block input is the next frame's past
        if (--uses_left_[st] == 0) finish_state(st);
      } else {
        TAEC_ASSIGN_OR_RETURN(values[n], lw_.lower(n, inputs, suffix));
      }
    }
    const std::string& last = values.at(s.end - 1);
    if (seg + 1 == static_cast<int>(t_.segments.size())) {
      frames_.push_back(last);
      return ok_status();
    }
    const int next = t_.segments[seg + 1].begin;
    const Node& grow = g_.nodes[next];
    if (grow.op != OpKind::tgrow) return Status(Code::internal, "video export: a decoder segment starts at " + grow.name);
    TAEC_ASSIGN_OR_RETURN(const std::string grown, lw_.lower(next, {last}, suffix));
    for (int j = 0; j < grow.time_stride; ++j) {
      TAEC_RETURN_IF_ERROR(process(seg + 1, lw_.tgrow_frame(next, grown, j, suffix), suffix + "_" + std::to_string(j)));
    }
    return ok_status();
  }

  // The past of state `st` for its next use: the previous frame's block input, or at the chunk's
  // start the state itself (stateful: read once, right before its first use).
  std::string past(int st) {
    if (video_.state == StateStyle::stateful && past_[st] == states_[st].name) {
      past_[st] = b_.op("read_state", states_[st].name + "_read", {{"input", states_[st].name}}, mil::FLOAT16,
                        states_[st].dims);
    }
    return past_[st];
  }

  // After the chunk's last use of a state: its value for the next call, written as soon as it is
  // known so that nothing else keeps it alive.
  void finish_state(int st) {
    const StateIo& s = states_[st];
    if (video_.state == StateStyle::stateful) {
      b_.op("coreml_update_state", s.name + "_update", {{"state", s.name}, {"value", past_[st]}}, mil::FLOAT16, s.dims);
    } else {
      b_.op("identity", s.name + "_next", {{"x", past_[st]}}, mil::FLOAT16, s.dims);
    }
  }

  const Graph& g_;
  FunctionBuilder& b_;
  NodeLowerer& lw_;
  VideoLowering video_;
  TemporalInfo t_;
  std::vector<StateIo> states_;
  std::map<int, int> state_of_node_;   // concat_past node -> state index
  std::vector<std::string> past_;      // per state: the MIL value its next use reads
  std::vector<int> uses_left_;         // per state: uses left in this chunk
  std::vector<std::string> frames_;    // raw frames made so far, [1, 3, H, W] each
};

}  // namespace

Result<LoweredFunction> lower_video_decoder(const Model& model, int frame_height, int frame_width,
                                            const LoweringOptions& options, const VideoLowering& video,
                                            WeightStore& weights) {
  if (model.role != Role::decoder || !model.is_video()) {
    return Status(Code::internal, "lower_video_decoder: " + model.variant + " is not a video decoder");
  }
  const int f = model.spatial_factor;
  if (frame_height <= 0 || frame_width <= 0 || frame_height % f || frame_width % f) {
    return Status(Code::invalid_argument, "frame size " + std::to_string(frame_height) + "x" + std::to_string(frame_width) +
                                              " is not a positive multiple of " + std::to_string(f));
  }
  if (video.chunk_latents < 1 || video.chunk_latents > kMaxChunkLatents) {
    return Status(Code::invalid_argument, "chunk of " + std::to_string(video.chunk_latents) + " latents: must be 1.." +
                                              std::to_string(kMaxChunkLatents));
  }
  const Graph& graph = model.graph;
  if (graph.temporal().frames_in != 1) return Status(Code::internal, "video decoder step takes more than one latent");
  const int h = frame_height / f, w = frame_width / f, k = video.chunk_latents;
  const int64_t cz = model.latent_channels;
  LoweredFunction out;
  out.function.set_opset(kOpset);
  mil::Block& block = (*out.function.mutable_block_specializations())[kOpset];
  FunctionBuilder b(&block, weights);
  NodeLowerer lw(model, b, weights, false, graph.infer_shapes(h, w));
  VideoUnroller unroller(model, b, lw, video);
  out.states = unroller.states();

  const mil::DataType io_dtype = options.fp32_io ? mil::FLOAT32 : mil::FLOAT16;
  out.input_dims = options.nhwc ? std::vector<int64_t>{1, k, h, w, cz} : std::vector<int64_t>{1, k, cz, h, w};
  mil::NamedValueType* input = out.function.add_inputs();
  input->set_name(kVideoInputName);
  *input->mutable_type() = tensor_type(io_dtype, out.input_dims);
  for (const StateIo& s : out.states) {
    mil::NamedValueType* si = out.function.add_inputs();
    si->set_name(s.name);
    *si->mutable_type() = video.state == StateStyle::stateful ? state_type(mil::FLOAT16, s.dims) : tensor_type(mil::FLOAT16, s.dims);
  }

  // latents -> [K, Cz, h, w] -> one [1, Cz, h, w] per latent
  std::string x = kVideoInputName;
  if (options.fp32_io) {
    const std::string dtype = b.string_scalar("latents_dtype_0", "fp16");
    x = b.op("cast", "latents_to_fp16", {{"dtype", dtype}, {"x", x}}, mil::FLOAT16, out.input_dims);
  }
  const std::vector<int64_t> batched = options.nhwc ? std::vector<int64_t>{k, h, w, cz} : std::vector<int64_t>{k, cz, h, w};
  auto i32 = [](const std::vector<int64_t>& v) { return std::vector<int32_t>(v.begin(), v.end()); };
  x = b.op("reshape", "latents_batched", {{"shape", b.int32_vector("latents_batched_shape_0", i32(batched))}, {"x", x}},
           mil::FLOAT16, batched);
  const std::vector<int64_t> latents_nchw = {k, cz, h, w};
  if (options.nhwc) {
    const std::string perm = b.int32_vector("latents_perm_0", {0, 3, 1, 2});
    x = b.op("transpose", "latents_nchw", {{"perm", perm}, {"x", x}}, mil::FLOAT16, latents_nchw);
  }
  for (int l = 0; l < k; ++l) {
    std::string latent = x;
    if (k > 1) {
      const std::string name = "latent_" + std::to_string(l);
      const std::string begin = b.int32_vector(name + "_begin_0", {l, 0, 0, 0});
      const std::string end = b.int32_vector(name + "_end_0", i32({l + 1, cz, h, w}));
      latent = b.op("slice_by_index", name, {{"begin", begin}, {"end", end}, {"x", x}}, mil::FLOAT16, lw.nchw(0));
    }
    TAEC_RETURN_IF_ERROR(unroller.step(latent, l));
  }

  // raw frames [1, 3, H, W] each -> [F, 3, H, W] -> frames
  const std::vector<std::string>& frames = unroller.frames();
  const std::vector<int64_t> frame = lw.nchw(graph.output());
  const int64_t count = static_cast<int64_t>(frames.size());
  std::string y = frames[0];
  const std::vector<int64_t> stacked = {count, frame[1], frame[2], frame[3]};
  if (count > 1) {
    const std::string axis = b.int32_scalar("frames_axis_0", 0);
    const std::string interleave = b.bool_scalar("frames_interleave_0", false);
    y = b.op_variadic("concat", "frames_stacked", "values", frames, {{"axis", axis}, {"interleave", interleave}},
                      mil::FLOAT16, stacked);
  }
  std::vector<int64_t> dims = stacked;
  if (options.nhwc) {
    const std::string perm = b.int32_vector("frames_perm_0", {0, 2, 3, 1});
    dims = {count, frame[2], frame[3], frame[1]};
    y = b.op("transpose", "frames_nhwc", {{"perm", perm}, {"x", y}}, mil::FLOAT16, dims);
  }
  dims.insert(dims.begin(), 1);
  y = b.op("reshape", "frames_clip", {{"shape", b.int32_vector("frames_clip_shape_0", i32(dims))}, {"x", y}},
           mil::FLOAT16, dims);
  b.finish_output(y, "frames", kVideoOutputName, dims, options.fp32_io);
  out.output_dims = dims;
  if (video.state == StateStyle::tensors) {
    // Outputs in the order of the inputs they replace, whatever order they were finished in.
    for (const StateIo& s : out.states) block.add_outputs(s.name + "_next");
  }
  return out;
}

}  // namespace taec::coreml

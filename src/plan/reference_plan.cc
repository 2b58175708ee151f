#include "plan/reference_plan.h"

#include <cstdint>
#include <vector>

#include "plan/io_convert.h"
#include "runtime/reference_engine.h"

namespace taec {
namespace {

class ReferencePlan final : public Plan {
 public:
  ReferencePlan(std::shared_ptr<const Model> model, const PlanOptions& options, const PlanShapes& shapes)
      : Plan(std::move(model), options, shapes),
        input_(shapes.input_elems()),
        output_(shapes.output_elems()),
        state_floats_(reference_state_floats(model_->graph, shapes.input.height, shapes.input.width)) {
    for (const ValueShape& v : model_->graph.infer_shapes(shapes.input.height, shapes.input.width)) {
      out_pixels_.push_back(static_cast<double>(v.height) * v.width);
    }
  }

  PlanStats stats() const override {
    PlanStats s;
    s.engine = "reference";
    s.isa = "reference";
    s.kernel = "conv2d_nchw_f32__reference";
    s.weight_bytes = model_->parameter_count * sizeof(float);
    const auto& nodes = model_->graph.nodes;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].op != OpKind::conv2d) continue;
      s.model_flops += 2.0 * nodes[i].in_channels * nodes[i].channels * nodes[i].kernel * nodes[i].kernel * out_pixels_[i];
    }
    s.executed_flops = s.model_flops;
    return s;
  }

  Status run_step(const void* input, void* output, float* state) override {
    const size_t dtype_bytes = options_.io_dtype == IoDtype::f16 ? 2 : 4;
    const size_t in_frame = shapes_.input_frame_elems(), out_frame = shapes_.output_frame_elems();
    for (int f = 0; f < shapes_.frames_in; ++f) {
      import_nchw_f32(static_cast<const uint8_t*>(input) + f * in_frame * dtype_bytes, options_.layout, options_.io_dtype,
                      shapes_.input, input_.data() + f * in_frame);
    }
    if (options_.nonfinite == NonfinitePolicy::reject) {
      for (int f = 0; f < shapes_.frames_in; ++f) {
        TAEC_RETURN_IF_ERROR(check_finite_nchw(input_.data() + f * in_frame, shapes_.input,
                                               model_->role == Role::decoder ? "latent" : "image"));
      }
    }
    if (state_floats() > 0 && state == nullptr) return Status(Code::invalid_argument, "a video plan's step needs its state");
    run_graph_reference_step(model_->graph, shapes_.input.height, shapes_.input.width, input_.data(), output_.data(), state);
    for (int f = 0; f < shapes_.frames_out; ++f) {
      export_nchw_f32(output_.data() + f * out_frame, shapes_.output, options_.layout, options_.io_dtype,
                      static_cast<uint8_t*>(output) + f * out_frame * dtype_bytes);
    }
    return ok_status();
  }

  size_t state_floats() const override { return state_floats_; }

 private:
  std::vector<float> input_, output_;
  size_t state_floats_;
  std::vector<double> out_pixels_;  // per node, for FLOP counts
};

}  // namespace

std::unique_ptr<Plan> make_reference_plan(std::shared_ptr<const Model> model, const PlanOptions& options,
                                          const PlanShapes& shapes) {
  return std::make_unique<ReferencePlan>(std::move(model), options, shapes);
}

}  // namespace taec

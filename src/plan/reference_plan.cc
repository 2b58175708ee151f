#include "plan/reference_plan.h"

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
        output_(shapes.output_elems()) {
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

  Status run(const void* input, void* output) override {
    import_nchw_f32(input, options_.layout, options_.io_dtype, shapes_.input, input_.data());
    if (options_.nonfinite == NonfinitePolicy::reject) {
      TAEC_RETURN_IF_ERROR(check_finite_nchw(
          input_.data(), shapes_.input, model_->role == Role::decoder ? "latent" : "image"));
    }
    run_graph_reference(model_->graph, shapes_.input.height, shapes_.input.width, input_.data(),
                        output_.data());
    export_nchw_f32(output_.data(), shapes_.output, options_.layout, options_.io_dtype, output);
    return ok_status();
  }

 private:
  std::vector<float> input_, output_;
  std::vector<double> out_pixels_;  // per node, for FLOP counts
};

}  // namespace

std::unique_ptr<Plan> make_reference_plan(std::shared_ptr<const Model> model, const PlanOptions& options,
                                          const PlanShapes& shapes) {
  return std::make_unique<ReferencePlan>(std::move(model), options, shapes);
}

}  // namespace taec

#include "plan/flexible_plan.h"

#include <cstdlib>
#include <string>

#include "plan/fast_plan.h"

namespace taec {

Result<std::unique_ptr<FlexiblePlan>> FlexiblePlan::compile(std::shared_ptr<const Model> model, const PlanOptions& base,
                                                            const std::vector<std::pair<int, int>>& sizes) {
  if (sizes.empty()) return Status(Code::invalid_argument, "a flexible plan needs at least one size");
  if (base.precision == Precision::reference) return Status(Code::invalid_argument, "flexible plans are compiled (fp32 or bf16)");
  auto plan = std::unique_ptr<FlexiblePlan>(new FlexiblePlan());
  plan->model_ = std::move(model);
  plan->base_ = base;
  if (!plan->base_.packed_cache) plan->base_.packed_cache = std::make_shared<PackedWeightCache>();
  plan->sizes_ = sizes;
  for (const auto& [h, w] : sizes) {
    PlanOptions o = plan->base_;
    o.image_height = h;
    o.image_width = w;
    TAEC_ASSIGN_OR_RETURN(PlanShapes shapes, plan_shapes(*plan->model_, o));
    TAEC_ASSIGN_OR_RETURN(size_t floats, fast_plan_arena_floats(*plan->model_, o, shapes));
    plan->arena_floats_ = std::max(plan->arena_floats_, floats);
  }
  plan->arena_.reset(static_cast<float*>(std::aligned_alloc(64, (plan->arena_floats_ * sizeof(float) + 63) / 64 * 64)),
                     [](float* p) { std::free(p); });
  if (!plan->arena_) return Status(Code::out_of_memory, "cannot allocate the flexible plan's arena");
  plan->base_.shared_arena = plan->arena_;
  plan->base_.shared_arena_floats = plan->arena_floats_;
  return plan;
}

Status FlexiblePlan::run(int height, int width, const void* input, void* output) {
  if (!current_ || current_->options().image_height != height || current_->options().image_width != width) {
    bool listed = false;
    for (const auto& [h, w] : sizes_) listed = listed || (h == height && w == width);
    if (!listed) {
      return Status(Code::invalid_argument, std::to_string(height) + "x" + std::to_string(width) + " is not one of the flexible plan's sizes");
    }
    current_.reset();
    PlanOptions o = base_;
    o.image_height = height;
    o.image_width = width;
    TAEC_ASSIGN_OR_RETURN(current_, compile_plan(model_, o));
    ++switches_;
  }
  return current_->run(input, output);
}

}  // namespace taec

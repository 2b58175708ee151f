#include <string>

#include "base/thread_pool.h"
#include "plan/plan.h"
#include "plan/fast_plan.h"
#include "plan/reference_plan.h"

namespace taec {

Result<PlanShapes> plan_shapes(const Model& model, const PlanOptions& o) {
  const int f = model.spatial_factor;
  const std::string size = std::to_string(o.image_height) + "x" + std::to_string(o.image_width);
  // 16384 px per side keeps every buffer size well inside 64-bit arithmetic and is far beyond
  // what any FLUX pipeline produces.
  constexpr int kMaxSide = 16384;
  if (o.image_height <= 0 || o.image_width <= 0 || o.image_height > kMaxSide || o.image_width > kMaxSide) {
    return Status(Code::invalid_argument, "image size " + size + " is outside 1.." + std::to_string(kMaxSide));
  }
  if (o.threads < 0) return Status(Code::invalid_argument, "threads must be >= 0");
  if (o.threads > max_threads()) {
    return Status(Code::invalid_argument, std::to_string(o.threads) + " threads is more than the " + std::to_string(max_threads()) +
                                              " allowed (twice the " + std::to_string(usable_cores()) + " cores this process may use)");
  }
  PlanShapes s;
  if (model.role == Role::decoder) {
    if (o.image_height % f != 0 || o.image_width % f != 0) {
      return Status(Code::invalid_argument, "decoder output size " + size + " is not a multiple of " + std::to_string(f));
    }
    s.input = {model.latent_channels, o.image_height / f, o.image_width / f};
  } else {
    s.input = {model.image_channels, o.image_height, o.image_width};
  }
  if (model.is_video() && model.role == Role::encoder && (o.image_height % f != 0 || o.image_width % f != 0)) {
    return Status(Code::invalid_argument, "video encoder input size " + size + " is not a multiple of " + std::to_string(f));
  }
  s.output = model.graph.infer_shapes(s.input.height, s.input.width).back();
  const TemporalInfo t = model.graph.temporal();
  s.frames_in = t.frames_in;
  s.frames_out = t.frames_out;
  return s;
}

Result<std::unique_ptr<Plan>> compile_plan(std::shared_ptr<const Model> model, const PlanOptions& options) {
  TAEC_ASSIGN_OR_RETURN(PlanShapes shapes, plan_shapes(*model, options));
  if (options.weights != WeightQuant::none) {
    TAEC_ASSIGN_OR_RETURN(model, with_quantized_weights(*model, options.weights));
  }
  switch (options.precision) {
    case Precision::reference:
      return make_reference_plan(std::move(model), options, shapes);
    case Precision::fp32:
    case Precision::bf16:
    case Precision::int8:
      return make_fast_plan(std::move(model), options, shapes);
  }
  return Status(Code::invalid_argument, "unknown precision");
}

}  // namespace taec

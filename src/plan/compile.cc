#include <string>

#include "base/thread_pool.h"
#include "plan/plan.h"
#include "plan/fast_plan.h"
#include "plan/program.h"
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

// Video decoders run 4-8 frames per step through wide, deep stages: taller bands (fewer, larger
// steps) and 64-tile Winograd items (each position's weights read half as often) measured 12%
// faster on taew2_1 at 480x832 (Xeon, 2 threads, median of alternating runs) for 33 MiB more
// arena. Image plans keep the defaults their packages were validated with.
PlanOptions with_video_defaults(const Model& model, PlanOptions o) {
  if (!model.is_video()) return o;
  if (o.band_pixels == 0) o.band_pixels = kVideoBandPixels;
  if (o.winograd_tiles == 0) o.winograd_tiles = 64;
  if (o.winograd_upsample < 0) o.winograd_upsample = 1;
  return o;
}

Result<std::unique_ptr<Plan>> compile_plan(std::shared_ptr<const Model> model, const PlanOptions& requested) {
  const PlanOptions options = with_video_defaults(*model, requested);
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

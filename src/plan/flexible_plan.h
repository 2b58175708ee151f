// One plan serving several image sizes: the alternative to fixed per-size plans that taec's
// packages were designed against, kept to measure the trade-off (docs/PACKAGE.md).
//
// It reserves one activation arena, the largest any of its sizes needs, and shares packed
// weights; a run at a size other than the previous one re-lowers the schedule for that size
// first (the cost a flexible-shape runtime pays on a shape change).
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "plan/plan.h"

namespace taec {

class FlexiblePlan {
 public:
  // `base` gives everything but the image size; sizes are (height, width) pairs.
  static Result<std::unique_ptr<FlexiblePlan>> compile(std::shared_ptr<const Model> model, const PlanOptions& base,
                                                       const std::vector<std::pair<int, int>>& sizes);

  // Buffers as a fixed plan of that size takes them.
  Status run(int height, int width, const void* input, void* output);
  const Plan* current() const { return current_.get(); }
  size_t arena_bytes() const { return arena_floats_ * sizeof(float); }
  int switches() const { return switches_; }

 private:
  std::shared_ptr<const Model> model_;
  PlanOptions base_;
  std::vector<std::pair<int, int>> sizes_;
  std::shared_ptr<float> arena_;
  size_t arena_floats_ = 0;
  std::unique_ptr<Plan> current_;
  int switches_ = 0;
};

}  // namespace taec

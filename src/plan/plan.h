// A model compiled for one fixed shape. Plans are immutable after compile: run() only reads the
// weights and writes into memory the plan owns, so its cost and footprint are known up front.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/model.h"

namespace taec {

enum class Layout { nchw = TAEC_LAYOUT_NCHW, nhwc = TAEC_LAYOUT_NHWC };
enum class IoDtype { f32 = TAEC_DTYPE_F32, f16 = TAEC_DTYPE_F16 };
enum class Precision { reference = TAEC_PRECISION_REFERENCE };
enum class NonfinitePolicy { reject = TAEC_NONFINITE_REJECT, propagate = TAEC_NONFINITE_PROPAGATE };

struct PlanOptions {
  int image_height = 0;
  int image_width = 0;
  Layout layout = Layout::nchw;
  IoDtype io_dtype = IoDtype::f32;
  Precision precision = Precision::reference;
  int threads = 0;
  NonfinitePolicy nonfinite = NonfinitePolicy::reject;
};

struct PlanShapes {
  ValueShape input, output;  // batch 1
  size_t input_elems() const { return static_cast<size_t>(input.channels) * input.height * input.width; }
  size_t output_elems() const { return static_cast<size_t>(output.channels) * output.height * output.width; }
};

class Plan {
 public:
  virtual ~Plan() = default;
  const PlanOptions& options() const { return options_; }
  const PlanShapes& shapes() const { return shapes_; }
  const Model& model() const { return *model_; }

  // input/output: dense buffers in options().layout and options().io_dtype.
  virtual Status run(const void* input, void* output) = 0;

 protected:
  Plan(std::shared_ptr<const Model> model, PlanOptions options, PlanShapes shapes)
      : model_(std::move(model)), options_(options), shapes_(shapes) {}

  std::shared_ptr<const Model> model_;
  PlanOptions options_;
  PlanShapes shapes_;
};

// Validates options against the model and derives the fixed input/output shapes.
Result<PlanShapes> plan_shapes(const Model& model, const PlanOptions& options);

Result<std::unique_ptr<Plan>> compile_plan(std::shared_ptr<const Model> model, const PlanOptions& options);

}  // namespace taec

// A model compiled for one fixed shape. Plans are immutable after compile: run() only reads the
// weights and writes into memory the plan owns, so its cost and footprint are known up front.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/model.h"
#include "plan/conv_choice.h"
#include "plan/packed_weights.h"
#include "quant/weight_quant.h"

namespace taec {
struct ActivationCalibration;
struct Program;
}

namespace taec {

enum class Layout { nchw = TAEC_LAYOUT_NCHW, nhwc = TAEC_LAYOUT_NHWC };
enum class IoDtype { f32 = TAEC_DTYPE_F32, f16 = TAEC_DTYPE_F16 };
enum class Precision {
  reference = TAEC_PRECISION_REFERENCE,
  fp32 = TAEC_PRECISION_FP32,
  bf16 = TAEC_PRECISION_BF16,
  int8 = TAEC_PRECISION_INT8,
};
enum class MemoryMode { banded = TAEC_MEMORY_BANDED, whole = TAEC_MEMORY_WHOLE };
enum class NonfinitePolicy { reject = TAEC_NONFINITE_REJECT, propagate = TAEC_NONFINITE_PROPAGATE };

struct PlanOptions {
  int image_height = 0;
  int image_width = 0;
  Layout layout = Layout::nchw;
  IoDtype io_dtype = IoDtype::f32;
  Precision precision = Precision::reference;
  int threads = 0;
  NonfinitePolicy nonfinite = NonfinitePolicy::reject;
  MemoryMode memory = MemoryMode::banded;
  // Precision::int8: the input ranges of the int8 convolutions (calibration.h); required.
  std::shared_ptr<const ActivationCalibration> calibration;
  // Convolution weights quantized and dequantized at compile (weight_quant.h), as a package with
  // that storage holds them.
  WeightQuant weights = WeightQuant::none;
  // Internal knobs (not in the C API):
  // plans compiled with one cache share their packed weights (a package's sizes);
  std::shared_ptr<PackedWeightCache> packed_cache;
  // target output pixels per schedule step (0 = the default, kDefaultBandPixels; video plans
  // kVideoBandPixels);
  int band_pixels = 0;
  // Winograd tiles per work item (0 = 32; video plans 64).
  int winograd_tiles = 0;
  // Upsample convs as phase-Winograd convs + pixel shuffle (LowerOptions::winograd_upsample):
  // -1 = the default (on for video plans, off for image plans), 0 off, 1 on.
  int winograd_upsample = -1;
  // direct convolution only: the fp32 cross-check a package is validated against.
  bool direct_conv_only = false;
  // run in this arena instead of allocating one, if it holds at least the floats the plan
  // needs (a flexible plan reuses one arena for all its sizes).
  std::shared_ptr<float> shared_arena;
  size_t shared_arena_floats = 0;
  // held during run() by every plan sharing that arena, so their runs cannot overlap.
  std::shared_ptr<std::mutex> shared_arena_mutex;
  // int8: quantize each conv's input from the fp32 rows instead of in the producer's epilogue
  // (bitwise the same output; for tests and A/B timing).
  bool int8_no_shadows = false;
  // fp32 plans: record each conv's input max here after every run (calibrate_activations).
  ActivationCalibration* calibrate_into = nullptr;
  // Compiled plans: how each conv with a choice of algorithm picks it (plan/tune.h). Given
  // conv_choices (a package's plan file) are used as they are and nothing is measured.
  TuneMode tune = TuneMode::off;
  std::shared_ptr<const ConvChoices> conv_choices;
};

// What a plan chose at compile time and what its last run cost, per fused op.
struct PlanStats {
  struct Op {
    std::string name, kind;
    double flops = 0;    // as executed
    double seconds = 0;  // in the last run
    // A conv with a choice of algorithm: what it runs as, the graph node that names the choice,
    // and what tuning measured ("winograd_f6 0.81 ms, direct 2.40 ms"; "" when not measured).
    std::string algo, choice, tuning;
  };
  std::string engine;    // "reference" or "compiled"
  std::string isa;
  std::string isa_note;  // how the ISA was chosen
  std::string kernel;
  int winograd_convs = 0;  // convolutions run as Winograd F(4x4, 3x3)
  size_t arena_bytes = 0;
  size_t weight_bytes = 0;
  double model_flops = 0;     // the model's convolution FLOPs (2 x MACs), unfused
  double executed_flops = 0;  // after algebraic savings (folded upsamples)
  size_t steps = 0;
  int threads = 1;
  std::string tuning;  // how the conv algorithms were chosen (tune mode, measured or cached)
  std::vector<Op> ops;
  struct Tensor {
    std::string producer;
    int channels = 0, height = 0, width = 0, capacity_rows = 0;
    size_t bytes = 0, offset_bytes = 0;
    int first_step = 0, last_step = 0;
  };
  std::vector<Tensor> tensors;  // the memory plan (compiled plans only)
};

// A plan runs in steps (graph.h): `frames_in` input frames to `frames_out` output frames, back
// to back in its buffers. Image plans: 1 -> 1.
struct PlanShapes {
  ValueShape input, output;  // one frame, batch 1
  int frames_in = 1, frames_out = 1;
  size_t input_frame_elems() const { return static_cast<size_t>(input.channels) * input.height * input.width; }
  size_t output_frame_elems() const { return static_cast<size_t>(output.channels) * output.height * output.width; }
  size_t input_elems() const { return input_frame_elems() * frames_in; }
  size_t output_elems() const { return output_frame_elems() * frames_out; }
};

class Plan {
 public:
  virtual ~Plan() = default;
  const PlanOptions& options() const { return options_; }
  const PlanShapes& shapes() const { return shapes_; }
  const Model& model() const { return *model_; }
  const std::shared_ptr<const Model>& model_ptr() const { return model_; }

  // One step. input/output: frames_in / frames_out dense frames in options().layout and
  // options().io_dtype. state: state_floats() floats that link the steps of a clip (zero at its
  // start, updated in place); null for a stateless plan. Not reentrant: one step at a time.
  virtual Status run_step(const void* input, void* output, float* state) = 0;
  // run_step with the output handed over as it is finished, so it is never held whole (a 2048²
  // fp32 image is 48 MiB, a third of the plan's own memory): `band` gets rows [row_begin,
  // row_end) of output frame `frame` as a dense frame of that many rows in the plan's layout and
  // io dtype (NCHW: [C][rows][W]), valid during the call; a frame's bands come top to bottom.
  // The first error `band` returns stops the step and is returned. This base version runs the
  // whole step into a temporary buffer; the compiled engine hands over each band of its schedule.
  using OutputBand = std::function<Status(int frame, int row_begin, int row_end, const void* band)>;
  virtual Status run_step_bands(const void* input, const OutputBand& band, float* state);
  // The stateless case (image plans).
  Status run(const void* input, void* output) {
    if (state_floats() > 0) return Status(Code::invalid_argument, "a video plan runs in a stream, which holds its state");
    return run_step(input, output, nullptr);
  }
  Status run_bands(const void* input, const OutputBand& band) {
    if (state_floats() > 0) return Status(Code::invalid_argument, "a video plan runs in a stream, which holds its state");
    return run_step_bands(input, band, nullptr);
  }
  // Floats of state between steps (0 for image plans).
  virtual size_t state_floats() const { return 0; }
  virtual PlanStats stats() const = 0;
  // Canonical text of the compiled program (Program::describe()); "" for the reference engine.
  virtual std::string program_description() const { return ""; }
  // The compiled program (null for the reference engine).
  virtual const Program* program() const { return nullptr; }
  // Context added by whoever loaded the plan (e.g. a package); shown after the ISA note.
  void add_note(const std::string& note) { note_ += (note_.empty() ? "" : "; ") + note; }

 protected:
  Plan(std::shared_ptr<const Model> model, PlanOptions options, PlanShapes shapes)
      : model_(std::move(model)), options_(options), shapes_(shapes) {}

  std::shared_ptr<const Model> model_;
  PlanOptions options_;
  PlanShapes shapes_;
  std::string note_;
};

// Validates options against the model and derives the fixed input/output shapes.
Result<PlanShapes> plan_shapes(const Model& model, const PlanOptions& options);

Result<std::unique_ptr<Plan>> compile_plan(std::shared_ptr<const Model> model, const PlanOptions& options);

// The options compile_plan compiles with: a video model's plans get their band height and
// Winograd work items (band_pixels, winograd_tiles left 0) from the video defaults.
PlanOptions with_video_defaults(const Model& model, PlanOptions options);

}  // namespace taec

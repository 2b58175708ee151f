// A model lowered for a fixed shape: fused ops over NHWC activation tensors, and the static row
// schedule that runs them in bands with bounded memory.
//
// Time: a Program is one step of the graph (graph.h): every node runs once per frame of its rate
// in the step, each run ("instance") its own ops and tensors, unrolled at compile time. Import and
// export ops name the frame of the step's input or output buffer they read or write. What links
// steps is the state (StateDesc): the previous frame of every concat_past input, kept outside the
// arena by whoever runs the program (a stream), read and overwritten row by row by the concat op
// of each instance in turn (an instance's concat runs after the previous instance's: `after_op`).
//
// Tensors are NHWC with zero padding pixels in every row: one on the left, kRightPadPixels on the
// right (a Winograd F(6x6) tile may read up to six pixels past the last one). A tensor holds
// `capacity` rows as a ring (row r lives in slot r % capacity); a tensor that something needs
// whole (GroupNorm statistics) gets capacity == height. Capacities and arena offsets are decided
// at compile time by simulating the schedule, so run() allocates nothing.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/model.h"
#include "kernels/conv/conv_int8.h"
#include "kernels/conv/conv_nhwc.h"
#include "kernels/conv/winograd_bf16.h"
#include "plan/conv_choice.h"
#include "plan/calibration.h"
#include "plan/packed_weights.h"

namespace taec {

constexpr int kRightPadPixels = 6;
constexpr int kDefaultBandPixels = 4096;
constexpr int kVideoBandPixels = 16384;

// Bytes of one quantized (u8) row: a zero-point pixel, `width` pixels, a zero-point pixel,
// rounded to 64 so rows stay cache-line aligned.
inline size_t u8_row_bytes(int width, int channels) { return (static_cast<size_t>(width + 2) * channels + 63) / 64 * 64; }

struct TensorDesc {
  int channels = 0, height = 0, width = 0;
  size_t row_stride = 0;  // floats per stored row, padding pixels included
  int capacity = 0;       // rows held
  size_t offset = 0;      // floats from the arena base
  int producer = -1;      // op index
  std::vector<int> consumers;
  int first_step = -1, last_step = -1;  // lifetime in the schedule
  // int8 precision: when an int8 conv produces the tensor and int8 convs read it, the producer
  // also writes it quantized (step q_scale, zero point q_zero_point) into a u8 ring of the same
  // capacity (rows of one zero-point pixel, the row, one zero-point pixel), so no consumer
  // re-reads the fp32 rows to quantize them. The ring sits in the arena right after the fp32
  // rows, which take no space when every consumer reads the shadow (u8_only).
  bool u8_shadow = false;
  bool u8_only = false;
  float q_scale = 0;
  int q_zero_point = 0;
  size_t u8_row_stride = 0;  // bytes

  size_t fp32_bytes() const { return u8_only ? 0 : static_cast<size_t>(capacity) * row_stride * sizeof(float); }
  size_t u8_bytes() const { return u8_shadow ? (static_cast<size_t>(capacity) * u8_row_stride + 63) / 64 * 64 : 0; }
  size_t bytes() const { return fp32_bytes() + u8_bytes(); }
  // Bytes from the arena base to the u8 ring.
  size_t u8_offset() const { return offset * sizeof(float) + fp32_bytes(); }
};

enum class FusedKind {
  import_input,     // user buffer (any layout/dtype) -> NHWC rows, optional tanh clamp, pixel unshuffle
  conv,             // conv + bias [+ residual] [+ ReLU]; grouped (depthwise) when groups > 1
  up2x_conv,        // nearest 2x upsample folded into the following 3x3 conv
  group_norm_relu,  // GroupNorm (statistics over the whole tensor) + ReLU
  export_output,    // NHWC rows -> user buffer, optional pixel shuffle
  concat,           // sources (and a state) side by side on channels; the state then takes source 0
  pixel_shuffle,    // C*f*f -> C at f x the resolution
};

// The previous frame of one concat_past input: dense NHWC rows in the state buffer.
struct StateDesc {
  int channels = 0, height = 0, width = 0;
  size_t offset = 0;  // floats from the state buffer's base
  size_t floats() const { return static_cast<size_t>(channels) * height * width; }
};

const char* fused_op_name(FusedKind kind);

struct FusedOp {
  FusedKind kind = FusedKind::conv;
  std::string name;   // from the graph, for profiles and messages
  int input = -1;     // tensor ids
  int residual = -1;
  int output = -1;    // -1 for export_output
  int out_height = 0, out_width = 0;
  int band_rows = 1;  // output rows per schedule step
  // conv / up2x_conv
  int kernel = 0, stride = 1, pad = 0, cin = 0, cout = 0;
  bool relu = false;
  bool winograd = false;  // 3x3 stride 1 as Winograd F(MxM, 3x3): weights are (M+2)^2 1x1 matrices
  int winograd_m = 0;     // output tile size M: 6 in fp32, 4 for bf16 products
  // Winograd: output channels of the products, cout rounded up to whole vectors (the extra ones
  // have zero weights and are not stored); an up2x conv's are its four phases', 4 x cout.
  int gemm_cout = 0;
  bool bf16 = false;      // Winograd products in bf16 (packed->bf16 holds the 36 matrices)
  // What this conv runs as, and, where it has a choice (conv_choice.h), the graph node that
  // names it in ConvChoices and every algorithm it could run as on this CPU (default first).
  ConvAlgo algo = ConvAlgo::direct;
  std::string choice;
  std::vector<ConvAlgo> candidates;
  // int8 precision: u8 input (step in_scale, zero point 0 or 128, quantized per step from the
  // fp32 input rows) x s8 weights (packed->i8, one matrix per up2x phase); per matrix and output
  // channel, i8_scale = in_scale x the weight scale and i8_zero_point_sum = zero point x the
  // weight sum.
  bool int8 = false;
  float in_scale = 0;
  int zero_point = 0;
  std::vector<std::vector<float>> i8_scale;
  std::vector<std::vector<int32_t>> i8_zero_point_sum;
  std::shared_ptr<const PackedConv> packed;  // possibly shared with other plans of the model
  std::vector<float> bias;
  // group_norm_relu. When the normalized tensor comes from a conv (the pool branch's 1x1), the
  // statistics are computed in a pass of their own that recomputes that conv row by row from
  // `stats_input`, so the wide normalized tensor never has to be held whole.
  int stats_input = -1;    // tensor read whole for the statistics pass (-1: use `input` whole)
  int stats_conv_op = -1;  // op whose conv produces `input` from `stats_input`
  int groups = 0;
  float eps = 0;
  std::vector<float> gamma, beta;
  // import_input
  float clamp_limit = 0;  // 0: none
  // import_input / export_output: the frame of the step's input / output; with factor > 1 a pixel
  // unshuffle (import) or shuffle (export, pixel_shuffle) by it
  int frame = 0;
  int factor = 1;
  // concat: tensors side by side on channels in this order, then `state` (-1: none)
  std::vector<int> sources;
  int state = -1;
  // an op that must have finished all its rows before this op's first (the previous instance's
  // concat, which writes the state this one reads)
  int after_op = -1;
  double flops = 0;       // multiply-adds x 2 as executed
  double model_flops = 0; // as the unfused model defines them (upsample not folded)
};

struct Step {
  int op;
  int row_begin, row_end;
};

struct Program {
  std::vector<TensorDesc> tensors;
  std::vector<FusedOp> ops;
  std::vector<Step> steps;
  std::vector<StateDesc> states;
  size_t state_floats = 0;
  size_t arena_floats = 0;
  size_t zero_row_offset = 0;  // a row of zeros (max stride) standing in for rows outside the image
  int final_tensor = -1;

  double flops() const;
  double model_flops() const;
  size_t weight_bytes() const;
  // Canonical text of everything that decides what run() does, except weight values (those are
  // pinned by the weight file's hash): ops, tensors, memory plan, steps. Packages store its hash.
  std::string describe() const;
};

struct LowerOptions {
  const ConvKernelSet* kernels = nullptr;
  bool whole_tensors = false;  // unbanded: every tensor whole, one step per op
  int band_pixels = kDefaultBandPixels;  // target output pixels per step when banded
  bool winograd = true;        // use Winograd F(4x4, 3x3) where it applies
  // A nearest-2x upsample + 3x3 conv as one low-resolution Winograd conv making the four output
  // phases as 4x the channels, then a pixel shuffle (instead of four direct 2x2 phase convs).
  bool winograd_upsample = false;
  const WinogradBf16KernelSet* bf16 = nullptr;  // FP16-class: Winograd products in bf16
  PackedWeightCache* packed_cache = nullptr;    // share packed weights across plans (may be null)
  // int8 precision: convs above the latent resolution run int8 with these input ranges.
  const ConvI8KernelSet* int8 = nullptr;
  const ActivationCalibration* calibration = nullptr;
  bool int8_shadows = true;  // false: every int8 conv quantizes its fp32 input rows (tests, A/B)
  // Per-conv algorithms (measured, or from a package); the rest keep the defaults above.
  const ConvChoices* choices = nullptr;
};

// Graph -> fused ops -> schedule -> memory plan. `input` is the plan's input shape.
Result<Program> lower_program(const Model& model, ValueShape input, const LowerOptions& options);

}  // namespace taec

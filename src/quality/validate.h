// Checking a compiled plan against the fp32 reference: the figures `taec validate` prints and
// that a package records at pack time.
//
// Typical use (a decoder from weights or a package; the candidate may use any layout/io dtype):
//
//   ValidationInputOptions in;                  // 2 seeded random latents by default
//   in.image_paths = {"astronaut.png"};         // + real-image latents (needs the encoder)
//   auto set = make_validation_set(decoder_model, encoder_model.get(), 512, 512, in);
//   auto report = validate_plan(candidate_plan, *set,
//                               default_tolerance("taef2", candidate_plan.options().precision));
//   if (!report->passed) ...;   // report->worst.max_abs, report->cases[i].error ...
//
// A set runs the slow reference engine once per input and keeps its outputs, so several
// candidates of the same size (fp32, bf16, a package's plans) are checked against it cheaply.
//
// Video decoders are validated on clips: each input is a clip of several latents, pushed through
// a stream of the plan one latent at a time (plan/stream.h), and its output is every frame the
// clip keeps (the frame rules applied), compared with reference_decode_clip's.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "graph/model.h"
#include "plan/plan.h"
#include "quality/metrics.h"

namespace taec {

// One input of the plan under test, NCHW fp32, batch 1 (converted to the candidate's layout and
// io dtype when it runs).
struct ValidationInput {
  std::string name;  // "random_0", "image:astronaut", "random_clip_0" …
  ValueShape shape;  // of one frame of `data`
  int frames = 1;    // video decoders: the clip's latents, back to back in `data`
  std::vector<float> data;
};

struct ValidationInputOptions {
  // Seeded random inputs. Decoders get latents drawn i.i.d. from N(0, s^2) with s the contract's
  // typical std of real-image latents (0.8): the scale the decoder sees in use, so every layer
  // runs in its working range rather than in the tanh input clamp's saturation. Encoders get
  // uniform [0,1] noise images (the whole input range, the hardest case for the encoder). The
  // generator is splitmix64 + Box-Muller, defined here, so a seed gives the same inputs with any
  // standard library.
  int random_count = 2;
  uint64_t seed = 20240917;
  // Real photos: each is scaled to cover the plan's size and center-cropped (image_prep.h); a
  // decoder gets their latents from `encoder` run as a compiled fp32 plan.
  std::vector<std::string> image_paths;
  // Video decoders: latents per random clip (drawn like single latents). Photos are not used.
  int clip_latents = 4;
};

// Inputs for a plan of `model` at height x width image pixels. `encoder` (role encoder, same
// latent channels) is needed only for a decoder with image_paths; it may be null otherwise.
Result<std::vector<ValidationInput>> make_validation_inputs(const Model& model, const Model* encoder, int height,
                                                            int width, const ValidationInputOptions& options);

// Runs `plan` on one input (an image plan once; a video plan as a stream over the clip, which is
// declared `in.frames` latents long) and returns its output as NCHW fp32: the image, or every
// frame the clip keeps, back to back.
Result<std::vector<float>> run_validation_input(Plan& plan, const ValidationInput& in);

// Inputs plus the reference engine's outputs on them.
struct ValidationSet {
  std::string variant;
  Role role = Role::decoder;
  int height = 0, width = 0;  // image size of the plans it checks
  std::vector<ValidationInput> inputs;
  std::vector<std::vector<float>> reference_outputs;  // NCHW fp32, parallel to inputs
};

// make_validation_inputs + the plain fp32 reference plan of `model` run on each (single
// threaded: ~10 s per taef2 input at 512x512, ~4x that at 1024x1024; size sets accordingly).
// Video decoders: reference_decode_clip (runtime/video_reference.h), frame by frame.
Result<ValidationSet> make_validation_set(std::shared_ptr<const Model> model, const Model* encoder, int height,
                                          int width, const ValidationInputOptions& options);

struct ValidationCase {
  std::string input;  // ValidationInput::name
  ErrorStats error;   // candidate vs reference over the whole (unclamped) output
};

struct ValidationReport {
  std::vector<ValidationCase> cases;
  // Field-wise worst over the cases: largest max_abs, MAE and RMSE, smallest PSNR.
  ErrorStats worst;
  double tolerance = 0;  // on max_abs
  bool passed = false;   // every output finite and worst.max_abs <= tolerance
};

// Runs `candidate` on every input of `set` and compares its outputs with the reference's
// (unclamped: the numbers a caller receives). The candidate must map the set's shapes; it may
// use any layout and io dtype. Errors: a shape mismatch or a failed run (with the input's name),
// never a tolerance failure (that is `passed == false`).
Result<ValidationReport> validate_plan(Plan& candidate, const ValidationSet& set, double tolerance);

// Max |err| a plan of `precision` may show against the reference: 1e-3 for compiled fp32 (and 0
// for the reference itself); FP16-class (bf16): 0.05 for FLUX.2 (taef2) and 0.03 for the rest
// (FLUX.1-class: taef1, taesd3, taesd, taesdxl), the product's tolerances; video decoders (the
// TAEHV family) kVideoBf16Tolerance over a clip (the super decoder kVideoSuperBf16Tolerance).
double default_tolerance(std::string_view variant, Precision precision);

// "reference", "fp32", "bf16".
const char* precision_name(Precision precision);

// Max |err| allowed for int8 plans (weights and activations) against the fp32 reference, for
// both variants: a documented, measured bound (docs/QUANTIZATION.md), not a product tolerance.
constexpr double kInt8Tolerance = 0.3;

// Max |err| allowed for bf16 video decoder plans against the fp32 reference over a validation
// clip: about 1.6x the worst seen on the synthetic TAEHV weights (4-latent clips, 64x96 to
// 720x1280, NHWC fp16 I/O: base decoders up to 0.034, the super decoder 0.10; docs/PACKAGE.md
// "Video packages"). Measured, not product, tolerances.
constexpr double kVideoBf16Tolerance = 0.06;
constexpr double kVideoSuperBf16Tolerance = 0.16;

}  // namespace taec

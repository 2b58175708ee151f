#include "quality/validate.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "graph/frame_rules.h"
#include "graph/variants.h"
#include "plan/io_convert.h"
#include "plan/stream.h"
#include "quality/image_prep.h"
#include "quality/latent_contract.h"
#include "runtime/video_reference.h"

namespace taec {
namespace {

// splitmix64 (Steele, Lea, Flood 2014): tiny, fully specified, good enough for test inputs.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1): 53 random bits, never 0 (Box-Muller takes its log).
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
};

void fill_normal(SplitMix64& rng, double stddev, std::vector<float>& out) {
  constexpr double kTwoPi = 6.283185307179586;
  for (size_t i = 0; i < out.size(); i += 2) {
    const double r = std::sqrt(-2.0 * std::log(rng.uniform())) * stddev, t = kTwoPi * rng.uniform();
    out[i] = static_cast<float>(r * std::cos(t));
    if (i + 1 < out.size()) out[i + 1] = static_cast<float>(r * std::sin(t));
  }
}

std::string stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

size_t elems(const ValueShape& s) { return static_cast<size_t>(s.channels) * s.height * s.width; }

size_t io_bytes(const Plan& plan, const ValueShape& s) {
  return elems(s) * (plan.options().io_dtype == IoDtype::f16 ? 2 : 4);
}

bool same_shape(const ValueShape& a, const ValueShape& b) {
  return a.channels == b.channels && a.height == b.height && a.width == b.width;
}

std::string shape_string(const ValueShape& s) {
  return std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" + std::to_string(s.width);
}

// Runs an image plan on an NCHW fp32 input, returning its output as NCHW fp32.
Result<std::vector<float>> run_nchw_f32(Plan& plan, const std::vector<float>& input) {
  const PlanShapes& s = plan.shapes();
  const PlanOptions& o = plan.options();
  std::vector<uint8_t> in(io_bytes(plan, s.input)), out(io_bytes(plan, s.output));
  export_nchw_f32(input.data(), s.input, o.layout, o.io_dtype, in.data());
  TAEC_RETURN_IF_ERROR(plan.run(in.data(), out.data()));
  std::vector<float> result(elems(s.output));
  import_nchw_f32(out.data(), o.layout, o.io_dtype, s.output, result.data());
  return result;
}

// A clip of latents through a stream of a video decoder plan, every kept frame pulled as soon as
// it is ready, as an application would.
Result<std::vector<float>> stream_nchw_f32(Plan& plan, const ValidationInput& clip) {
  const PlanShapes& s = plan.shapes();
  const PlanOptions& o = plan.options();
  StreamOptions so;
  so.clip_latents = clip.frames;
  TAEC_ASSIGN_OR_RETURN(std::unique_ptr<Stream> stream, Stream::create(&plan, so));
  std::vector<uint8_t> in(io_bytes(plan, s.input)), out(stream->output_bytes());
  std::vector<float> result;
  auto drain = [&]() -> Status {
    while (stream->pending() > 0) {
      TAEC_RETURN_IF_ERROR(stream->pull(out.data()));
      result.resize(result.size() + elems(s.output));
      import_nchw_f32(out.data(), o.layout, o.io_dtype, s.output, result.data() + result.size() - elems(s.output));
    }
    return ok_status();
  };
  for (int t = 0; t < clip.frames; ++t) {
    export_nchw_f32(clip.data.data() + t * elems(s.input), s.input, o.layout, o.io_dtype, in.data());
    TAEC_RETURN_IF_ERROR(stream->push(in.data()).with_context("latent " + std::to_string(t)));
    TAEC_RETURN_IF_ERROR(drain());
  }
  TAEC_RETURN_IF_ERROR(stream->flush());
  TAEC_RETURN_IF_ERROR(drain());
  return result;
}

// Frames an input's output holds: 1 for an image, the frames a clip keeps for a video decoder.
size_t output_frames(const Model& model, const ValidationInput& in) {
  return model.is_video() ? static_cast<size_t>(decode_trim(model, in.frames).frames()) : 1;
}

const VideoVariantSpec* find_video_variant(std::string_view variant) {
  for (const VideoVariantSpec& v : known_video_variants()) {
    if (variant == v.name) return &v;
  }
  return nullptr;
}

}  // namespace

Result<std::vector<float>> run_validation_input(Plan& plan, const ValidationInput& in) {
  if (in.data.size() != elems(plan.shapes().input) * static_cast<size_t>(in.frames)) {
    return Status(Code::shape, "validation input " + in.name + " holds " + std::to_string(in.data.size()) + " values, not " +
                                   std::to_string(in.frames) + " x " + shape_string(plan.shapes().input));
  }
  if (!plan.model().is_video()) return run_nchw_f32(plan, in.data);
  if (plan.model().role != Role::decoder) return Status(Code::unsupported, "validating video encoders is not supported yet");
  return stream_nchw_f32(plan, in);
}

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::reference:
      return "reference";
    case Precision::fp32:
      return "fp32";
    case Precision::bf16:
      return "bf16";
    case Precision::int8:
      return "int8";
  }
  return "unknown";
}

double default_tolerance(std::string_view variant, Precision precision) {
  switch (precision) {
    case Precision::reference:
      return 0.0;
    case Precision::fp32:
      return 1e-3;
    case Precision::bf16:
      if (const VideoVariantSpec* v = find_video_variant(variant)) return v->super_decoder ? kVideoSuperBf16Tolerance : kVideoBf16Tolerance;
      return variant == "taef2" ? 0.05 : 0.03;
    case Precision::int8:
      return kInt8Tolerance;
  }
  return 0.0;
}

Result<std::vector<ValidationInput>> make_validation_inputs(const Model& model, const Model* encoder, int height,
                                                            int width, const ValidationInputOptions& options) {
  PlanOptions probe;
  probe.image_height = height;
  probe.image_width = width;
  TAEC_ASSIGN_OR_RETURN(PlanShapes shapes, plan_shapes(model, probe));
  const bool decoder = model.role == Role::decoder;
  const LatentContract* contract = find_latent_contract(model.variant);
  const double latent_std = contract ? contract->typical_std : 0.8;

  std::vector<ValidationInput> inputs;
  SplitMix64 rng{options.seed};
  if (model.is_video()) {
    if (!decoder) return Status(Code::unsupported, model.variant + ": validating video encoders is not supported yet");
    if (!options.image_paths.empty()) {
      return Status(Code::invalid_argument, model.variant + ": video decoders are validated on seeded random clips; photos are not used");
    }
    if (options.clip_latents < 1) return Status(Code::invalid_argument, "a validation clip needs at least one latent");
    for (int i = 0; i < options.random_count; ++i) {
      ValidationInput in{"random_clip_" + std::to_string(i), shapes.input, options.clip_latents,
                         std::vector<float>(elems(shapes.input) * options.clip_latents)};
      fill_normal(rng, latent_std, in.data);
      inputs.push_back(std::move(in));
    }
    return inputs;
  }
  for (int i = 0; i < options.random_count; ++i) {
    ValidationInput in{"random_" + std::to_string(i), shapes.input, 1, std::vector<float>(elems(shapes.input))};
    if (decoder) {
      fill_normal(rng, latent_std, in.data);
    } else {
      for (float& v : in.data) v = static_cast<float>(rng.uniform());
    }
    inputs.push_back(std::move(in));
  }
  if (options.image_paths.empty()) return inputs;

  std::unique_ptr<Plan> encode;
  if (decoder) {
    if (encoder == nullptr || encoder->role != Role::encoder) {
      return Status(Code::invalid_argument,
                    "real-image latents for " + model.variant + " need its encoder; none was given");
    }
    if (encoder->latent_channels != model.latent_channels) {
      return Status(Code::invalid_argument, "encoder " + encoder->source_path + " makes " +
                                                std::to_string(encoder->latent_channels) + "-channel latents; " +
                                                model.variant + " decodes " + std::to_string(model.latent_channels));
    }
    PlanOptions eo;
    eo.image_height = height;
    eo.image_width = width;
    eo.precision = Precision::fp32;
    // A non-owning alias: the plan is dropped before this function returns, `encoder` outlives it.
    TAEC_ASSIGN_OR_RETURN(encode,
                          compile_plan(std::shared_ptr<const Model>(std::shared_ptr<const Model>(), encoder), eo));
  }
  for (const std::string& path : options.image_paths) {
    TAEC_ASSIGN_OR_RETURN(RgbImage image, load_image_fitted(path, height, width));
    ValidationInput in{"image:" + stem(path), shapes.input, 1, {}};
    if (decoder) {
      Result<std::vector<float>> latent = run_nchw_f32(*encode, image.chw);
      if (!latent.ok()) return latent.status().with_context("encoding " + path);
      in.data = std::move(latent).value();
    } else {
      in.data = std::move(image.chw);
    }
    inputs.push_back(std::move(in));
  }
  return inputs;
}

Result<ValidationSet> make_validation_set(std::shared_ptr<const Model> model, const Model* encoder, int height,
                                          int width, const ValidationInputOptions& options) {
  ValidationSet set;
  set.variant = model->variant;
  set.role = model->role;
  set.height = height;
  set.width = width;
  TAEC_ASSIGN_OR_RETURN(set.inputs, make_validation_inputs(*model, encoder, height, width, options));
  if (model->is_video()) {
    for (const ValidationInput& in : set.inputs) {
      set.reference_outputs.push_back(reference_decode_clip(*model, in.data.data(), in.frames, in.shape.height, in.shape.width,
                                                            ReferenceMode::steps));
    }
    return set;
  }
  PlanOptions o;
  o.image_height = height;
  o.image_width = width;
  o.precision = Precision::reference;
  o.nonfinite = NonfinitePolicy::propagate;
  TAEC_ASSIGN_OR_RETURN(std::unique_ptr<Plan> reference, compile_plan(std::move(model), o));
  for (const ValidationInput& in : set.inputs) {
    Result<std::vector<float>> out = run_nchw_f32(*reference, in.data);
    if (!out.ok()) return out.status().with_context("reference plan on " + in.name);
    set.reference_outputs.push_back(std::move(out).value());
  }
  return set;
}

Result<ValidationReport> validate_plan(Plan& candidate, const ValidationSet& set, double tolerance) {
  const PlanShapes& cs = candidate.shapes();
  if (candidate.model().role != set.role || candidate.options().image_height != set.height ||
      candidate.options().image_width != set.width) {
    return Status(Code::shape, std::string("candidate plan is a ") + role_name(candidate.model().role) + " for " +
                                   std::to_string(candidate.options().image_height) + "x" +
                                   std::to_string(candidate.options().image_width) +
                                   " images; the validation set is for a " + role_name(set.role) + " at " +
                                   std::to_string(set.height) + "x" + std::to_string(set.width));
  }
  ValidationReport report;
  report.tolerance = tolerance;
  report.worst.psnr_db = std::numeric_limits<double>::infinity();
  bool all_finite = true;
  for (size_t i = 0; i < set.inputs.size(); ++i) {
    const ValidationInput& in = set.inputs[i];
    const std::vector<float>& want = set.reference_outputs[i];
    if (!same_shape(in.shape, cs.input) || in.data.size() != elems(cs.input) * in.frames ||
        want.size() != elems(cs.output) * output_frames(candidate.model(), in)) {
      return Status(Code::shape, "validation input " + in.name + " is " + shape_string(in.shape) +
                                     "; the candidate plan maps " + shape_string(cs.input) + " -> " +
                                     shape_string(cs.output));
    }
    Result<std::vector<float>> got = run_validation_input(candidate, in);
    if (!got.ok()) return got.status().with_context("candidate plan on " + in.name);
    const ErrorStats e = compare_buffers(got->data(), want.data(), want.size(), /*clamp01=*/false);
    report.cases.push_back({in.name, e});
    ErrorStats& w = report.worst;
    if (e.nonfinite > 0) {
      all_finite = false;
      w.nonfinite += e.nonfinite;
      w.max_abs = w.mae = w.rmse = w.psnr_db = std::numeric_limits<double>::quiet_NaN();
    } else if (all_finite) {
      w.max_abs = std::max(w.max_abs, e.max_abs);
      w.mae = std::max(w.mae, e.mae);
      w.rmse = std::max(w.rmse, e.rmse);
      w.psnr_db = std::min(w.psnr_db, e.psnr_db);
    }
    w.count += e.count;
  }
  report.passed = all_finite && !set.inputs.empty() && report.worst.max_abs <= tolerance;
  return report;
}

}  // namespace taec

#include "package/pack.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/file_util.h"
#include "base/half.h"
#include "base/sha256.h"
#include "io/weights_locator.h"
#include "package/package.h"
#include "package/package_writer.h"
#include "package/weight_file.h"
#include "plan/program.h"
#include "plan/tune.h"
#include "quant/quant_format.h"
#include "quality/calibrate.h"
#include "quality/validate.h"

namespace taec {
namespace {

namespace fs = std::filesystem;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// "…/taef2_decoder.safetensors" -> "taef2", "…/taew2_1_synthetic.pth" -> "taew2_1_synthetic";
// a bare name stays as it is.
std::string model_name_of(const std::string& weights_arg) {
  std::string stem = fs::path(weights_arg).stem().string();
  for (const char* suffix : {"_decoder", "_encoder"}) {
    const size_t at = stem.rfind(suffix);
    if (at != std::string::npos && at + std::strlen(suffix) == stem.size()) return stem.substr(0, at);
  }
  return stem;
}

// The model packed: the checkpoint's only half, or the decoder of a file holding both (a TAEHV
// checkpoint; packages are for decoding).
Result<std::shared_ptr<const Model>> load_source(const PackOptions& o) {
  TAEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(o.weights_path, CheckpointLimits::kMaxFileBytes));
  TAEC_ASSIGN_OR_RETURN(Checkpoint ckpt, parse_checkpoint(o.weights_path, bytes));
  bool has_decoder = false, has_encoder = false;
  for (const RawTensor& t : ckpt.tensors) {
    has_decoder |= t.name.rfind("decoder.", 0) == 0;
    has_encoder |= t.name.rfind("encoder.", 0) == 0;
  }
  LoadRequest request;
  request.variant = o.variant;
  if (has_decoder && has_encoder) request.role = static_cast<int>(Role::decoder);
  TAEC_ASSIGN_OR_RETURN(std::shared_ptr<Model> model, build_model(ckpt, request));
  model->source_sha256 = sha256_hex(bytes.data(), bytes.size());
  return std::shared_ptr<const Model>(std::move(model));
}

// What a video pack cannot validate, refused before any work.
Status check_video_request(const Model& model, const PackOptions& o) {
  const std::string what = o.weights_path + ": " + model.variant + " " + role_name(model.role);
  if (model.role != Role::decoder) return Status(Code::unsupported, what + ": video packages hold decoders");
  if (o.precision == Precision::int8) {
    return Status(Code::unsupported, what + ": int8 precision is not supported for video decoders (docs/VIDEO.md); use bf16 or fp32");
  }
  if (o.weights != WeightQuant::none && o.tolerance == 0) {
    return Status(Code::invalid_argument, what + ": quantized weights (" + weight_quant_name(o.weights) +
                                              ") have no measured tolerance for video decoders; pass --tolerance to pack them anyway");
  }
  if (!o.image_dir.empty() || !o.encoder_path.empty()) {
    return Status(Code::invalid_argument, what + ": video decoders are validated on seeded random clips (--random-inputs, --clip-latents); "
                                                 "photos (--images, --encoder) are not used");
  }
  if (o.clip_latents < 3 || o.clip_latents > 4096) {
    return Status(Code::invalid_argument, "validation clips of " + std::to_string(o.clip_latents) +
                                              " latents: at least 3 are needed to exercise every MemBlock state (and at most 4096)");
  }
  if (o.random_inputs < 1) return Status(Code::invalid_argument, "nothing to validate on: video packages need at least one random clip (--random-inputs)");
  return ok_status();
}

// The encoder that makes the real-image validation latents: beside the decoder's file
// (…_decoder.X -> …_encoder.X), else by model name ($TAEC_MODEL_DIR, cache).
std::string find_encoder(const std::string& decoder_path, const std::string& model_name) {
  const fs::path p(decoder_path);
  std::string file = p.filename().string();
  const size_t at = file.rfind("_decoder");
  if (at != std::string::npos) {
    const fs::path sibling = p.parent_path() / (file.substr(0, at) + "_encoder" + file.substr(at + 8));
    std::error_code ec;
    if (fs::is_regular_file(sibling, ec)) return sibling.string();
  }
  auto resolved = resolve_weights(model_name, static_cast<int>(Role::encoder));
  return resolved.ok() ? *resolved : "";
}

std::vector<std::string> photos_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    if (e.is_regular_file(ec) && (ext == ".png" || ext == ".jpg" || ext == ".jpeg")) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Checkpoint tensors as weight.bin stores them: f16 where the checkpoint held f16 (exact),
// else f32 (bf16 widens exactly); with a quantization method, every convolution weight
// (rank 4) as a quantized record: int8 per output channel, 8-bit palette per tensor, 4-bit
// palette per output channel (the variants with the best size/error trade-off measured on
// taef2, see quant/palettize.h).
Result<std::vector<WeightEntry>> weight_entries(const Model& model, WeightQuant quant) {
  std::vector<WeightEntry> out;
  for (const Weight& w : model.graph.weights) {
    DType stored = DType::f32;
    for (const TensorListing& t : model.tensors) {
      if (t.name == w.name) stored = t.dtype == DType::f16 ? DType::f16 : DType::f32;
    }
    WeightEntry e;
    e.tensor.name = w.name;
    e.tensor.dtype = stored;
    e.tensor.shape = w.shape;
    if (quant != WeightQuant::none && weight_is_quantized(w.shape)) {
      TAEC_ASSIGN_OR_RETURN(e.quantized, quantized_record(w.data.data(), w.shape, quant));
      out.push_back(std::move(e));
      continue;
    }
    e.tensor.bytes.resize(w.data.size() * dtype_size(stored));
    for (size_t i = 0; i < w.data.size(); ++i) {
      if (stored == DType::f16) {
        const uint16_t h = float_to_fp16(w.data[i]);
        std::memcpy(e.tensor.bytes.data() + 2 * i, &h, 2);
      } else {
        std::memcpy(e.tensor.bytes.data() + 4 * i, &w.data[i], 4);
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

ErrorFigures figures(const std::string& input, const ErrorStats& e) { return {input, e.max_abs, e.mae, e.rmse}; }

// The reference chain: pack-time validation compares against a compiled fp32 plan, because the
// scalar reference engine needs ~40 s per 1024x1024 decode. For FP16-class packages that is the
// fp32 Winograd plan (within ~2e-5 of the scalar engine on the golden cases); an fp32 package is
// itself that plan, so it is checked against fp32 direct convolution (no Winograd), a different
// algorithm. The reference plan is tied to the scalar engine here, once per pack, at a small
// size, and the figure goes into the manifest.
PlanOptions reference_options(Precision candidate, int height, int width, int threads) {
  PlanOptions o;
  o.image_height = height;
  o.image_width = width;
  o.layout = Layout::nchw;  // a ValidationSet's own layout: no conversion
  o.io_dtype = IoDtype::f32;
  o.precision = Precision::fp32;
  o.direct_conv_only = candidate == Precision::fp32;
  o.threads = threads;
  o.nonfinite = NonfinitePolicy::propagate;
  return o;
}

const char* reference_name(Precision candidate) {
  return candidate == Precision::fp32 ? "fp32 direct convolution (compiled, no Winograd)" : "fp32 Winograd F(6x6,3x3) (compiled)";
}

Result<std::string> anchor_reference(const std::shared_ptr<const Model>& model, Precision candidate, int clip_latents, int threads) {
  // The scalar engine is slow; 64x64 already runs every layer of an image TAE, and a 4x4-latent
  // clip every layer and state of a video decoder.
  const int size = model->is_video() ? 4 * model->spatial_factor : 64;
  const std::string at = std::to_string(size) + "x" + std::to_string(size) +
                         (model->is_video() ? " over a " + std::to_string(clip_latents) + "-latent clip" : "");
  TAEC_ASSIGN_OR_RETURN(auto plan, compile_plan(model, reference_options(candidate, size, size, threads)));
  ValidationInputOptions vo;
  vo.random_count = 1;
  vo.clip_latents = clip_latents;
  TAEC_ASSIGN_OR_RETURN(ValidationSet scalar, make_validation_set(model, nullptr, size, size, vo));
  TAEC_ASSIGN_OR_RETURN(ValidationReport r, validate_plan(*plan, scalar, 1e-4));
  if (!r.passed) {
    return Status(Code::internal, std::string("the ") + reference_name(candidate) + " reference differs from the scalar reference engine by " +
                                      fmt("%.3g", r.worst.max_abs) + " at " + at + ": a taec bug, please report it");
  }
  return std::string(reference_name(candidate)) + "; agrees with the scalar reference engine to " + fmt("%.2g", r.worst.max_abs) +
         " at " + at;
}

// The validation set of one size, reference outputs from the reference plan (see above).
Result<ValidationSet> reference_set(const std::shared_ptr<const Model>& source, const Model& packed, const Model* encoder,
                                    Precision candidate, int height, int width, int threads, const ValidationInputOptions& vo) {
  ValidationSet set;
  set.variant = packed.variant;
  set.role = packed.role;
  set.height = height;
  set.width = width;
  TAEC_ASSIGN_OR_RETURN(set.inputs, make_validation_inputs(packed, encoder, height, width, vo));
  TAEC_ASSIGN_OR_RETURN(auto reference, compile_plan(source, reference_options(candidate, height, width, threads)));
  for (const ValidationInput& in : set.inputs) {
    Result<std::vector<float>> out = run_validation_input(*reference, in);
    if (!out.ok()) return out.status().with_context("reference plan on " + in.name);
    set.reference_outputs.push_back(std::move(out).value());
  }
  return set;
}

// Quantized weights add their own error. These bounds are the method's measured worst max |err|
// with about 1.6x margin (bf16 compute; taef2 and taef1_synthetic at 256, 512, 1024 and 2048;
// random and photo latents: palette8 0.057, int8 0.122, palette4 0.38): documented, not
// product, tolerances.
double pack_tolerance(const std::string& variant, Precision precision, WeightQuant quant) {
  if (precision == Precision::int8) return kInt8Tolerance;  // int8 weights included
  switch (quant) {
    case WeightQuant::none: return default_tolerance(variant, precision);
    case WeightQuant::palette8: return 0.1;
    case WeightQuant::int8: return 0.2;
    case WeightQuant::palette4: return 0.6;
  }
  return 0;
}

}  // namespace

Result<uint64_t> weight_file_bytes(const Model& model, WeightQuant q) {
  TAEC_ASSIGN_OR_RETURN(std::vector<WeightEntry> entries, weight_entries(model, q));
  TAEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, write_weight_file(entries));
  return static_cast<uint64_t>(bytes.size());
}

Result<PackResult> pack_package(const PackOptions& o, const ProgressFn& progress) {
  const auto start = std::chrono::steady_clock::now();
  if (o.sizes.empty()) return Status(Code::invalid_argument, "no sizes to pack");
  for (size_t i = 0; i < o.sizes.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (o.sizes[i] == o.sizes[j]) {
        return Status(Code::invalid_argument, "size " + std::to_string(o.sizes[i].first) + "x" + std::to_string(o.sizes[i].second) +
                                                  " is listed twice");
      }
    }
  }
  if (!std::isfinite(o.tolerance) || o.tolerance < 0) {
    return Status(Code::invalid_argument, "tolerance " + fmt("%g", o.tolerance) + " is not a finite, non-negative number (0 = the default)");
  }
  if (o.precision == Precision::reference) {
    return Status(Code::invalid_argument, "packages hold compiled plans: precision fp32, bf16 or int8, not reference");
  }
  if (o.out.empty()) return Status(Code::invalid_argument, "no output path (--out)");
  // Up front, so minutes of validation are not spent on a pack that could not be written.
  TAEC_RETURN_IF_ERROR(check_replaceable_package(o.out, o.zip));
  TAEC_ASSIGN_OR_RETURN(std::shared_ptr<const Model> source, load_source(o));
  if (source->is_video()) TAEC_RETURN_IF_ERROR(check_video_request(*source, o));
  Manifest m;
  m.taec_version = taec_version();
  m.model_name = o.model_name.empty() ? model_name_of(o.weights_path) : o.model_name;
  m.variant = source->variant;
  m.role = source->role;
  m.latent_channels = source->latent_channels;
  m.spatial_factor = source->spatial_factor;
  m.source_file = fs::path(source->source_path).filename().string();
  m.source_sha256 = source->source_sha256;
  m.layout = o.layout;
  m.io_dtype = o.io_dtype;
  m.precision = o.precision;
  // int8 plans requantize the weights per output channel exactly as int8 storage does, so that
  // is what they store unless told otherwise.
  const WeightQuant quant = o.precision == Precision::int8 && o.weights == WeightQuant::none ? WeightQuant::int8 : o.weights;
  m.weights = weight_quant_name(quant);
  if (source->is_video()) {
    const TemporalInfo t = source->graph.temporal();
    m.is_video = true;
    m.video.frame_rule = source->video.rule;
    m.video.time_factor = source->video.time_factor;
    m.video.patch = source->video.patch;
    m.video.super_decoder = source->video.super_decoder;
    m.video.frames_in = t.frames_in;
    m.video.frames_out = t.frames_out;
    m.video.clip_latents = o.clip_latents;
  }
  for (const auto& [h, w] : o.sizes) {
    PlanOptions probe;
    probe.image_height = h;
    probe.image_width = w;
    probe.threads = o.threads;
    TAEC_RETURN_IF_ERROR(plan_shapes(*source, probe).status());
  }

  // weight.bin, and the model rebuilt from it: what every loader of the package will run.
  TAEC_ASSIGN_OR_RETURN(std::vector<WeightEntry> entries, weight_entries(*source, quant));
  TAEC_ASSIGN_OR_RETURN(std::vector<uint8_t> weight_bin, write_weight_file(entries));
  entries.clear();
  m.files[kWeightFileName] = {weight_bin.size(), sha256_hex(weight_bin.data(), weight_bin.size())};
  TAEC_ASSIGN_OR_RETURN(Checkpoint packed_ck, read_weight_file(kWeightFileName, weight_bin.data(), weight_bin.size()));
  LoadRequest same;
  same.variant = source->variant;
  same.role = static_cast<int>(source->role);
  TAEC_ASSIGN_OR_RETURN(std::shared_ptr<Model> packed_model, build_model(packed_ck, same));
  const std::shared_ptr<const Model> model = std::move(packed_model);

  // Validation inputs.
  ValidationInputOptions vo;
  vo.random_count = o.random_inputs;
  vo.seed = o.seed;
  vo.clip_latents = o.clip_latents;
  std::string image_dir = o.image_dir;
  if (image_dir.empty() && std::getenv("TAEC_IMAGE_DIR") && !model->is_video()) image_dir = std::getenv("TAEC_IMAGE_DIR");
  if (!image_dir.empty()) {
    vo.image_paths = photos_in(image_dir);
    if (vo.image_paths.empty()) return Status(Code::invalid_argument, image_dir + ": no .png/.jpg photos for validation");
  }
  if (vo.random_count + vo.image_paths.size() == 0) {
    return Status(Code::invalid_argument, "nothing to validate on: give random inputs or photos (--random-inputs, --images)");
  }
  std::shared_ptr<const Model> encoder;
  if (!vo.image_paths.empty() && model->role == Role::decoder) {
    const std::string encoder_path = o.encoder_path.empty() ? find_encoder(o.weights_path, m.model_name) : o.encoder_path;
    if (encoder_path.empty()) {
      return Status(Code::invalid_argument, "validating on photos needs " + m.model_name +
                                                "'s encoder: none found beside the weights or by name; pass --encoder");
    }
    LoadRequest er;
    er.role = static_cast<int>(Role::encoder);
    TAEC_ASSIGN_OR_RETURN(encoder, load_model(encoder_path, er));
  }
  m.validation_inputs = std::to_string(vo.random_count) + " seeded random inputs (seed " + std::to_string(vo.seed) + ")";
  if (model->is_video()) {
    m.validation_inputs = std::to_string(vo.random_count) + " seeded random clips of " + std::to_string(vo.clip_latents) +
                          " latents (seed " + std::to_string(vo.seed) + "), each pushed through a stream one latent at a time; "
                          "error over every frame the clip keeps";
  } else if (!vo.image_paths.empty()) {
    m.validation_inputs += " + " + std::to_string(vo.image_paths.size()) + " photos from " + image_dir +
                           (encoder ? " encoded by " + fs::path(encoder->source_path).filename().string() : "");
  } else {
    m.validation_inputs += "; no photos (pass --images or set TAEC_IMAGE_DIR)";
  }
  progress(std::string("checking the reference (") + reference_name(o.precision) + ") against the scalar reference engine");
  TAEC_ASSIGN_OR_RETURN(m.reference, anchor_reference(source, o.precision, o.clip_latents, o.threads));
  if (o.precision == Precision::int8) {
    if (model->role != Role::decoder) return Status(Code::invalid_argument, "int8 precision is for decoders");
    if (vo.image_paths.empty() || !encoder) {
      return Status(Code::invalid_argument, "int8 precision calibrates on photos: pass --images (or set TAEC_IMAGE_DIR) and the encoder");
    }
    progress("calibrating int8 activations on " + std::to_string(vo.image_paths.size()) + " photos at " +
             std::to_string(kDefaultCalibrationSize) + "x" + std::to_string(kDefaultCalibrationSize));
    TAEC_ASSIGN_OR_RETURN(ActivationCalibration cal,
                          calibrate_on_photos(model, *encoder, vo.image_paths, kDefaultCalibrationSize, o.threads));
    m.calibration = std::make_shared<const ActivationCalibration>(std::move(cal));
  }
  const double tolerance = o.tolerance > 0 ? o.tolerance : pack_tolerance(m.variant, o.precision, quant);

  std::vector<PackageFile> files;
  auto cache = std::make_shared<PackedWeightCache>();
  for (size_t i = 0; i < o.sizes.size(); ++i) {
    const auto [h, w] = o.sizes[i];
    const std::string label = "[" + std::to_string(i + 1) + "/" + std::to_string(o.sizes.size()) + "] " + std::to_string(h) + "x" + std::to_string(w);
    const auto t0 = std::chrono::steady_clock::now();
    PlanOptions po;
    po.image_height = h;
    po.image_width = w;
    po.layout = o.layout;
    po.io_dtype = o.io_dtype;
    po.precision = o.precision;
    po.threads = o.threads;
    po.packed_cache = cache;
    po.band_pixels = model->is_video() ? 0 : kDefaultBandPixels;  // 0: the video defaults, recorded below
    po.calibration = m.calibration;
    po.tune = o.tune;
    TAEC_ASSIGN_OR_RETURN(auto plan, compile_plan(model, po));
    po.conv_choices = std::make_shared<const ConvChoices>(chosen_conv_algos(*plan));
    po.band_pixels = plan->options().band_pixels;
    po.winograd_tiles = plan->options().winograd_tiles;
    TAEC_ASSIGN_OR_RETURN(ValidationSet set, reference_set(source, *model, encoder.get(), o.precision, h, w, o.threads, vo));
    TAEC_ASSIGN_OR_RETURN(ValidationReport report, validate_plan(*plan, set, tolerance));

    ManifestPlan mp;
    mp.height = h;
    mp.width = w;
    mp.file = plan_file_name(h, w);
    if (model->is_video()) {
      mp.state_bytes = plan->state_floats() * sizeof(float);
      TAEC_ASSIGN_OR_RETURN(const uint64_t held, video_state_bytes(*model, h, w));
      if (held != mp.state_bytes) {
        return Status(Code::internal, "the " + std::to_string(h) + "x" + std::to_string(w) + " plan holds " + std::to_string(mp.state_bytes) +
                                          " bytes of stream state, the reference " + std::to_string(held) + ": a taec bug, please report it");
      }
    }
    mp.validation.tolerance = tolerance;
    mp.validation.passed = report.passed;
    for (const ValidationCase& c : report.cases) mp.validation.inputs.push_back(figures(c.input, c.error));
    mp.validation.worst = figures("", report.worst);
    for (const ValidationCase& c : report.cases) {
      if (c.error.max_abs == report.worst.max_abs) mp.validation.worst.input = c.input;
    }
    progress(label + ": max |err| " + fmt("%.3g", report.worst.max_abs) + " (" + mp.validation.worst.input + "), MAE " +
             fmt("%.3g", report.worst.mae) + ", RMSE " + fmt("%.3g", report.worst.rmse) + " over " + std::to_string(set.inputs.size()) +
             (model->is_video() ? " clips" : " inputs") + "; tolerance " + fmt("%g", tolerance) + (report.passed ? ": ok" : ": FAILED") + " (" +
             fmt("%.1f", seconds_since(t0)) + " s)");
    if (!report.passed) {
      return Status(Code::unsupported, m.model_name + " " + std::to_string(h) + "x" + std::to_string(w) + " " + precision_name(o.precision) +
                                           ": max |err| " + fmt("%.4g", report.worst.max_abs) + " on " + mp.validation.worst.input +
                                           " exceeds the tolerance " + fmt("%g", tolerance) + "; nothing was written");
    }

    const PlanStats stats = plan->stats();
    PlanFile pf;
    pf.taec_version = m.taec_version;
    pf.variant = m.variant;
    pf.role = m.role;
    pf.weights = m.files[kWeightFileName];
    pf.options = po;
    pf.band_pixels = po.band_pixels;
    const PlanShapes& s = plan->shapes();
    const bool nhwc = o.layout == Layout::nhwc;
    auto dims = [&](ValueShape v, int frames, int64_t* d) {
      d[0] = frames;
      d[1] = nhwc ? v.height : v.channels;
      d[2] = nhwc ? v.width : v.height;
      d[3] = nhwc ? v.channels : v.width;
    };
    dims(s.input, s.frames_in, pf.input_shape);
    dims(s.output, s.frames_out, pf.output_shape);
    pf.is_video = model->is_video();
    pf.frames_in = s.frames_in;
    pf.frames_out = s.frames_out;
    pf.state_bytes = mp.state_bytes;
    pf.kernels = stats.kernel;
    const std::string description = plan->program_description();
    pf.program_sha256 = sha256_hex(description.data(), description.size());
    pf.arena_bytes = stats.arena_bytes;
    pf.steps = stats.steps;
    for (const auto& op : stats.ops) pf.ops.push_back({op.name, op.kind});
    const std::string text = serialize_plan_file(pf);
    files.push_back({mp.file, std::vector<uint8_t>(text.begin(), text.end())});
    m.files[mp.file] = {text.size(), sha256_hex(text.data(), text.size())};
    m.plans.push_back(std::move(mp));
  }

  PackResult result;
  files.insert(files.begin(), PackageFile{kWeightFileName, std::move(weight_bin)});
  const std::string manifest = serialize_manifest(m);
  files.push_back({kManifestName, std::vector<uint8_t>(manifest.begin(), manifest.end())});
  for (const auto& f : files) result.package_bytes += f.bytes.size();
  progress("writing " + o.out + (o.zip ? " (zip)" : ""));
  PackageChecks checks;
  checks.may_replace = check_replaceable_package;
  checks.verify = [](const std::string& written) {
    for (const FileVerdict& v : verify_package(written)) {
      if (!v.ok) return Status(Code::internal, written + ": the package just written fails verification (" + v.file + ": " + v.detail + "); nothing was replaced");
    }
    return ok_status();
  };
  TAEC_RETURN_IF_ERROR(write_package(o.out, o.zip, files, checks));
  progress("packed " + std::to_string(o.sizes.size()) + " sizes in " + fmt("%.1f", seconds_since(start)) + " s");
  result.manifest = std::move(m);
  return result;
}

}  // namespace taec

// C API for packages (taec.h, "Packages"): pack, open, load plans, verify.
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "api/c_handles.h"
#include "base/half.h"
#include "package/pack.h"
#include "package/package.h"

namespace {

using taec::c_api::guarded;
using taec::c_api::invalid;
using taec::c_api::report;

template <typename E>
bool valid_enum(const E& value, std::initializer_list<int> allowed) {
  return taec::c_api::one_of(value, allowed);
}

}  // namespace

extern "C" {

void taec_pack_options_init(taec_pack_options* o) {
  if (o == nullptr) return;
  std::memset(o, 0, sizeof *o);
  o->layout = TAEC_LAYOUT_NHWC;
  o->io_dtype = TAEC_DTYPE_F16;
  o->precision = TAEC_PRECISION_BF16;
  o->random_inputs = 2;
  o->seed = 20240917;
  o->clip_latents = 4;
}

taec_status taec_pack(const char* weights_path, const taec_pack_options* o) {
  if (weights_path == nullptr || o == nullptr || o->out_path == nullptr) return invalid("taec_pack: NULL argument");
  if (o->size_count > 0 && (o->heights == nullptr || o->widths == nullptr)) return invalid("taec_pack: NULL sizes");
  if (!valid_enum(o->layout, {TAEC_LAYOUT_NCHW, TAEC_LAYOUT_NHWC})) return invalid("taec_pack: invalid layout");
  if (!valid_enum(o->io_dtype, {TAEC_DTYPE_F32, TAEC_DTYPE_F16})) return invalid("taec_pack: invalid io_dtype");
  if (!valid_enum(o->precision, {TAEC_PRECISION_FP32, TAEC_PRECISION_BF16, TAEC_PRECISION_INT8})) {
    return invalid("taec_pack: precision must be fp32, bf16 or int8 (packages hold compiled plans)");
  }
  if (o->random_inputs < 0 || o->tolerance < 0 || o->threads < 0) return invalid("taec_pack: negative count or tolerance");
  if (!valid_enum(o->tune, {TAEC_TUNE_DEFAULT, TAEC_TUNE_OFF, TAEC_TUNE_FAST, TAEC_TUNE_FULL})) return invalid("taec_pack: invalid tune mode");
  return guarded(weights_path, [&] {
    taec::PackOptions p;
    p.weights_path = weights_path;
    p.model_name = o->model_name ? o->model_name : "";
    p.variant = o->variant ? o->variant : "";
    p.clip_latents = o->clip_latents;
    for (size_t i = 0; i < o->size_count; ++i) p.sizes.emplace_back(o->heights[i], o->widths[i]);
    p.layout = static_cast<taec::Layout>(o->layout);
    p.io_dtype = static_cast<taec::IoDtype>(o->io_dtype);
    p.precision = static_cast<taec::Precision>(o->precision);
    const std::string weights = o->weights ? o->weights : "none";
    if (weights == "int8") p.weights = taec::WeightQuant::int8;
    else if (weights == "palette8") p.weights = taec::WeightQuant::palette8;
    else if (weights == "palette4") p.weights = taec::WeightQuant::palette4;
    else if (weights != "none") return invalid("taec_pack: weights \"" + weights + "\" is not none, int8, palette8 or palette4");
    p.out = o->out_path;
    p.zip = o->zip != 0;
    p.threads = o->threads;
    p.random_inputs = o->random_inputs;
    p.seed = o->seed;
    p.image_dir = o->image_dir ? o->image_dir : "";
    p.encoder_path = o->encoder_path ? o->encoder_path : "";
    p.tolerance = o->tolerance;
    p.tune = taec::tune_mode_of(o->tune);
    auto progress = [&](const std::string& line) {
      if (o->progress) o->progress(line.c_str(), o->progress_user);
    };
    return report(taec::pack_package(p, progress).status());
  });
}

taec_status taec_package_open(const char* path, taec_package** out) {
  if (path == nullptr || out == nullptr) return invalid("taec_package_open: NULL argument");
  *out = nullptr;
  return guarded(path, [&] {
    auto pkg = taec::Package::open(path);
    if (!pkg.ok()) return report(pkg.status());
    *out = new taec_package{std::move(pkg).value()};
    return report(taec::ok_status());
  });
}

void taec_package_free(taec_package* package) { delete package; }

taec_status taec_package_get_info(const taec_package* package, taec_package_info* out) {
  if (package == nullptr || out == nullptr) return invalid("taec_package_get_info: NULL argument");
  const taec::Manifest& m = package->package->manifest();
  out->model_name = m.model_name.c_str();
  out->variant = m.variant.c_str();
  out->role = static_cast<taec_role>(m.role);
  out->layout = static_cast<taec_layout>(m.layout);
  out->io_dtype = static_cast<taec_dtype>(m.io_dtype);
  out->precision = static_cast<taec_precision>(m.precision);
  out->size_count = m.plans.size();
  out->weight_file_bytes = package->package->weight_file_bytes();
  out->packed_weight_bytes = package->package->packed_weight_bytes();
  out->packed_by = m.taec_version.c_str();
  out->is_video = m.is_video ? 1 : 0;
  out->validation_clip_latents = m.is_video ? m.video.clip_latents : 0;
  return report(taec::ok_status());
}

taec_status taec_package_get_model(const taec_package* package, taec_model** out) {
  if (package == nullptr || out == nullptr) return invalid("taec_package_get_model: NULL argument");
  return guarded([&] {
    *out = new taec_model{package->package->model()};
    return report(taec::ok_status());
  });
}

taec_status taec_package_get_size(const taec_package* package, size_t index, int* height, int* width, double* validated_max_abs) {
  if (package == nullptr) return invalid("taec_package_get_size: NULL package");
  const auto& plans = package->package->manifest().plans;
  if (index >= plans.size()) return invalid("taec_package_get_size: index " + std::to_string(index) + " out of range");
  if (height) *height = plans[index].height;
  if (width) *width = plans[index].width;
  if (validated_max_abs) *validated_max_abs = plans[index].validation.worst.max_abs;
  return report(taec::ok_status());
}

taec_status taec_package_load_plan(taec_package* package, int height, int width, const taec_plan_options* run, taec_plan** out) {
  if (package == nullptr || out == nullptr) return invalid("taec_package_load_plan: NULL argument");
  *out = nullptr;
  taec::PackagePlanOptions o;
  if (run != nullptr) {
    if (!valid_enum(run->memory, {TAEC_MEMORY_BANDED, TAEC_MEMORY_WHOLE, TAEC_MEMORY_PACKAGE_SHARED})) return invalid("invalid memory mode");
    if (!valid_enum(run->nonfinite, {TAEC_NONFINITE_REJECT, TAEC_NONFINITE_PROPAGATE})) return invalid("invalid nonfinite policy");
    if (run->threads < 0) return invalid("threads must be >= 0");
    o.threads = run->threads;
    o.share_arena = run->memory == TAEC_MEMORY_PACKAGE_SHARED;
    o.memory = o.share_arena ? taec::MemoryMode::banded : static_cast<taec::MemoryMode>(run->memory);
    o.nonfinite = static_cast<taec::NonfinitePolicy>(run->nonfinite);
  }
  return guarded([&] {
    auto plan = package->package->load_plan(height, width, o);
    if (!plan.ok()) return report(plan.status());
    *out = new taec_plan{std::move(plan).value(), {}};
    return report(taec::ok_status());
  });
}

taec_status taec_package_verify(const char* path, taec_verify_fn fn, void* user, int* all_ok) {
  if (path == nullptr) return invalid("taec_package_verify: NULL path");
  return guarded(path, [&] {
    bool ok = true;
    for (const taec::FileVerdict& v : taec::verify_package(path)) {
      ok = ok && v.ok;
      if (fn) fn(v.file.c_str(), v.ok ? 1 : 0, v.detail.c_str(), user);
    }
    if (all_ok) *all_ok = ok ? 1 : 0;
    return report(taec::ok_status());
  });
}

void taec_f32_to_f16(const float* in, uint16_t* out, size_t count) {
  for (size_t i = 0; i < count; ++i) out[i] = taec::float_to_fp16(in[i]);
}

void taec_f16_to_f32(const uint16_t* in, float* out, size_t count) {
  for (size_t i = 0; i < count; ++i) out[i] = taec::fp16_to_float(in[i]);
}

}  // extern "C"

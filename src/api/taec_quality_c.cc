// The C ABI of include/taec/taec_quality.h over src/quality/. No exception crosses this file.
#include <cctype>
#include <cstring>
#include <filesystem>
#include <new>
#include <string>
#include <vector>

#include "api/c_handles.h"
#include "plan/nchw_adapter.h"
#include "quality/latent_contract.h"
#include "quality/metrics.h"
#include "quality/roundtrip.h"
#include "quality/validate.h"
#include "taec/taec_quality.h"

struct taec_validation_set {
  taec::ValidationSet set;
};

struct taec_validation {
  taec::ValidationReport report;
};

struct taec_roundtrip {
  std::string json, table, method_table;
};

namespace {

using taec::Code;
using taec::Status;

using taec::c_api::guarded;
using taec::c_api::invalid;
using taec::c_api::report;
taec_status ok() { return report(taec::ok_status()); }

// A package's decoder plans as a round-trip method, seen through NCHW f32 buffers.
taec::Result<taec::RoundtripMethod> package_method(std::shared_ptr<taec::Package> pkg, const std::string& variant) {
  const taec::Manifest& m = pkg->manifest();
  if (m.role != taec::Role::decoder || m.variant != variant) {
    return Status(Code::invalid_argument, pkg->path() + ": a " + m.variant + " " + taec::role_name(m.role) + " package; the round trip decodes " +
                                              variant);
  }
  std::string folder = std::filesystem::path(pkg->path()).filename().string();
  if (folder.empty()) folder = std::filesystem::path(pkg->path()).parent_path().filename().string();
  for (char& c : folder) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  }
  taec::RoundtripMethod method;
  method.name = "pkg-" + folder;
  method.label = "package " + pkg->path() + ": " + taec::precision_name(m.precision) + ", weights " + m.weights;
  method.precision = m.precision;
  method.package_weight_bytes = pkg->weight_file_bytes();
  method.decoder_plan = [pkg](int size, int threads) -> taec::Result<std::unique_ptr<taec::Plan>> {
    taec::PackagePlanOptions po;
    po.threads = threads;
    TAEC_ASSIGN_OR_RETURN(std::unique_ptr<taec::Plan> plan, pkg->load_plan(size, size, po));
    return taec::with_nchw_f32_io(std::move(plan));
  };
  return method;
}

taec_error_stats to_c(const taec::ErrorStats& e) { return {e.max_abs, e.mae, e.rmse, e.psnr_db, e.count, e.nonfinite}; }

bool valid_layout(taec_layout layout) { return taec::c_api::one_of(layout, {TAEC_LAYOUT_NCHW, TAEC_LAYOUT_NHWC}); }

thread_local std::string g_warnings;

}  // namespace

extern "C" {

taec_status taec_compare(const float* candidate, const float* reference, size_t count, int clamp01,
                         taec_error_stats* out) {
  if ((count > 0 && (candidate == nullptr || reference == nullptr)) || out == nullptr) {
    return invalid("taec_compare: NULL argument");
  }
  *out = to_c(taec::compare_buffers(candidate, reference, count, clamp01 != 0));
  return ok();
}

taec_status taec_ssim(const float* candidate, const float* reference, int channels, int height, int width,
                      double* out) {
  if (candidate == nullptr || reference == nullptr || out == nullptr) return invalid("taec_ssim: NULL argument");
  if (channels <= 0 || height <= 0 || width <= 0) return invalid("taec_ssim: empty image");
  return guarded([&] {
    *out = taec::ssim(candidate, reference, channels, height, width);
    return ok();
  });
}

taec_status taec_latent_contract_get(const char* variant, taec_latent_contract* out) {
  if (variant == nullptr || out == nullptr) return invalid("taec_latent_contract_get: NULL argument");
  const taec::LatentContract* c = taec::find_latent_contract(variant);
  if (c == nullptr) return invalid(std::string("no latent contract for variant '") + variant + "'");
  // The contract's string_views point at string literals, so .data() is NUL-terminated.
  *out = {c->variant.data(), c->pipeline.data(), c->latent_channels, c->spatial_factor,
          c->scale,          c->shift,           c->image_min,       c->image_max,
          c->typical_std,    c->packed_channels, c->packed_factor,   c->note.data()};
  return ok();
}

taec_status taec_flux2_unpack(const float* packed, int packed_channels, int height, int width, taec_layout layout,
                              float* out) {
  if (packed == nullptr || out == nullptr) return invalid("taec_flux2_unpack: NULL argument");
  if (!valid_layout(layout)) return invalid("taec_flux2_unpack: invalid layout");
  return report(taec::unpack_flux2_packed(packed, packed_channels, height, width, layout == TAEC_LAYOUT_NHWC, out));
}

taec_status taec_flux2_pack(const float* latent, int channels, int height, int width, taec_layout layout, float* out) {
  if (latent == nullptr || out == nullptr) return invalid("taec_flux2_pack: NULL argument");
  if (!valid_layout(layout)) return invalid("taec_flux2_pack: invalid layout");
  return report(taec::pack_flux2_latent(latent, channels, height, width, layout == TAEC_LAYOUT_NHWC, out));
}

taec_status taec_latent_check(const taec_model* model, const float* latent, int height, int width, taec_layout layout,
                              const char** warnings) {
  if (model == nullptr || latent == nullptr || warnings == nullptr) return invalid("taec_latent_check: NULL argument");
  if (!valid_layout(layout)) return invalid("taec_latent_check: invalid layout");
  if (height <= 0 || width <= 0) return invalid("taec_latent_check: empty latent");
  return guarded([&] {
    const taec::Model& m = *model->model;
    g_warnings.clear();
    const taec::LatentContract* c = taec::find_latent_contract(m.variant);
    if (c != nullptr) {
      for (const std::string& w :
           taec::latent_sanity(*c, latent, m.latent_channels, height, width, layout == TAEC_LAYOUT_NHWC)) {
        g_warnings += w + "\n";
      }
    }
    *warnings = g_warnings.c_str();
    return ok();
  });
}

void taec_validation_options_init(taec_validation_options* options) {
  if (options == nullptr) return;
  const taec::ValidationInputOptions defaults;
  *options = {defaults.random_count, defaults.seed, nullptr, 0, nullptr};
}

taec_status taec_validation_set_create(const taec_model* model, int height, int width,
                                       const taec_validation_options* options, taec_validation_set** out) {
  if (model == nullptr || out == nullptr) return invalid("taec_validation_set_create: NULL argument");
  *out = nullptr;
  taec_validation_options o;
  taec_validation_options_init(&o);
  if (options != nullptr) o = *options;
  if (o.random_count < 0) return invalid("taec_validation_set_create: random_count must be >= 0");
  if (o.image_count > 0 && o.image_paths == nullptr) return invalid("taec_validation_set_create: image_paths is NULL");
  return guarded([&] {
    taec::ValidationInputOptions in;
    in.random_count = o.random_count;
    in.seed = o.seed;
    for (size_t i = 0; i < o.image_count; ++i) {
      if (o.image_paths[i] == nullptr) return invalid("taec_validation_set_create: image path is NULL");
      in.image_paths.emplace_back(o.image_paths[i]);
    }
    auto set = taec::make_validation_set(model->model, o.encoder ? o.encoder->model.get() : nullptr, height, width, in);
    if (!set.ok()) return report(set.status());
    *out = new taec_validation_set{std::move(set).value()};
    return ok();
  });
}

void taec_validation_set_free(taec_validation_set* set) { delete set; }

size_t taec_validation_set_size(const taec_validation_set* set) { return set ? set->set.inputs.size() : 0; }

taec_status taec_validate_plan(const taec_validation_set* set, taec_plan* plan, double tolerance,
                               taec_validation** out) {
  if (set == nullptr || plan == nullptr || out == nullptr) return invalid("taec_validate_plan: NULL argument");
  *out = nullptr;
  return guarded([&] {
    auto r = taec::validate_plan(*plan->plan, set->set, tolerance);
    if (!r.ok()) return report(r.status());
    *out = new taec_validation{std::move(r).value()};
    return ok();
  });
}

void taec_validation_free(taec_validation* validation) { delete validation; }

taec_status taec_validation_get_summary(const taec_validation* v, taec_validation_summary* out) {
  if (v == nullptr || out == nullptr) return invalid("taec_validation_get_summary: NULL argument");
  *out = {to_c(v->report.worst), v->report.tolerance, v->report.passed ? 1 : 0, v->report.cases.size()};
  return ok();
}

taec_status taec_validation_get_case(const taec_validation* v, size_t index, taec_validation_case* out) {
  if (v == nullptr || out == nullptr) return invalid("taec_validation_get_case: NULL argument");
  if (index >= v->report.cases.size()) {
    return invalid("taec_validation_get_case: index " + std::to_string(index) + " past the " +
                   std::to_string(v->report.cases.size()) + " cases");
  }
  const auto& c = v->report.cases[index];
  *out = {c.input.c_str(), to_c(c.error)};
  return ok();
}

double taec_default_tolerance(const char* variant, taec_precision precision) {
  int p;
  std::memcpy(&p, &precision, sizeof p);
  if (p < TAEC_PRECISION_REFERENCE || p > TAEC_PRECISION_INT8) return 0.0;
  return taec::default_tolerance(variant ? variant : "", static_cast<taec::Precision>(p));
}

void taec_roundtrip_options_init(taec_roundtrip_options* options) {
  if (options) *options = {512, "fp32,bf16", nullptr, 0, 3, nullptr, nullptr, nullptr, 0};
}

taec_status taec_roundtrip_run(const taec_model* encoder, const taec_model* decoder, const char* const* image_paths,
                               size_t image_count, const taec_roundtrip_options* options, taec_roundtrip** out) {
  if (encoder == nullptr || decoder == nullptr || options == nullptr || out == nullptr ||
      (image_count > 0 && image_paths == nullptr)) {
    return invalid("taec_roundtrip_run: NULL argument");
  }
  *out = nullptr;
  if (options->out_dir == nullptr || options->out_dir[0] == '\0')
    return invalid("taec_roundtrip_run: out_dir is required");
  if (options->threads < 0) return invalid("taec_roundtrip_run: threads must be >= 0");
  if (options->timing_runs < 1) return invalid("taec_roundtrip_run: timing_runs must be >= 1");
  return guarded([&] {
    auto methods = taec::parse_roundtrip_methods(options->methods ? options->methods : "fp32,bf16");
    if (!methods.ok()) return report(methods.status());
    taec::RoundtripOptions o;
    o.size = options->size;
    o.methods = std::move(methods).value();
    for (size_t i = 0; i < options->package_count; ++i) {
      const taec_package* pkg = options->packages ? options->packages[i] : nullptr;
      if (pkg == nullptr) return invalid("taec_roundtrip_run: package is NULL");
      auto method = package_method(pkg->package, decoder->model->variant);
      if (!method.ok()) return report(method.status());
      o.methods.push_back(std::move(method).value());
    }
    o.out_dir = options->out_dir;
    o.threads = options->threads;
    o.timing_runs = options->timing_runs;
    if (options->progress != nullptr) {
      o.progress = [fn = options->progress, user = options->progress_user](const std::string& line) {
        fn(line.c_str(), user);
      };
    }
    std::vector<std::string> paths;
    for (size_t i = 0; i < image_count; ++i) {
      if (image_paths[i] == nullptr) return invalid("taec_roundtrip_run: image path is NULL");
      paths.emplace_back(image_paths[i]);
    }
    auto summary = taec::run_roundtrip(encoder->model, decoder->model, paths, o);
    if (!summary.ok()) return report(summary.status());
    *out = new taec_roundtrip{taec::roundtrip_json(*summary), taec::roundtrip_table(*summary), taec::roundtrip_method_table(*summary)};
    return ok();
  });
}

const char* taec_roundtrip_json(const taec_roundtrip* rt) { return rt ? rt->json.c_str() : ""; }
const char* taec_roundtrip_table(const taec_roundtrip* rt) { return rt ? rt->table.c_str() : ""; }
const char* taec_roundtrip_method_table(const taec_roundtrip* rt) { return rt ? rt->method_table.c_str() : ""; }
void taec_roundtrip_free(taec_roundtrip* rt) { delete rt; }

}  // extern "C"

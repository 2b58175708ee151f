#include "package/package.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "base/sha256.h"
#include "graph/frame_rules.h"
#include "package/weight_file.h"
#include "plan/fast_plan.h"
#include "plan/program.h"
#include "runtime/reference_engine.h"

namespace taec {
namespace {

Result<Manifest> read_manifest(const PackageStore& store) {
  TAEC_ASSIGN_OR_RETURN(auto bytes, store.read(kManifestName, kMaxJsonBytes));
  return parse_manifest(store.path() + "/" + kManifestName, bytes->data(), bytes->size());
}

// Reads a listed file and checks its size and hash against the manifest.
Result<std::shared_ptr<const FileBytes>> read_listed(const PackageStore& store, const Manifest& m, const std::string& name,
                                                     uint64_t max_bytes) {
  const std::string what = store.path() + "/" + name;
  auto listed = m.files.find(name);
  if (listed == m.files.end()) return Status(Code::format, what + ": not listed in the manifest");
  TAEC_ASSIGN_OR_RETURN(auto bytes, store.read(name, max_bytes));
  if (bytes->size() != listed->second.bytes) {
    return Status(Code::format, what + ": " + std::to_string(bytes->size()) + " bytes, the manifest lists " +
                                    std::to_string(listed->second.bytes) + " (truncated or replaced)");
  }
  if (sha256_hex(bytes->data(), bytes->size()) != listed->second.sha256) {
    return Status(Code::format, what + ": SHA-256 differs from the manifest (altered or replaced)");
  }
  return bytes;
}

// A video manifest must describe the model weight.bin builds, field by field.
Status check_video_fields(const std::string& what, const Model& model, const Manifest& m) {
  if (model.is_video() != m.is_video) {
    return Status(Code::format, what + ": holds " + (model.is_video() ? "a video" : "an image") + " model, the manifest describes " +
                                    (m.is_video ? "a video" : "an image") + " package");
  }
  if (!m.is_video) return ok_status();
  const TemporalInfo t = model.graph.temporal();
  const ManifestVideo& v = m.video;
  auto differs = [&](const char* field, const std::string& holds, const std::string& says) {
    return Status(Code::format, what + ": holds a " + model.variant + " " + role_name(model.role) + " whose " + field + " is " + holds +
                                    ", the manifest's video." + field + " says " + says);
  };
  if (model.video.rule != v.frame_rule) return differs("frame_rule", frame_rule_name(model.video.rule), frame_rule_name(v.frame_rule));
  if (model.video.time_factor != v.time_factor) return differs("time_factor", std::to_string(model.video.time_factor), std::to_string(v.time_factor));
  if (model.video.patch != v.patch) return differs("patch", std::to_string(model.video.patch), std::to_string(v.patch));
  if (model.video.super_decoder != v.super_decoder) {
    return differs("decoder", model.video.super_decoder ? "super" : "base", v.super_decoder ? "super" : "base");
  }
  if (t.frames_in != v.frames_in) return differs("frames_in", std::to_string(t.frames_in), std::to_string(v.frames_in));
  if (t.frames_out != v.frames_out) return differs("frames_out", std::to_string(t.frames_out), std::to_string(v.frames_out));
  return ok_status();
}

Result<std::shared_ptr<const Model>> model_from_weights(const std::string& what, const FileBytes& bytes, const Manifest& m) {
  size_t quantized = 0;
  TAEC_ASSIGN_OR_RETURN(Checkpoint ck, read_weight_file(what, bytes.data(), bytes.size(), &quantized));
  if ((m.weights == "none") != (quantized == 0)) {
    return Status(Code::format, what + ": holds " + std::to_string(quantized) + " quantized tensors; the manifest says weights \"" +
                                    m.weights + "\"");
  }
  LoadRequest request;
  request.variant = m.variant;
  request.role = static_cast<int>(m.role);
  TAEC_ASSIGN_OR_RETURN(std::shared_ptr<Model> model, build_model(ck, request));
  model->source_sha256 = m.files.at(kWeightFileName).sha256;
  if (model->latent_channels != m.latent_channels) {
    return Status(Code::format, what + ": holds a " + std::to_string(model->latent_channels) + "-channel model, the manifest says " +
                                    std::to_string(m.latent_channels));
  }
  TAEC_RETURN_IF_ERROR(check_video_fields(what, *model, m));
  return std::shared_ptr<const Model>(std::move(model));
}

// A plan file must describe exactly the plan the manifest lists under its name; a video plan's
// frames and state also what `model` (built from weight.bin; null if that failed) runs.
Status check_plan_file(const std::string& what, const PlanFile& p, const Manifest& m, const ManifestPlan& listed, const Model* model) {
  const FileDigest& weights = m.files.at(kWeightFileName);
  if (p.weights.sha256 != weights.sha256 || p.weights.bytes != weights.bytes) {
    return Status(Code::format, what + ": built for a different weight.bin (sha256 " + p.weights.sha256.substr(0, 12) +
                                    "…, this package's is " + weights.sha256.substr(0, 12) + "…): plan from another package?");
  }
  if (p.variant != m.variant || p.role != m.role) {
    return Status(Code::format, what + ": plan for a " + p.variant + " " + role_name(p.role) + ", the package holds a " + m.variant +
                                    " " + role_name(m.role));
  }
  if (p.options.image_height != listed.height || p.options.image_width != listed.width) {
    return Status(Code::format, what + ": plan for " + std::to_string(p.options.image_height) + "x" + std::to_string(p.options.image_width) +
                                    ", listed as " + std::to_string(listed.height) + "x" + std::to_string(listed.width));
  }
  if (p.options.layout != m.layout || p.options.io_dtype != m.io_dtype || p.options.precision != m.precision) {
    return Status(Code::format, what + ": layout, I/O type or precision differ from the manifest's");
  }
  if (p.is_video != m.is_video) {
    return Status(Code::format, what + ": " + (p.is_video ? "a video" : "an image") + " plan file (format version " +
                                    std::to_string(p.format_version) + ") in " + (m.is_video ? "a video" : "an image") + " package");
  }
  if (!m.is_video) return ok_status();
  if (p.frames_in != m.video.frames_in || p.frames_out != m.video.frames_out) {
    return Status(Code::format, what + ": steps of " + std::to_string(p.frames_in) + " -> " + std::to_string(p.frames_out) +
                                    " frames, the manifest's video says " + std::to_string(m.video.frames_in) + " -> " +
                                    std::to_string(m.video.frames_out));
  }
  uint64_t held = listed.state_bytes;
  if (model != nullptr) {
    TAEC_ASSIGN_OR_RETURN(held, video_state_bytes(*model, listed.height, listed.width));
  }
  if (p.state_bytes != listed.state_bytes || held != listed.state_bytes) {
    return Status(Code::format, what + ": the manifest lists " + std::to_string(listed.state_bytes) + " bytes of stream state for " +
                                    std::to_string(listed.height) + "x" + std::to_string(listed.width) + ", this plan file " +
                                    std::to_string(p.state_bytes) + " and the model " + std::to_string(held));
  }
  return ok_status();
}

std::string size_text(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1u << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / 1048576.0);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024.0);
  }
  return buf;
}

}  // namespace

Result<uint64_t> video_state_bytes(const Model& model, int height, int width) {
  if (!model.is_video()) return uint64_t{0};
  PlanOptions probe;
  probe.image_height = height;
  probe.image_width = width;
  TAEC_ASSIGN_OR_RETURN(PlanShapes shapes, plan_shapes(model, probe));
  return static_cast<uint64_t>(reference_state_floats(model.graph, shapes.input.height, shapes.input.width) * sizeof(float));
}

Result<std::shared_ptr<Package>> Package::open(const std::string& path) {
  auto pkg = std::shared_ptr<Package>(new Package());
  TAEC_ASSIGN_OR_RETURN(pkg->store_, PackageStore::open(path));
  TAEC_ASSIGN_OR_RETURN(pkg->manifest_, read_manifest(*pkg->store_));
  TAEC_ASSIGN_OR_RETURN(auto weights, read_listed(*pkg->store_, pkg->manifest_, kWeightFileName, WeightFileLimits::kMaxFileBytes));
  TAEC_ASSIGN_OR_RETURN(pkg->model_, model_from_weights(path + "/" + kWeightFileName, *weights, pkg->manifest_));
  pkg->cache_ = std::make_shared<PackedWeightCache>();
  return pkg;
}

Result<std::unique_ptr<Plan>> Package::load_plan(int height, int width, const PackagePlanOptions& options) {
  const ManifestPlan* listed = nullptr;
  std::string sizes;
  for (const ManifestPlan& p : manifest_.plans) {
    if (p.height == height && p.width == width) listed = &p;
    sizes += (sizes.empty() ? "" : ", ") + std::to_string(p.height) + "x" + std::to_string(p.width);
  }
  if (listed == nullptr) {
    return Status(Code::invalid_argument, path() + ": has no plan for " + std::to_string(height) + "x" + std::to_string(width) +
                                              " (it holds " + sizes + ")");
  }
  const std::string what = path() + "/" + listed->file;
  TAEC_ASSIGN_OR_RETURN(PlanFile pf, read_plan_file(*listed));
  if (options.share_arena) {
    if (options.memory != MemoryMode::banded) return Status(Code::invalid_argument, "a shared arena holds banded plans only");
    TAEC_RETURN_IF_ERROR(make_shared_arena());
  }
  TAEC_ASSIGN_OR_RETURN(std::unique_ptr<Plan> plan, compile_plan(model_, plan_options(pf, options)));
  // The whole-tensor mode is a different schedule by design; the banded one must be the program
  // that was validated, conv algorithms as recorded at pack time, unless this CPU cannot run the
  // kernels it was lowered for (a recorded algorithm it lacks runs as that conv's default).
  if (options.memory == MemoryMode::banded) {
    const std::string digest = sha256_hex(plan->program_description().data(), plan->program_description().size());
    const std::string kernels = plan->stats().kernel;
    if (digest != pf.program_sha256) {
      if (kernels == pf.kernels) {
        return Status(Code::unsupported, what + ": this taec (" + std::string(taec_version()) + ") compiles a different program than the " +
                                             pf.taec_version + " that packed and validated it; re-run taec pack");
      }
      plan->add_note("package validated with kernels \"" + pf.kernels + "\"; this CPU runs \"" + kernels + "\" (re-lowered)");
    }
  }
  if (pf.is_video && (plan->state_floats() * sizeof(float) != pf.state_bytes || plan->shapes().frames_in != pf.frames_in ||
                      plan->shapes().frames_out != pf.frames_out)) {
    return Status(Code::internal, what + ": compiles to a plan of " + std::to_string(plan->state_floats() * sizeof(float)) +
                                      " state bytes, the package records " + std::to_string(pf.state_bytes) + ": a taec bug, please report it");
  }
  return plan;
}

Result<PlanFile> Package::read_plan_file(const ManifestPlan& listed) const {
  const std::string what = path() + "/" + listed.file;
  TAEC_ASSIGN_OR_RETURN(auto bytes, read_listed(*store_, manifest_, listed.file, kMaxJsonBytes));
  TAEC_ASSIGN_OR_RETURN(PlanFile pf, parse_plan_file(what, bytes->data(), bytes->size()));
  TAEC_RETURN_IF_ERROR(check_plan_file(what, pf, manifest_, listed, model_.get()));
  return pf;
}

PlanOptions Package::plan_options(const PlanFile& pf, const PackagePlanOptions& options) const {
  PlanOptions o = pf.options;
  o.calibration = manifest_.calibration;
  o.threads = options.threads;
  o.memory = options.memory;
  o.nonfinite = options.nonfinite;
  o.band_pixels = pf.band_pixels;
  o.packed_cache = cache_;
  if (options.share_arena) {
    o.shared_arena = arena_;
    o.shared_arena_floats = arena_floats_;
    o.shared_arena_mutex = arena_mutex_;
  }
  return o;
}

// Sized by lowering every listed size (packed weights come from the cache, so this is cheap).
// Each plan as its file records it: its conv algorithms decide its scratch.
Status Package::make_shared_arena() {
  if (arena_) return ok_status();
  size_t floats = 0;
  for (const ManifestPlan& listed : manifest_.plans) {
    TAEC_ASSIGN_OR_RETURN(PlanFile pf, read_plan_file(listed));
    const PlanOptions o = with_video_defaults(*model_, plan_options(pf, PackagePlanOptions{}));
    TAEC_ASSIGN_OR_RETURN(PlanShapes shapes, plan_shapes(*model_, o));
    TAEC_ASSIGN_OR_RETURN(size_t f, fast_plan_arena_floats(*model_, o, shapes));
    floats = std::max(floats, f);
  }
  float* p = static_cast<float*>(std::aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64));
  if (p == nullptr) return Status(Code::out_of_memory, path() + ": cannot allocate the shared activation arena");
  arena_.reset(p, [](float* q) { std::free(q); });
  arena_floats_ = floats;
  arena_mutex_ = std::make_shared<std::mutex>();
  return ok_status();
}

std::vector<FileVerdict> verify_package(const std::string& path) {
  std::vector<FileVerdict> out;
  auto store = PackageStore::open(path);
  if (!store.ok()) return {{path, false, store.status().message()}};
  auto manifest = read_manifest(**store);
  if (!manifest.ok()) return {{kManifestName, false, manifest.status().message()}};
  const Manifest& m = *manifest;
  out.push_back({kManifestName, true, "format " + std::to_string(m.format_version) + ", " + m.variant + " " + role_name(m.role) + ", " +
                                          std::to_string(m.plans.size()) + " sizes, packed by taec " + m.taec_version});
  std::set<std::string> present;
  for (const auto& entry : (*store)->list()) {
    present.insert(entry.name);
    if (entry.name == kManifestName) continue;
    if (!entry.regular) {
      out.push_back({entry.name, false, "not a regular file (link or device) or not stored uncompressed"});
    } else if (!m.files.count(entry.name)) {
      out.push_back({entry.name, false, "not listed in the manifest (extra file)"});
    }
  }
  // weight.bin first: the model it builds is what the plan files' video fields are checked against.
  std::vector<std::string> names = {kWeightFileName};
  for (const auto& entry : m.files) {
    if (entry.first != kWeightFileName) names.push_back(entry.first);
  }
  std::shared_ptr<const Model> built;
  for (const std::string& name : names) {
    const FileDigest& digest = m.files.at(name);
    if (!present.count(name)) {
      out.push_back({name, false, "missing"});
      continue;
    }
    const bool is_weights = name == kWeightFileName;
    auto bytes = read_listed(**store, m, name, is_weights ? WeightFileLimits::kMaxFileBytes : kMaxJsonBytes);
    if (!bytes.ok()) {
      out.push_back({name, false, bytes.status().message()});
      continue;
    }
    std::string detail = "sha256 ok, " + size_text(digest.bytes);
    if (is_weights) {
      auto model = model_from_weights(path + "/" + name, **bytes, m);
      if (!model.ok()) {
        out.push_back({name, false, model.status().message()});
        continue;
      }
      built = *model;
      detail += ", " + (*model)->variant + " " + role_name((*model)->role) + ", " + std::to_string((*model)->tensors.size()) + " tensors";
    } else {
      const ManifestPlan* listed = nullptr;
      for (const auto& p : m.plans) {
        if (p.file == name) listed = &p;
      }
      if (listed == nullptr) {
        out.push_back({name, false, "listed in files but not as a plan"});
        continue;
      }
      auto pf = parse_plan_file(path + "/" + name, (*bytes)->data(), (*bytes)->size());
      Status s = pf.ok() ? check_plan_file(path + "/" + name, *pf, m, *listed, built.get()) : pf.status();
      if (!s.ok()) {
        out.push_back({name, false, s.message()});
        continue;
      }
      detail += ", refers to weight.bin " + pf->weights.sha256.substr(0, 12) + "…";
      if (pf->is_video) {
        detail += ", steps of " + std::to_string(pf->frames_in) + " -> " + std::to_string(pf->frames_out) + " frames, " +
                  size_text(pf->state_bytes) + " of stream state";
      }
      if (!listed->validation.passed) {
        out.push_back({name, false, "recorded validation failed (max |err| " + std::to_string(listed->validation.worst.max_abs) + ")"});
        continue;
      }
    }
    out.push_back({name, true, detail});
  }
  return out;
}

Status check_replaceable_package(const std::string& out, bool zip) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::symlink_status(out, ec);
  if (!fs::exists(status)) return ok_status();
  auto refuse = [&](const std::string& why) {
    return Status(Code::invalid_argument, out + ": exists and " + why + "; refusing to replace it (remove it yourself, or choose another --out)");
  };
  if (fs::is_symlink(status)) return refuse("is a symbolic link");
  if (zip && !fs::is_regular_file(status)) return refuse("is not a file (--zip writes one file)");
  if (!zip && !fs::is_directory(status)) return refuse("is not a directory (a package directory was asked for; --zip writes a file)");
  if (!zip && fs::is_empty(out, ec) && !ec) return ok_status();
  for (const FileVerdict& v : verify_package(out)) {
    if (!v.ok) return refuse("is not a taec package that verifies (" + v.file + ": " + v.detail + ")");
  }
  return ok_status();
}

}  // namespace taec

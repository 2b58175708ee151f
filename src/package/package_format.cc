#include "package/package_format.h"

#include "quality/latent_contract.h"
#include "quality/validate.h"  // precision_name

#include <nlohmann/json.hpp>

#include "base/text.h"
#include "graph/frame_rules.h"
#include "io/json_strict.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>

namespace taec {
namespace {

using nlohmann::json;

constexpr int kMaxPlans = 64;
constexpr int kMaxFiles = 256;

// Typed, path-naming access to a parsed JSON object; the first failure is kept and reported.
class Fields {
 public:
  Fields(const std::string& what, const json& j, std::string at = "")
      : what_(what), j_(j), at_(std::move(at)), error_(std::make_shared<std::string>()) {}

  const json* get(const char* key, json::value_t type, bool required = true) {
    if (!j_.is_object()) return fail("is not an object"), nullptr;
    auto it = j_.find(key);
    if (it == j_.end()) return required ? (fail(std::string("has no \"") + key + "\""), nullptr) : nullptr;
    const bool number = type == json::value_t::number_integer || type == json::value_t::number_float;
    const bool ok = number ? (it->is_number() && (type == json::value_t::number_float || it->is_number_integer()))
                           : it->type() == type;
    if (!ok) return fail(std::string("\"") + key + "\" has the wrong type"), nullptr;
    return &*it;
  }
  std::string str(const char* key, size_t max_len = 4096) {
    const json* v = get(key, json::value_t::string);
    if (!v) return "";
    std::string s = v->get<std::string>();
    if (s.size() > max_len) return fail(std::string("\"") + key + "\" is too long"), "";
    return s;
  }
  int64_t integer(const char* key, int64_t lo, int64_t hi) {
    const json* v = get(key, json::value_t::number_integer);
    if (!v) return lo;
    const int64_t x = v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX : v->get<int64_t>();
    if (x < lo || x > hi) return fail(std::string("\"") + key + "\" = " + std::to_string(x) + " is out of range"), lo;
    return x;
  }
  double number(const char* key) {
    const json* v = get(key, json::value_t::number_float);
    if (!v) return 0;
    const double x = v->get<double>();
    if (!std::isfinite(x) || x < 0) return fail(std::string("\"") + key + "\" is not a finite non-negative number"), 0;
    return x;
  }
  bool boolean(const char* key) {
    const json* v = get(key, json::value_t::boolean);
    return v && v->get<bool>();
  }
  template <typename E>
  E choice(const char* key, const std::vector<std::pair<const char*, E>>& options) {
    const std::string s = str(key);
    for (const auto& [name, value] : options) {
      if (s == name) return value;
    }
    if (ok()) fail(std::string("\"") + key + "\" = \"" + s + "\" is not a known value");
    return options.front().second;
  }
  std::string sha256(const char* key) {
    const std::string s = str(key);
    if (ok() && (s.size() != 64 || s.find_first_not_of("0123456789abcdef") != std::string::npos)) {
      fail(std::string("\"") + key + "\" is not a lower-case hex SHA-256");
    }
    return s;
  }
  Fields sub(const char* key, json::value_t type = json::value_t::object) {
    const json* v = get(key, type);
    return Fields(what_, v ? *v : kNull, at_ + key + ".", error_);
  }
  void fail(const std::string& why) {
    if (error_->empty()) *error_ = what_ + ": " + (at_.empty() ? "" : at_.substr(0, at_.size() - 1) + " ") + why;
  }
  bool ok() const { return error_->empty(); }
  const std::string& error() const { return *error_; }
  const json& value() const { return j_; }
  std::string at() const { return at_; }

 private:
  Fields(const std::string& what, const json& j, std::string at, std::shared_ptr<std::string> error)
      : what_(what), j_(j), at_(std::move(at)), error_(std::move(error)) {}
  static inline const json kNull = json();
  std::string what_;
  const json& j_;
  std::string at_;
  std::shared_ptr<std::string> error_;  // the first failure, shared by a root and its sub-objects
};

const std::vector<std::pair<const char*, Layout>> kLayouts = {{"nhwc", Layout::nhwc}, {"nchw", Layout::nchw}};
const std::vector<std::pair<const char*, IoDtype>> kIoDtypes = {{"fp32", IoDtype::f32}, {"fp16", IoDtype::f16}};
const std::vector<std::pair<const char*, Precision>> kPrecisions = {
    {"fp32", Precision::fp32}, {"bf16", Precision::bf16}, {"int8", Precision::int8}};
constexpr size_t kMaxCalibrationEntries = 1024;

// Ranges written with 9 significant digits: a float survives the round trip exactly.
json calibration_json(const ActivationCalibration& c) {
  json ranges = json::object();
  for (const auto& [conv, absmax] : c.input_absmax) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", double(absmax));
    ranges[conv] = json::parse(buf);
  }
  return {{"method", c.method}, {"inputs", c.inputs}, {"input_absmax", ranges}};
}

std::shared_ptr<const ActivationCalibration> parse_calibration(Fields f) {
  auto c = std::make_shared<ActivationCalibration>();
  c->method = f.str("method", 32);
  if (f.ok() && c->method != "max") f.fail("\"method\" = \"" + c->method + "\" is not a known calibration method");
  c->inputs = f.str("inputs");
  Fields ranges = f.sub("input_absmax");
  if (!f.ok()) return nullptr;
  if (ranges.value().empty() || ranges.value().size() > kMaxCalibrationEntries) {
    f.fail("\"input_absmax\" must list 1.." + std::to_string(kMaxCalibrationEntries) + " convolutions");
    return nullptr;
  }
  for (const auto& [conv, value] : ranges.value().items()) {
    if (conv.empty() || conv.size() > 256) return f.fail("\"input_absmax\" has a bad convolution name"), nullptr;
    const double x = ranges.number(conv.c_str());
    if (!ranges.ok()) return nullptr;
    if (x > 3.0e38) return f.fail("\"input_absmax\" \"" + conv + "\" is out of the float range"), nullptr;
    c->input_absmax[conv] = static_cast<float>(x);
  }
  return c;
}
const std::vector<std::pair<const char*, Role>> kRoles = {{"decoder", Role::decoder}, {"encoder", Role::encoder}};

Result<json> parse_json(const std::string& what, const uint8_t* data, size_t size) {
  return parse_json_object(what, data, size, kMaxJsonBytes);
}

json figures_json(const ErrorFigures& e) {
  return {{"input", e.input}, {"max_abs", e.max_abs}, {"mae", e.mae}, {"rmse", e.rmse}};
}

ErrorFigures parse_figures(Fields f) {
  ErrorFigures e;
  e.input = f.str("input", 256);
  e.max_abs = f.number("max_abs");
  e.mae = f.number("mae");
  e.rmse = f.number("rmse");
  return e;
}

// The variant's latent contract (quality/latent_contract.h), for hosts reading the manifest.
json contract_json(const Manifest& m) {
  json c = {{"latent_channels", m.latent_channels}, {"spatial_factor", m.spatial_factor}, {"latent_scale", 1.0},
            {"latent_shift", 0.0}, {"image_range", {0.0, 1.0}}};
  if (const LatentContract* lc = find_latent_contract(m.variant)) {
    c["pipeline"] = std::string(lc->pipeline);
    c["latent_scale"] = lc->scale;
    c["latent_shift"] = lc->shift;
    c["image_range"] = {lc->image_min, lc->image_max};
    c["typical_std"] = std::round(lc->typical_std * 1000.0) / 1000.0;
    if (lc->packed_channels > 0) {
      c["packed_form"] = {{"channels", lc->packed_channels}, {"spatial_factor", lc->packed_factor}, {"patch", lc->patch},
                          {"channel_index", "4c + 2py + px"}, {"adapter", "taec decode --input flux2-packed"}};
    }
    c["note"] = std::string(lc->note);
  }
  return c;
}

json digest_json(const FileDigest& d) { return {{"bytes", d.bytes}, {"sha256", d.sha256}}; }

FileDigest parse_digest(Fields f) {
  FileDigest d;
  d.bytes = static_cast<uint64_t>(f.integer("bytes", 0, int64_t{1} << 40));
  d.sha256 = f.sha256("sha256");
  return d;
}

// "plans/1024x1024.json"-style relative names only: no absolute paths, no "..", no oddities.
bool safe_relative_name(const std::string& s) {
  if (s.empty() || s.size() > 200 || s.front() == '/' || s.find("..") != std::string::npos) return false;
  return s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") == std::string::npos;
}

template <typename T>
const char* name_of(const std::vector<std::pair<const char*, T>>& options, T v) {
  for (const auto& [name, value] : options) {
    if (value == v) return name;
  }
  return "?";
}

// The version a file declares, which this taec must read: 1 (image) or 2 (video).
Result<int> format_version_of(Fields& f, const std::string& what) {
  const int64_t version = f.integer("format_version", 0, INT32_MAX);
  if (f.ok() && version != kPackageFormatVersion && version != kVideoPackageFormatVersion) {
    return Status(Code::unsupported, what + ": package format version " + std::to_string(version) + " (this taec reads versions " +
                                         std::to_string(kPackageFormatVersion) + " and " + std::to_string(kVideoPackageFormatVersion) + ")");
  }
  return static_cast<int>(version);
}

// Version 2 and its video fields come together: an image file must not carry them, a video
// file must.
bool video_fields_match_version(Fields& f, int version, const char* key) {
  const bool has = f.value().is_object() && f.value().contains(key);
  if (f.ok() && has != (version == kVideoPackageFormatVersion)) {
    f.fail(has ? std::string("has a \"") + key + "\" but format version " + std::to_string(version) + " (video packages are version 2)"
               : std::string("is format version 2 (video) but has no \"") + key + "\"");
  }
  return has && f.ok();
}

const std::vector<std::pair<const char*, FrameRule>> kFrameRules = {
    {"standard", FrameRule::standard}, {"cogvideox", FrameRule::cogvideox}, {"h3", FrameRule::h3}};
const std::vector<std::pair<const char*, bool>> kDecoderKinds = {{"base", false}, {"super", true}};

json video_json(const ManifestVideo& v) {
  return {{"frame_rule", frame_rule_name(v.frame_rule)}, {"time_factor", v.time_factor}, {"patch", v.patch},
          {"decoder", v.super_decoder ? "super" : "base"}, {"frames_in", v.frames_in}, {"frames_out", v.frames_out}};
}

ManifestVideo parse_video(Fields f) {
  ManifestVideo v;
  v.frame_rule = f.choice("frame_rule", kFrameRules);
  v.time_factor = static_cast<int>(f.integer("time_factor", 1, 64));
  v.patch = static_cast<int>(f.integer("patch", 1, 16));
  v.super_decoder = f.choice("decoder", kDecoderKinds);
  v.frames_in = static_cast<int>(f.integer("frames_in", 1, 64));
  v.frames_out = static_cast<int>(f.integer("frames_out", 1, 64));
  // A decoder's step is one latent to time_factor raw frames (docs/VIDEO.md).
  if (f.ok() && (v.frames_in != 1 || v.frames_out != v.time_factor)) {
    f.fail("frames_in = " + std::to_string(v.frames_in) + ", frames_out = " + std::to_string(v.frames_out) +
           ": a video decoder's step takes 1 latent and makes time_factor (" + std::to_string(v.time_factor) + ") frames");
  }
  return v;
}

}  // namespace

const char* layout_name(Layout l) { return name_of(kLayouts, l); }
const char* io_dtype_name(IoDtype d) { return name_of(kIoDtypes, d); }

std::string plan_file_name(int height, int width) {
  return "plans/" + std::to_string(height) + "x" + std::to_string(width) + ".json";
}

std::string serialize_manifest(const Manifest& m) {
  json plans = json::array();
  for (const ManifestPlan& p : m.plans) {
    json inputs = json::array();
    for (const auto& e : p.validation.inputs) inputs.push_back(figures_json(e));
    plans.push_back({{"height", p.height},
                     {"width", p.width},
                     {"file", p.file},
                     {"validation",
                      {{"tolerance", p.validation.tolerance},
                       {"passed", p.validation.passed},
                       {"worst", figures_json(p.validation.worst)},
                       {"inputs", inputs}}}});
    if (m.is_video) plans.back()["state_bytes"] = p.state_bytes;
  }
  json files = json::object();
  for (const auto& [name, d] : m.files) files[name] = digest_json(d);
  json j = {{"format", "taec-package"},
            {"format_version", m.is_video ? kVideoPackageFormatVersion : kPackageFormatVersion},
            {"taec_version", m.taec_version},
            {"model",
             {{"name", m.model_name},
              {"variant", m.variant},
              {"role", role_name(m.role)},
              {"source_file", m.source_file},
              {"source_sha256", m.source_sha256}}},
            {"latent_contract", contract_json(m)},
            {"layout", layout_name(m.layout)},
            {"io_dtype", io_dtype_name(m.io_dtype)},
            {"precision", precision_name(m.precision)},
            {"weights", m.weights},
            {"validation", {{"reference", m.reference}, {"inputs", m.validation_inputs}}},
            {"plans", plans},
            {"files", files}};
  if (m.calibration) j["calibration"] = calibration_json(*m.calibration);
  if (m.is_video) {
    j["video"] = video_json(m.video);
    j["validation"]["clip_latents"] = m.video.clip_latents;
  }
  return j.dump(2) + "\n";
}

Result<Manifest> parse_manifest(const std::string& what, const uint8_t* data, size_t size) {
  TAEC_ASSIGN_OR_RETURN(json j, parse_json(what, data, size));
  Fields f(what, j);
  if (f.str("format") != "taec-package" && f.ok()) return Status(Code::format, what + ": not a taec package manifest");
  Manifest m;
  TAEC_ASSIGN_OR_RETURN(m.format_version, format_version_of(f, what));
  m.taec_version = f.str("taec_version", 64);
  Fields model = f.sub("model");
  m.model_name = model.str("name", 256);
  m.variant = model.str("variant", 64);
  m.role = model.choice("role", kRoles);
  m.source_file = model.str("source_file");
  m.source_sha256 = model.sha256("source_sha256");
  Fields contract = f.sub("latent_contract");
  m.latent_channels = static_cast<int>(contract.integer("latent_channels", 1, 4096));
  m.spatial_factor = static_cast<int>(contract.integer("spatial_factor", 1, 64));
  m.layout = f.choice("layout", kLayouts);
  m.io_dtype = f.choice("io_dtype", kIoDtypes);
  m.precision = f.choice("precision", kPrecisions);
  m.weights = f.str("weights", 32);
  if (f.ok() && m.weights != "none" && m.weights != "int8" && m.weights != "palette8" && m.weights != "palette4") {
    f.fail("\"weights\" = \"" + m.weights + "\" is not a known storage");
  }
  Fields validation = f.sub("validation");
  m.reference = validation.str("reference");
  m.validation_inputs = validation.str("inputs");
  const bool has_calibration = j.contains("calibration");
  if (f.ok() && has_calibration != (m.precision == Precision::int8)) {
    f.fail(m.precision == Precision::int8 ? "has no \"calibration\" (int8 plans need their activation ranges)"
                                          : "has a \"calibration\" but its precision is not int8");
  }
  if (f.ok() && has_calibration) m.calibration = parse_calibration(f.sub("calibration"));
  m.is_video = video_fields_match_version(f, m.format_version, "video");
  if (m.is_video) {
    m.video = parse_video(f.sub("video"));
    m.video.clip_latents = static_cast<int>(validation.integer("clip_latents", 3, 4096));
    if (f.ok() && m.role != Role::decoder) f.fail("is a video package of an encoder (video packages hold decoders)");
    if (f.ok() && m.precision == Precision::int8) f.fail("is a video package with int8 precision (not supported for video)");
  }
  Fields plans = f.sub("plans", json::value_t::array);
  if (!f.ok()) return Status(Code::format, f.error());
  if (plans.value().empty() || plans.value().size() > kMaxPlans) return Status(Code::format, what + ": \"plans\" must list 1.." + std::to_string(kMaxPlans) + " sizes");
  std::set<std::string> plan_files;
  std::set<std::pair<int, int>> plan_sizes;
  for (size_t i = 0; i < plans.value().size(); ++i) {
    Fields p(what, plans.value()[i], "plans[" + std::to_string(i) + "].");
    ManifestPlan mp;
    mp.height = static_cast<int>(p.integer("height", 1, 16384));
    mp.width = static_cast<int>(p.integer("width", 1, 16384));
    mp.file = p.str("file", 256);
    if (m.is_video) mp.state_bytes = static_cast<uint64_t>(p.integer("state_bytes", 1, int64_t{1} << 40));
    Fields v = p.sub("validation");
    mp.validation.tolerance = v.number("tolerance");
    mp.validation.passed = v.boolean("passed");
    mp.validation.worst = parse_figures(v.sub("worst"));
    Fields inputs = v.sub("inputs", json::value_t::array);
    if (p.ok() && inputs.value().size() > 1000) p.fail("lists too many validation inputs");
    for (size_t k = 0; p.ok() && k < inputs.value().size(); ++k) {
      Fields e(what, inputs.value()[k], p.at() + "validation.inputs[" + std::to_string(k) + "].");
      mp.validation.inputs.push_back(parse_figures(e));
      if (!e.ok()) return Status(Code::format, e.error());
    }
    if (!p.ok()) return Status(Code::format, p.error());
    const std::string at = what + ": plans[" + std::to_string(i) + "]: ";
    if (m.role == Role::decoder && (mp.height % m.spatial_factor || mp.width % m.spatial_factor)) {
      return Status(Code::format, at + std::to_string(mp.height) + "x" + std::to_string(mp.width) + " is not a multiple of the " +
                                      std::to_string(m.spatial_factor) + "-pixel latent grid; no plan of that size can load");
    }
    if (!plan_sizes.insert({mp.height, mp.width}).second) {
      return Status(Code::format, at + std::to_string(mp.height) + "x" + std::to_string(mp.width) + " is listed twice");
    }
    if (!safe_relative_name(mp.file) || !plan_files.insert(mp.file).second) {
      return Status(Code::format, what + ": plans[" + std::to_string(i) + "].file \"" + printable(mp.file) + "\" is not a safe, unique relative path");
    }
    m.plans.push_back(mp);
  }
  Fields files = f.sub("files");
  if (!f.ok()) return Status(Code::format, f.error());
  if (files.value().size() > kMaxFiles) return Status(Code::format, what + ": \"files\" lists too many files");
  for (const auto& [name, value] : files.value().items()) {
    if (!safe_relative_name(name) || name == kManifestName) return Status(Code::format, what + ": files lists an unsafe name \"" + printable(name) + "\"");
    Fields d(what, value, "files[\"" + name + "\"].");
    m.files[name] = parse_digest(d);
    if (!d.ok()) return Status(Code::format, d.error());
  }
  if (!m.files.count(kWeightFileName)) return Status(Code::format, what + ": files does not list weight.bin");
  for (const auto& p : m.plans) {
    if (!m.files.count(p.file)) return Status(Code::format, what + ": files does not list the plan " + p.file);
  }
  return m;
}

std::string serialize_plan_file(const PlanFile& p) {
  json ops = json::array();
  for (const auto& op : p.ops) ops.push_back({{"name", op.name}, {"kind", op.kind}});
  json j = {{"format", "taec-plan"},
            {"format_version", p.is_video ? kVideoPackageFormatVersion : kPackageFormatVersion},
            {"taec_version", p.taec_version},
            {"model", {{"variant", p.variant}, {"role", role_name(p.role)}}},
            {"weights", {{"file", p.weight_file}, {"bytes", p.weights.bytes}, {"sha256", p.weights.sha256}}},
            {"options",
             {{"height", p.options.image_height},
              {"width", p.options.image_width},
              {"layout", layout_name(p.options.layout)},
              {"io_dtype", io_dtype_name(p.options.io_dtype)},
              {"precision", precision_name(p.options.precision)},
              {"band_pixels", p.band_pixels}}},
            {"io", {{"input_shape", p.input_shape}, {"output_shape", p.output_shape}}},
            {"program",
             {{"kernels", p.kernels},
              {"sha256", p.program_sha256},
              {"arena_bytes", p.arena_bytes},
              {"steps", p.steps},
              {"ops", ops}}}};
  if (p.options.conv_choices != nullptr && !p.options.conv_choices->empty()) {
    json algos = json::object();
    for (const auto& [node, algo] : *p.options.conv_choices) algos[node] = conv_algo_name(algo);
    j["options"]["conv_algos"] = algos;
  }
  if (p.is_video) {
    j["options"]["winograd_tiles"] = p.options.winograd_tiles;
    j["stream"] = {{"frames_in", p.frames_in}, {"frames_out", p.frames_out}, {"state_bytes", p.state_bytes}};
  }
  return j.dump(2) + "\n";
}

Result<PlanFile> parse_plan_file(const std::string& what, const uint8_t* data, size_t size) {
  TAEC_ASSIGN_OR_RETURN(json j, parse_json(what, data, size));
  Fields f(what, j);
  if (f.str("format") != "taec-plan" && f.ok()) return Status(Code::format, what + ": not a taec plan file");
  PlanFile p;
  TAEC_ASSIGN_OR_RETURN(p.format_version, format_version_of(f, what));
  p.taec_version = f.str("taec_version", 64);
  Fields model = f.sub("model");
  p.variant = model.str("variant", 64);
  p.role = model.choice("role", kRoles);
  Fields weights = f.sub("weights");
  p.weight_file = weights.str("file", 256);
  p.weights = parse_digest(weights);
  Fields options = f.sub("options");
  p.options.image_height = static_cast<int>(options.integer("height", 1, 16384));
  p.options.image_width = static_cast<int>(options.integer("width", 1, 16384));
  p.options.layout = options.choice("layout", kLayouts);
  p.options.io_dtype = options.choice("io_dtype", kIoDtypes);
  p.options.precision = options.choice("precision", kPrecisions);
  p.band_pixels = static_cast<int>(options.integer("band_pixels", 1, 1 << 24));
  // Absent in packages made before measured kernel choice: every conv then runs its default,
  // which is the program those packages validated.
  auto choices = std::make_shared<ConvChoices>();
  if (const json* algos = options.get("conv_algos", json::value_t::object, false)) {
    if (algos->size() > 4096) options.fail("\"conv_algos\" has too many entries");
    for (const auto& [node, algo] : algos->items()) {
      ConvAlgo a;
      if (node.size() > 256 || !algo.is_string() || !parse_conv_algo(algo.get<std::string>(), &a)) {
        options.fail("\"conv_algos\" entry \"" + node.substr(0, 64) + "\" is not a conv algorithm (" + conv_algo_names() + ")");
        break;
      }
      (*choices)[node] = a;
    }
  }
  p.options.conv_choices = std::move(choices);
  p.is_video = video_fields_match_version(f, p.format_version, "stream");
  if (p.is_video) {
    p.options.winograd_tiles = static_cast<int>(options.integer("winograd_tiles", 1, 4096));
    Fields stream = f.sub("stream");
    p.frames_in = static_cast<int>(stream.integer("frames_in", 1, 64));
    p.frames_out = static_cast<int>(stream.integer("frames_out", 1, 64));
    p.state_bytes = static_cast<uint64_t>(stream.integer("state_bytes", 1, int64_t{1} << 40));
  }
  Fields io = f.sub("io");
  for (const char* key : {"input_shape", "output_shape"}) {
    const json* shape = io.get(key, json::value_t::array);
    int64_t* dst = std::string(key) == "input_shape" ? p.input_shape : p.output_shape;
    if (shape && (shape->size() != 4 || !std::all_of(shape->begin(), shape->end(), [](const json& d) { return d.is_number_integer(); }))) {
      io.fail(std::string("\"") + key + "\" is not 4 integers");
    } else if (shape) {
      for (int d = 0; d < 4; ++d) dst[d] = (*shape)[d].get<int64_t>();
    }
  }
  Fields program = f.sub("program");
  p.kernels = program.str("kernels", 256);
  p.program_sha256 = program.sha256("sha256");
  p.arena_bytes = static_cast<uint64_t>(program.integer("arena_bytes", 0, int64_t{1} << 40));
  p.steps = static_cast<uint64_t>(program.integer("steps", 0, int64_t{1} << 32));
  Fields ops = program.sub("ops", json::value_t::array);
  if (!f.ok()) return Status(Code::format, f.error());
  if (ops.value().size() > 100000) return Status(Code::format, what + ": too many ops");
  for (size_t i = 0; i < ops.value().size(); ++i) {
    Fields op(what, ops.value()[i], "program.ops[" + std::to_string(i) + "].");
    p.ops.push_back({op.str("name", 256), op.str("kind", 64)});
    if (!op.ok()) return Status(Code::format, op.error());
  }
  if (p.weight_file != kWeightFileName) return Status(Code::format, what + ": refers to weights \"" + p.weight_file + "\", not weight.bin");
  return p;
}

}  // namespace taec

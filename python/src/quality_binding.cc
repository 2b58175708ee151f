// Quality tooling (taec_quality.h) and packing: the latent contract, FLUX.2's packed latent,
// validate, pack, verify, roundtrip. Results come back as dicts; taec/quality.py types them.
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings.h"
#include "errors.h"
#include "plan_binding.h"
#include "taec/taec_quality.h"
#include "tensor_view.h"

namespace py = pybind11;

namespace taec_py {
namespace {

py::dict error_dict(const taec_error_stats& e) {
  py::dict d;
  d["max_abs"] = e.max_abs;
  d["mae"] = e.mae;
  d["rmse"] = e.rmse;
  d["psnr_db"] = e.psnr_db;
  d["count"] = e.count;
  d["nonfinite"] = e.nonfinite;
  return d;
}

py::dict contract(const std::string& variant) {
  taec_latent_contract c;
  check(taec_latent_contract_get(variant.c_str(), &c));
  py::dict d;
  d["variant"] = c.variant;
  d["pipeline"] = c.pipeline;
  d["latent_channels"] = c.latent_channels;
  d["spatial_factor"] = c.spatial_factor;
  d["scale"] = c.scale;
  d["shift"] = c.shift;
  d["image_min"] = c.image_min;
  d["image_max"] = c.image_max;
  d["typical_std"] = c.typical_std;
  d["packed_channels"] = c.packed_channels;
  d["packed_factor"] = c.packed_factor;
  d["note"] = c.note;
  return d;
}

// float32 in, float32 out; rank 3 or a batch [N, ...]. `unpack` says which direction.
py::array flux2(py::handle input, const std::string& layout_name, bool unpack) {
  const taec_layout layout = parse_layout(layout_name);
  const char* what = unpack ? "packed" : "latent";
  TensorView v = borrow_tensor(input, what);
  if (v.type != ElemType::f32) throw_error(TAEC_ERR_INVALID_ARGUMENT, std::string(what) + ": dtype " + elem_name(v.type) + "; pass float32");
  if (v.shape.size() != 3 && v.shape.size() != 4) throw_error(TAEC_ERR_SHAPE, std::string(what) + ": shape " + v.shape_text() + " is not rank 3 or 4");
  const size_t lead = v.shape.size() - 3;
  const bool nhwc = layout == TAEC_LAYOUT_NHWC;
  const int64_t c = v.shape[lead + (nhwc ? 2 : 0)], h = v.shape[lead + (nhwc ? 0 : 1)], w = v.shape[lead + (nhwc ? 1 : 2)];
  const int64_t oc = unpack ? c / 4 : c * 4, oh = unpack ? h * 2 : h / 2, ow = unpack ? w * 2 : w / 2;
  std::vector<py::ssize_t> shape(v.shape.begin(), v.shape.end());
  shape[lead + (nhwc ? 2 : 0)] = oc;
  shape[lead + (nhwc ? 0 : 1)] = oh;
  shape[lead + (nhwc ? 1 : 2)] = ow;
  py::array_t<float> out(shape);
  const int64_t batch = lead ? v.shape[0] : 1;
  const size_t item = static_cast<size_t>(c * h * w);
  for (int64_t n = 0; n < batch; ++n) {
    const float* src = static_cast<const float*>(v.data) + n * item;
    float* dst = out.mutable_data() + n * item;
    check(unpack ? taec_flux2_unpack(src, static_cast<int>(c), static_cast<int>(h), static_cast<int>(w), layout, dst)
                 : taec_flux2_pack(src, static_cast<int>(c), static_cast<int>(h), static_cast<int>(w), layout, dst));
  }
  return out;
}

struct Validation {
  std::unique_ptr<taec_validation_set, void (*)(taec_validation_set*)> set{nullptr, taec_validation_set_free};
  std::unique_ptr<taec_validation, void (*)(taec_validation*)> result{nullptr, taec_validation_free};
};

py::dict validate(const PyModel& model, PyPlan& plan, int random, uint64_t seed, const std::vector<std::string>& images,
                  const PyModel* encoder, std::optional<double> tolerance) {
  taec_validation_options vo;
  taec_validation_options_init(&vo);
  vo.random_count = random;
  vo.seed = seed;
  std::vector<const char*> paths;
  for (const std::string& p : images) paths.push_back(p.c_str());
  vo.image_paths = paths.data();
  vo.image_count = paths.size();
  vo.encoder = encoder ? encoder->model.get() : nullptr;
  const taec_model_info info = model.model.info();
  const double tol = tolerance ? *tolerance : taec_default_tolerance(info.variant, plan.desc().precision);
  Validation v;
  taec_validation_summary s;
  {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(plan.mutex());
    taec_validation_set* set = nullptr;
    taec::check(taec_validation_set_create(model.model.get(), plan.desc().height, plan.desc().width, &vo, &set));
    v.set.reset(set);
    taec_validation* result = nullptr;
    taec::check(taec_validate_plan(set, plan.plan().get(), tol, &result));
    v.result.reset(result);
    taec::check(taec_validation_get_summary(result, &s));
  }
  py::dict d;
  d["passed"] = static_cast<bool>(s.passed);
  d["tolerance"] = s.tolerance;
  d["worst"] = error_dict(s.worst);
  py::list cases;
  for (size_t i = 0; i < s.case_count; ++i) {
    taec_validation_case c;
    check(taec_validation_get_case(v.result.get(), i, &c));
    cases.append(py::make_tuple(c.input, error_dict(c.error)));
  }
  d["cases"] = cases;
  return d;
}

// Progress lines from the C side arrive on the calling thread, which holds no GIL while packing.
struct Progress {
  std::function<void(const std::string&)> fn;
  static void call(const char* line, void* user) {
    auto* p = static_cast<Progress*>(user);
    if (!p->fn) return;
    py::gil_scoped_acquire gil;
    try {
      p->fn(line);
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("taec progress callback");
    }
  }
};

void pack(const std::string& weights, const std::string& out, const std::vector<std::pair<int, int>>& sizes, const std::string& precision,
          const std::optional<std::string>& storage, const std::string& layout, const std::string& dtype, bool zip, int threads,
          int random_inputs, uint64_t seed, const std::optional<std::string>& image_dir, const std::optional<std::string>& encoder,
          double tolerance, const std::optional<std::string>& variant, int clip_latents, std::function<void(const std::string&)> progress) {
  std::vector<int> heights, widths;
  for (const auto& [h, w] : sizes) heights.push_back(h), widths.push_back(w);
  taec_pack_options o;
  taec_pack_options_init(&o);
  o.heights = heights.data();
  o.widths = widths.data();
  o.size_count = sizes.size();
  o.layout = parse_layout(layout);
  o.io_dtype = parse_dtype(dtype) == ElemType::f16 ? TAEC_DTYPE_F16 : TAEC_DTYPE_F32;
  o.precision = parse_precision(precision);
  o.weights = storage ? storage->c_str() : nullptr;
  o.out_path = out.c_str();
  o.zip = zip;
  o.threads = threads;
  if (random_inputs >= 0) o.random_inputs = random_inputs;
  o.seed = seed;
  o.image_dir = image_dir ? image_dir->c_str() : nullptr;
  o.encoder_path = encoder ? encoder->c_str() : nullptr;
  o.tolerance = tolerance;
  o.variant = variant ? variant->c_str() : nullptr;
  if (clip_latents > 0) o.clip_latents = clip_latents;
  Progress p{std::move(progress)};
  o.progress = &Progress::call;
  o.progress_user = &p;
  py::gil_scoped_release release;
  // A model name packs its decoder, as `taec pack NAME` does.
  const std::string path = std::filesystem::exists(weights) ? weights : taec::resolve_weights(weights, TAEC_ROLE_DECODER);
  taec::check(taec_pack(path.c_str(), &o));
}

py::tuple verify(const std::string& path) {
  std::vector<std::tuple<std::string, bool, std::string>> files;
  int all_ok = 0;
  {
    py::gil_scoped_release release;
    taec::check(taec_package_verify(
        path.c_str(),
        [](const char* file, int ok, const char* detail, void* user) {
          static_cast<decltype(files)*>(user)->emplace_back(file, ok != 0, detail);
        },
        &files, &all_ok));
  }
  return py::make_tuple(all_ok != 0, files);
}

py::dict roundtrip(const PyModel& encoder, const PyModel& decoder, const std::vector<std::string>& images, const std::string& out_dir,
                   int size, const std::string& methods, int threads, int timing_runs, const std::vector<std::shared_ptr<PyPackage>>& packages,
                   std::function<void(const std::string&)> progress) {
  taec_roundtrip_options o;
  taec_roundtrip_options_init(&o);
  o.size = size;
  o.methods = methods.c_str();
  o.out_dir = out_dir.c_str();
  o.threads = threads;
  o.timing_runs = timing_runs;
  std::vector<const taec_package*> pkgs;
  for (const auto& p : packages) pkgs.push_back(p->package.get());
  o.packages = pkgs.data();
  o.package_count = pkgs.size();
  Progress p{std::move(progress)};
  o.progress = &Progress::call;
  o.progress_user = &p;
  std::vector<const char*> paths;
  for (const std::string& s : images) paths.push_back(s.c_str());
  std::unique_ptr<taec_roundtrip, void (*)(taec_roundtrip*)> rt(nullptr, taec_roundtrip_free);
  {
    py::gil_scoped_release release;
    taec_roundtrip* raw = nullptr;
    taec::check(taec_roundtrip_run(encoder.model.get(), decoder.model.get(), paths.data(), paths.size(), &o, &raw));
    rt.reset(raw);
  }
  py::dict d;
  d["json"] = taec_roundtrip_json(rt.get());
  d["table"] = taec_roundtrip_table(rt.get());
  d["method_table"] = taec_roundtrip_method_table(rt.get());
  return d;
}

}  // namespace

void register_quality(py::module_& m) {
  m.def("contract", &contract, py::arg("variant"));
  m.def("flux2_unpack", [](py::handle x, const std::string& layout) { return flux2(x, layout, true); }, py::arg("packed"),
        py::arg("layout") = "nchw");
  m.def("flux2_pack", [](py::handle x, const std::string& layout) { return flux2(x, layout, false); }, py::arg("latent"),
        py::arg("layout") = "nchw");
  m.def("default_tolerance", [](const std::string& variant, const std::string& precision) {
    return taec_default_tolerance(variant.c_str(), parse_precision(precision));
  }, py::arg("variant"), py::arg("precision"));
  m.def("validate", &validate, py::arg("model"), py::arg("plan"), py::kw_only(), py::arg("random") = 2, py::arg("seed") = 0,
        py::arg("images") = std::vector<std::string>{}, py::arg("encoder") = nullptr, py::arg("tolerance") = py::none());
  m.def("pack", &pack, py::arg("weights"), py::arg("out"), py::kw_only(), py::arg("sizes"), py::arg("precision") = "bf16",
        py::arg("weight_storage") = py::none(), py::arg("layout") = "nhwc", py::arg("dtype") = "float16", py::arg("zip") = false,
        py::arg("threads") = 0, py::arg("random_inputs") = -1, py::arg("seed") = 0, py::arg("image_dir") = py::none(),
        py::arg("encoder") = py::none(), py::arg("tolerance") = 0.0, py::arg("variant") = py::none(), py::arg("clip_latents") = 0,
        py::arg("progress") = nullptr);
  m.def("verify", &verify, py::arg("path"));
  m.def("roundtrip", &roundtrip, py::arg("encoder"), py::arg("decoder"), py::arg("images"), py::arg("out_dir"), py::kw_only(),
        py::arg("size") = 512, py::arg("methods") = "fp32,bf16", py::arg("threads") = 0, py::arg("timing_runs") = 3,
        py::arg("packages") = std::vector<std::shared_ptr<PyPackage>>{}, py::arg("progress") = nullptr);
}

}  // namespace taec_py

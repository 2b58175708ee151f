// Models, packages, calibrations and images: loading them, and compiling plans.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings.h"
#include "errors.h"
#include "plan_binding.h"

namespace py = pybind11;

namespace taec_py {
namespace {

taec_role parse_role(const std::optional<std::string>& role) {
  if (!role || *role == "auto") return TAEC_ROLE_ANY;
  if (*role == "decoder") return TAEC_ROLE_DECODER;
  if (*role == "encoder") return TAEC_ROLE_ENCODER;
  throw_error(TAEC_ERR_INVALID_ARGUMENT, "role: unknown '" + *role + "' (decoder, encoder)");
}

taec_memory_mode parse_memory(const std::string& m) {
  if (m == "banded") return TAEC_MEMORY_BANDED;
  if (m == "whole") return TAEC_MEMORY_WHOLE;
  if (m == "shared") return TAEC_MEMORY_PACKAGE_SHARED;
  throw_error(TAEC_ERR_INVALID_ARGUMENT, "memory: unknown '" + m + "' (banded, whole, shared)");
}

taec_nonfinite_policy parse_nonfinite(const std::string& n) {
  if (n == "reject") return TAEC_NONFINITE_REJECT;
  if (n == "propagate") return TAEC_NONFINITE_PROPAGATE;
  throw_error(TAEC_ERR_INVALID_ARGUMENT, "nonfinite: unknown '" + n + "' (reject, propagate)");
}

taec_dtype io_dtype_of(ElemType t) { return t == ElemType::f16 ? TAEC_DTYPE_F16 : TAEC_DTYPE_F32; }

std::shared_ptr<PyModel> load(const std::string& weights, const std::optional<std::string>& variant,
                              const std::optional<std::string>& role) {
  taec_load_options lo;
  taec_load_options_init(&lo);
  lo.variant = variant ? variant->c_str() : nullptr;
  lo.role = parse_role(role);
  // A model name is looked up per role (taec.h taec_resolve_weights); a bare name means its decoder.
  const bool is_path = std::filesystem::exists(weights);
  const taec_role lookup = lo.role == TAEC_ROLE_ANY && !is_path ? TAEC_ROLE_DECODER : lo.role;
  std::string path;
  {
    py::gil_scoped_release release;
    path = is_path ? weights : taec::resolve_weights(weights, lookup);
  }
  if (!is_path) lo.role = lookup;
  py::gil_scoped_release release;
  return std::make_shared<PyModel>(taec::Model(path, &lo));
}

py::dict info_dict(const taec_model_info& i) {
  py::dict d;
  d["role"] = i.role == TAEC_ROLE_ENCODER ? "encoder" : "decoder";
  d["variant"] = i.variant;
  d["variant_note"] = i.variant_note;
  d["source_format"] = i.source_format;
  d["source_path"] = i.source_path;
  d["source_sha256"] = i.source_sha256;
  d["latent_channels"] = i.latent_channels;
  d["image_channels"] = i.image_channels;
  d["spatial_factor"] = i.spatial_factor;
  d["parameter_count"] = i.parameter_count;
  d["is_video"] = static_cast<bool>(i.is_video);
  d["time_factor"] = i.time_factor;
  d["patch"] = i.patch;
  d["frame_rule"] = i.frame_rule;
  return d;
}

struct CompileArgs {
  std::string precision, layout, dtype, memory, nonfinite;
  int threads;
};

PlanDescription describe(const taec_model_info& info, int height, int width, taec_layout layout, ElemType dtype,
                         taec_precision precision, int threads) {
  return {info.role, static_cast<bool>(info.is_video), height, width, layout, dtype, precision, threads};
}

std::shared_ptr<PyPlan> compile(const PyModel& model, int height, int width, const CompileArgs& a, const PyCalibration* calibration,
                                const std::optional<std::string>& weights) {
  taec_plan_options o;
  taec_plan_options_init(&o);
  o.image_height = height;
  o.image_width = width;
  o.layout = parse_layout(a.layout);
  const ElemType dtype = parse_dtype(a.dtype);
  o.io_dtype = io_dtype_of(dtype);
  o.precision = parse_precision(a.precision);
  o.threads = a.threads;
  o.memory = parse_memory(a.memory);
  o.nonfinite = parse_nonfinite(a.nonfinite);
  o.calibration = calibration ? calibration->calibration.get() : nullptr;
  o.weights = weights ? weights->c_str() : nullptr;
  if (o.precision == TAEC_PRECISION_INT8 && !calibration) {
    throw_error(TAEC_ERR_INVALID_ARGUMENT, "precision=\"int8\" needs activation ranges: pass calibration=taec.calibrate(decoder, encoder, "
                                           "images) (or load the plan from a package packed with int8)");
  }
  const taec_model_info info = model.model.info();
  py::gil_scoped_release release;
  return std::make_shared<PyPlan>(taec::Plan(model.model, o), describe(info, height, width, o.layout, dtype, o.precision, a.threads));
}

std::shared_ptr<PyPlan> load_package_plan(PyPackage& pkg, int height, int width, int threads, const std::string& memory,
                                          const std::string& nonfinite) {
  taec_plan_options o;
  taec_plan_options_init(&o);
  o.threads = threads;
  o.memory = parse_memory(memory);
  o.nonfinite = parse_nonfinite(nonfinite);
  const taec_package_info pi = pkg.package.info();
  const taec_model_info mi = pkg.model.info();
  const ElemType dtype = pi.io_dtype == TAEC_DTYPE_F16 ? ElemType::f16 : ElemType::f32;
  py::gil_scoped_release release;
  return std::make_shared<PyPlan>(pkg.package.load_plan(height, width, &o), describe(mi, height, width, pi.layout, dtype, pi.precision, threads));
}

py::array load_image(const std::string& path) {
  taec::Array a = [&] {
    py::gil_scoped_release release;
    return taec::Array::load_image(path);
  }();
  const std::vector<int64_t> shape = a.shape();
  py::array_t<float> out(std::vector<py::ssize_t>(shape.begin(), shape.end()));
  std::copy(a.data(), a.data() + a.elems(), out.mutable_data());
  return out;
}

}  // namespace

void register_models(py::module_& m) {
  py::class_<PyModel, std::shared_ptr<PyModel>>(m, "Model")
      .def_property_readonly("info", [](const PyModel& p) { return info_dict(p.model.info()); })
      .def("clip_length", [](const PyModel& p, int64_t count) { return p.model.clip_length(count); }, py::arg("count"))
      .def(
          "compile",
          [](const PyModel& p, int height, int width, const std::string& precision, const std::string& layout, const std::string& dtype,
             int threads, const std::string& memory, const std::string& nonfinite, const PyCalibration* calibration,
             const std::optional<std::string>& weights) {
            return compile(p, height, width, {precision, layout, dtype, memory, nonfinite, threads}, calibration, weights);
          },
          py::arg("height"), py::arg("width"), py::kw_only(), py::arg("precision") = "fp32", py::arg("layout") = "nchw",
          py::arg("dtype") = "float32", py::arg("threads") = 0, py::arg("memory") = "banded", py::arg("nonfinite") = "reject",
          py::arg("calibration") = nullptr, py::arg("weights") = py::none());
  m.def("load", &load, py::arg("weights"), py::arg("variant") = py::none(), py::arg("role") = py::none());

  py::class_<PyPackage, std::shared_ptr<PyPackage>>(m, "Package")
      .def_property_readonly("path", [](const PyPackage& p) { return p.path; })
      .def_property_readonly("model", [](const PyPackage& p) { return std::make_shared<PyModel>(p.package.model()); })
      .def_property_readonly("info", [](const PyPackage& p) {
        const taec_package_info i = p.package.info();
        py::dict d;
        d["model_name"] = i.model_name;
        d["variant"] = i.variant;
        d["role"] = i.role == TAEC_ROLE_ENCODER ? "encoder" : "decoder";
        d["layout"] = i.layout == TAEC_LAYOUT_NHWC ? "nhwc" : "nchw";
        d["dtype"] = i.io_dtype == TAEC_DTYPE_F16 ? "float16" : "float32";
        d["precision"] = precision_name(i.precision);
        d["weight_file_bytes"] = i.weight_file_bytes;
        d["packed_weight_bytes"] = i.packed_weight_bytes;
        d["packed_by"] = i.packed_by;
        d["is_video"] = static_cast<bool>(i.is_video);
        return d;
      })
      .def_property_readonly("sizes", [](const PyPackage& p) {
        std::vector<std::tuple<int, int, double>> sizes;
        for (size_t k = 0; k < p.package.info().size_count; ++k) {
          const taec::Package::Size s = p.package.size(k);
          sizes.emplace_back(s.height, s.width, s.validated_max_abs);
        }
        return sizes;
      })
      .def("load_plan", &load_package_plan, py::arg("height"), py::arg("width"), py::kw_only(), py::arg("threads") = 0,
           py::arg("memory") = "banded", py::arg("nonfinite") = "reject");
  m.def("open_package", [](const std::string& path) {
    py::gil_scoped_release release;
    return std::make_shared<PyPackage>(path);
  }, py::arg("path"));

  py::class_<PyCalibration, std::shared_ptr<PyCalibration>>(m, "Calibration")
      .def("describe", [](const PyCalibration& c) { return c.calibration.describe(); });
  m.def("calibrate", [](const PyModel& decoder, const PyModel& encoder, const std::vector<std::string>& images, int size, int threads) {
    py::gil_scoped_release release;
    return std::make_shared<PyCalibration>(taec::Calibration::from_images(decoder.model, encoder.model, images, size, threads));
  }, py::arg("decoder"), py::arg("encoder"), py::arg("images"), py::kw_only(), py::arg("size") = 512, py::arg("threads") = 0);

  m.def("load_image", &load_image, py::arg("path"));
  m.def("resolve_weights", [](const std::string& name, const std::string& role) {
    return taec::resolve_weights(name, role == "encoder" ? TAEC_ROLE_ENCODER : TAEC_ROLE_DECODER);
  }, py::arg("name"), py::arg("role") = "decoder");
  m.def("version", &taec_version);
}

}  // namespace taec_py

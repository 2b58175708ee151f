#include "plan_binding.h"

#include <cstring>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "errors.h"

namespace py = pybind11;

namespace taec_py {
namespace {

// PEP 3118 format of each element type, which numpy takes as a dtype.
const char* format_of(ElemType t) {
  switch (t) {
    case ElemType::f32: return "f";
    case ElemType::f16: return "e";
    case ElemType::bf16: return "f";  // bfloat16 plans produce float32
    case ElemType::u8: return "B";
  }
  return "f";
}

ElemType output_type(const PlanDescription& d, bool u8) {
  if (u8) return ElemType::u8;
  return d.dtype == ElemType::f16 ? ElemType::f16 : ElemType::f32;
}

std::string shape_text(const std::vector<int64_t>& shape, bool batched) {
  std::string s = batched ? "[N" : "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i || batched ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

py::array new_array(ElemType t, const std::vector<int64_t>& shape) {
  return py::array(py::dtype(format_of(t)), std::vector<py::ssize_t>(shape.begin(), shape.end()));
}

// Widening, exact: a bfloat16 is the high half of a float32.
void widen_bf16(const uint16_t* in, float* out, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    const uint32_t bits = static_cast<uint32_t>(in[i]) << 16;
    std::memcpy(out + i, &bits, 4);
  }
}

class PyStream {
 public:
  PyStream(std::shared_ptr<PyPlan> plan, int clip_latents) : plan_(std::move(plan)) {
    taec_stream_options o;
    taec_stream_options_init(&o);
    o.clip_latents = clip_latents;
    taec_stream* raw = nullptr;
    taec::check(taec_stream_create(plan_->plan().get(), &o, &raw));
    stream_.reset(raw);
  }

  py::object push(py::handle input) {
    TensorView v = borrow_tensor(input, "latent");
    const int64_t batch = check_input(*plan_, v, "latent");
    if (batch > 1) throw_error(TAEC_ERR_SHAPE, "latent: a stream takes one latent per push, not a batch of " + std::to_string(batch));
    std::vector<float> scratch;
    const void* x = plan_->io_input(v, 0, scratch);
    std::vector<int64_t> shape = plan_->item_shape(true);
    shape.insert(shape.begin(), 1);
    return locked([&] {
      plan_->note_input(x, PyGILState_Check());
      return taec_stream_push_shaped(stream_handle(), x, 4, shape.data());
    });
  }
  py::object flush() {
    return locked([&] { return taec_stream_flush(stream_handle()); });
  }
  void reset() { taec::check(taec_stream_reset(stream_.get())); }
  taec_stream_info info() const {
    taec_stream_info i;
    taec::check(taec_stream_get_info(stream_.get(), &i));
    return i;
  }

 private:
  struct StreamFree {
    void operator()(taec_stream* s) const { taec_stream_free(s); }
  };
  taec_stream* stream_handle() { return stream_.get(); }

  // Runs `step` and pulls every pending output into one [k, ...] array, with the GIL released.
  template <class Step>
  py::object locked(Step step) {
    taec_status status = TAEC_OK;
    std::string message;
    std::vector<std::vector<char>> frames;
    // One pulled frame (a video plan's output_elems are a whole step's frames).
    const std::vector<int64_t> frame = plan_->item_shape(false);
    const size_t bytes = static_cast<size_t>(frame[0] * frame[1] * frame[2]) * elem_bytes(output_type(plan_->desc(), false));
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(plan_->mutex());
      status = step();
      while (status == TAEC_OK && taec_stream_pending(stream_handle()) > 0) {
        frames.emplace_back(bytes);
        status = taec_stream_pull(stream_handle(), frames.back().data());
      }
      if (status != TAEC_OK) message = taec_last_error();
    }
    if (status != TAEC_OK) throw_error(status, message);
    std::vector<int64_t> shape = plan_->item_shape(false);
    shape.insert(shape.begin(), static_cast<int64_t>(frames.size()));
    py::array out = new_array(output_type(plan_->desc(), false), shape);
    char* dst = static_cast<char*>(out.mutable_data());
    for (size_t i = 0; i < frames.size(); ++i) std::memcpy(dst + i * bytes, frames[i].data(), bytes);
    return out;
  }

  std::shared_ptr<PyPlan> plan_;  // outlives the stream, which borrows it
  std::unique_ptr<taec_stream, StreamFree> stream_;
};

py::dict stats_dict(const taec_plan_stats& s) {
  py::dict d;
  d["engine"] = s.engine;
  d["isa"] = s.isa;
  d["isa_note"] = s.isa_note;
  d["kernel"] = s.kernel;
  d["arena_bytes"] = s.arena_bytes;
  d["weight_bytes"] = s.weight_bytes;
  d["model_flops"] = s.model_flops;
  d["executed_flops"] = s.executed_flops;
  d["threads"] = s.threads;
  return d;
}

}  // namespace

ElemType parse_dtype(const std::string& name) {
  if (name == "float32" || name == "fp32" || name == "f32") return ElemType::f32;
  if (name == "float16" || name == "fp16" || name == "f16") return ElemType::f16;
  if (name == "bfloat16" || name == "bf16") return ElemType::bf16;
  throw_error(TAEC_ERR_INVALID_ARGUMENT, "dtype: unknown '" + name + "' (float32, float16, bfloat16)");
}

taec_layout parse_layout(const std::string& name) {
  if (name == "nchw" || name == "NCHW") return TAEC_LAYOUT_NCHW;
  if (name == "nhwc" || name == "NHWC") return TAEC_LAYOUT_NHWC;
  throw_error(TAEC_ERR_INVALID_ARGUMENT, "layout: unknown '" + name + "' (nchw, nhwc)");
}

taec_precision parse_precision(const std::string& name) {
  if (name == "fp32") return TAEC_PRECISION_FP32;
  if (name == "bf16") return TAEC_PRECISION_BF16;
  if (name == "int8") return TAEC_PRECISION_INT8;
  if (name == "reference") return TAEC_PRECISION_REFERENCE;
  throw_error(TAEC_ERR_INVALID_ARGUMENT, "precision: unknown '" + name + "' (fp32, bf16, int8, reference)");
}

const char* precision_name(taec_precision p) {
  switch (p) {
    case TAEC_PRECISION_FP32: return "fp32";
    case TAEC_PRECISION_BF16: return "bf16";
    case TAEC_PRECISION_INT8: return "int8";
    case TAEC_PRECISION_REFERENCE: return "reference";
  }
  return "?";
}

PyPlan::PyPlan(taec::Plan plan, const PlanDescription& d) : plan_(std::move(plan)), desc_(d), io_(plan_.io()) {}

std::vector<int64_t> PyPlan::item_shape(bool input) const {
  const int64_t* s = input ? io_.input_shape : io_.output_shape;
  return {s[1], s[2], s[3]};
}

const void* PyPlan::io_input(const TensorView& v, size_t item, std::vector<float>& scratch) const {
  const char* base = static_cast<const char*>(v.data) + item * io_.input_elems * elem_bytes(v.type);
  if (v.type != ElemType::bf16) return base;
  scratch.resize(io_.input_elems);
  widen_bf16(reinterpret_cast<const uint16_t*>(base), scratch.data(), io_.input_elems);
  return scratch.data();
}

int64_t check_input(const PyPlan& plan, const TensorView& v, const char* what) {
  const PlanDescription& d = plan.desc();
  const std::vector<int64_t> item = plan.item_shape(true);
  const bool batched = v.shape.size() == 4;
  const std::string takes = "it takes " + shape_text(item, true) + " or " + shape_text(item, false) + " (" +
                            (d.layout == TAEC_LAYOUT_NHWC ? "NHWC " : "NCHW ") + elem_name(d.dtype) + ", " +
                            std::to_string(d.height) + "x" + std::to_string(d.width) + " images)";
  if (v.type != d.dtype) {
    throw_error(TAEC_ERR_INVALID_ARGUMENT, std::string(what) + ": dtype " + elem_name(v.type) + " does not fit this plan: " + takes +
                                               "; convert it, or compile a plan with dtype=\"" + elem_name(v.type) + "\"");
  }
  const bool fits = (batched && std::equal(item.begin(), item.end(), v.shape.begin() + 1) && v.shape[0] >= 1) ||
                    (v.shape.size() == 3 && v.shape == item);
  if (!fits) throw_error(TAEC_ERR_SHAPE, std::string(what) + ": shape " + v.shape_text() + " does not fit this plan: " + takes);
  return batched ? v.shape[0] : 0;
}

py::object PyPlan::run(py::handle input, py::object out, const std::string& output) {
  if (desc_.is_video) throw_error(TAEC_ERR_UNSUPPORTED, "a video plan runs latent by latent: use plan.stream()");
  const bool u8 = output == "uint8";
  if (!u8 && output != "float") throw_error(TAEC_ERR_INVALID_ARGUMENT, "output: '" + output + "' is not \"float\" or \"uint8\"");
  if (u8 && desc_.role != TAEC_ROLE_DECODER) throw_error(TAEC_ERR_INVALID_ARGUMENT, "output=\"uint8\": an encoder's output is a latent");
  TensorView in = borrow_tensor(input, "input");
  const int64_t batch = check_input(*this, in, "input");
  const int64_t count = batch ? batch : 1;
  const ElemType otype = output_type(desc_, u8);
  std::vector<int64_t> oshape = u8 ? std::vector<int64_t>{desc_.height, desc_.width, 3} : item_shape(false);
  if (batch) oshape.insert(oshape.begin(), batch);

  py::object result = out;
  if (out.is_none()) result = new_array(otype, oshape);
  TensorView ov = borrow_tensor(result, "out", /*writable=*/true, /*allow_u8=*/true);
  if (ov.type != otype || ov.shape != oshape) {
    throw_error(ov.type != otype ? TAEC_ERR_INVALID_ARGUMENT : TAEC_ERR_SHAPE,
                "out: " + std::string(elem_name(ov.type)) + " " + ov.shape_text() + " does not fit: this call writes " + elem_name(otype) + " " +
                    shape_text(oshape, false));
  }
  const size_t out_item_bytes = (u8 ? static_cast<size_t>(desc_.height) * desc_.width * 3 : io_.output_elems) * elem_bytes(otype);
  std::vector<float> scratch, image;
  std::vector<uint16_t> image16;
  if (u8) image.resize(io_.output_elems);
  if (u8 && desc_.dtype == ElemType::f16) image16.resize(io_.output_elems);
  taec_status status = TAEC_OK;
  std::string message;
  int64_t failed = 0;
  {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mutex_);
    for (int64_t n = 0; n < count && status == TAEC_OK; ++n) {
      const void* x = io_input(in, static_cast<size_t>(n), scratch);
      char* dst = static_cast<char*>(ov.data) + n * out_item_bytes;
      void* y = !u8 ? static_cast<void*>(dst) : image16.empty() ? static_cast<void*>(image.data()) : static_cast<void*>(image16.data());
      note_input(x, PyGILState_Check());
      status = taec_plan_run(plan_.get(), x, y);
      if (status == TAEC_OK && u8) {
        if (!image16.empty()) taec_f16_to_f32(image16.data(), image.data(), image.size());
        status = taec_image_to_rgb8(image.data(), desc_.height, desc_.width, desc_.layout, reinterpret_cast<uint8_t*>(dst));
      }
      if (status != TAEC_OK) {
        message = taec_last_error();
        failed = n;
      }
    }
  }
  if (status != TAEC_OK) throw_error(status, batch ? "input item " + std::to_string(failed) + ": " + message : message);
  return result;
}

void register_plans(py::module_& m) {
  py::class_<PyPlan, std::shared_ptr<PyPlan>>(m, "Plan")
      .def("__call__", &PyPlan::run, py::arg("input"), py::kw_only(), py::arg("out") = py::none(), py::arg("output") = "float")
      .def("stream", [](std::shared_ptr<PyPlan> p, int clip_latents) {
             if (!p->desc().is_video) throw_error(TAEC_ERR_UNSUPPORTED, "stream(): an image plan decodes whole images: call the plan");
             return std::make_unique<PyStream>(p, clip_latents);
           }, py::arg("clip_latents") = 0)
      .def_property_readonly("role", [](const PyPlan& p) { return p.desc().role == TAEC_ROLE_ENCODER ? "encoder" : "decoder"; })
      .def_property_readonly("is_video", [](const PyPlan& p) { return p.desc().is_video; })
      .def_property_readonly("height", [](const PyPlan& p) { return p.desc().height; })
      .def_property_readonly("width", [](const PyPlan& p) { return p.desc().width; })
      .def_property_readonly("layout", [](const PyPlan& p) { return p.desc().layout == TAEC_LAYOUT_NHWC ? "nhwc" : "nchw"; })
      .def_property_readonly("dtype", [](const PyPlan& p) { return elem_name(p.desc().dtype); })
      .def_property_readonly("precision", [](const PyPlan& p) { return precision_name(p.desc().precision); })
      .def_property_readonly("threads", [](const PyPlan& p) { return p.desc().threads; })
      .def_property_readonly("input_shape", [](const PyPlan& p) { return p.item_shape(true); })
      .def_property_readonly("output_shape", [](const PyPlan& p) { return p.item_shape(false); })
      .def_property_readonly("stats", [](PyPlan& p) { return stats_dict(p.plan().stats()); })
      .def_property_readonly("last_input_address", &PyPlan::last_input_address)
      .def_property_readonly("last_run_held_gil", &PyPlan::last_run_held_gil);

  py::class_<PyStream>(m, "Stream")
      .def("push", &PyStream::push, py::arg("latent"))
      .def("flush", &PyStream::flush)
      .def("reset", &PyStream::reset)
      .def_property_readonly("pushed", [](const PyStream& s) { return s.info().pushed; })
      .def_property_readonly("pulled", [](const PyStream& s) { return s.info().pulled; })
      .def_property_readonly("state_bytes", [](const PyStream& s) { return s.info().state_bytes; });
}

}  // namespace taec_py

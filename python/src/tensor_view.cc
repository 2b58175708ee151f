#include "tensor_view.h"

#include <cstring>

#include "errors.h"

namespace py = pybind11;

namespace taec_py {
namespace {

// The DLPack ABI (dlpack.h v0.x, which torch and numpy export): declared here rather than
// vendored, for the few fields read.
struct DLDevice { int32_t device_type, device_id; };
struct DLDataType { uint8_t code, bits; uint16_t lanes; };
struct DLTensor {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;  // in elements; NULL = compact C order
  uint64_t byte_offset;
};
struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor*);
};
constexpr int32_t kDLCPU = 1;
constexpr uint8_t kDLUInt = 1, kDLFloat = 2, kDLBfloat = 4;

[[noreturn]] void refuse(taec_status status, const char* what, const std::string& why) {
  throw_error(status, std::string(what) + ": " + why);
}

ElemType type_of_format(const std::string& format, const char* what, bool allow_u8) {
  // Byte-order prefixes: '@', '=', '<' are this (little-endian) machine's order.
  std::string f = format;
  if (!f.empty() && (f[0] == '@' || f[0] == '=' || f[0] == '<')) f = f.substr(1);
  if (f == "f") return ElemType::f32;
  if (f == "e") return ElemType::f16;
  if (f == "B" && allow_u8) return ElemType::u8;
  refuse(TAEC_ERR_INVALID_ARGUMENT, what, "dtype with buffer format '" + format + "' is not float32 or float16" +
                                             (allow_u8 ? " (or uint8)" : "") + " (bfloat16 comes through DLPack, e.g. a torch tensor)");
}

TensorView from_buffer(py::handle obj, const char* what, bool writable, bool allow_u8) {
  auto* raw = new Py_buffer;
  if (PyObject_GetBuffer(obj.ptr(), raw, (writable ? PyBUF_WRITABLE : 0) | PyBUF_RECORDS_RO) != 0) {
    delete raw;
    PyErr_Clear();
    refuse(TAEC_ERR_INVALID_ARGUMENT, what, writable ? "is not a writable buffer" : "does not expose its buffer");
  }
  std::shared_ptr<Py_buffer> buf(raw, [](Py_buffer* b) {
    PyBuffer_Release(b);
    delete b;
  });
  TensorView v;
  v.type = type_of_format(buf->format ? buf->format : "B", what, allow_u8);
  for (int i = 0; i < buf->ndim; ++i) v.shape.push_back(buf->shape[i]);
  v.data = buf->buf;
  if (!PyBuffer_IsContiguous(buf.get(), 'C')) {
    refuse(TAEC_ERR_INVALID_ARGUMENT, what, "array of shape " + v.shape_text() +
                                                " is not C-contiguous (a transposed or sliced view); pass a contiguous array "
                                                "(numpy.ascontiguousarray, tensor.contiguous()) or a plan of the other layout");
  }
  v.owner = buf;
  return v;
}

TensorView from_dlpack(py::handle obj, const char* what, bool allow_u8) {
  py::object tensor = py::reinterpret_borrow<py::object>(obj);
  // torch refuses to export a tensor that requires grad; decoding never needs the graph.
  if (py::hasattr(tensor, "requires_grad") && tensor.attr("requires_grad").cast<bool>()) tensor = tensor.attr("detach")();
  py::object capsule = tensor.attr("__dlpack__")();
  auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule.ptr(), "dltensor"));
  if (managed == nullptr) {
    PyErr_Clear();
    refuse(TAEC_ERR_INVALID_ARGUMENT, what, "__dlpack__ returned no DLPack tensor");
  }
  // Taken: the capsule must not free it again (the DLPack protocol's rename).
  PyCapsule_SetName(capsule.ptr(), "used_dltensor");
  TensorView v;
  v.owner = std::shared_ptr<void>(managed, [](void* p) {
    auto* m = static_cast<DLManagedTensor*>(p);
    if (m->deleter) m->deleter(m);
  });
  const DLTensor& t = managed->dl_tensor;
  for (int i = 0; i < t.ndim; ++i) v.shape.push_back(t.shape[i]);
  if (t.device.device_type != kDLCPU) refuse(TAEC_ERR_INVALID_ARGUMENT, what, "is not on the CPU (move it with .cpu())");
  if (t.dtype.lanes != 1) refuse(TAEC_ERR_INVALID_ARGUMENT, what, "has vector lanes");
  if (t.dtype.code == kDLFloat && t.dtype.bits == 32) v.type = ElemType::f32;
  else if (t.dtype.code == kDLFloat && t.dtype.bits == 16) v.type = ElemType::f16;
  else if (t.dtype.code == kDLBfloat && t.dtype.bits == 16) v.type = ElemType::bf16;
  else if (t.dtype.code == kDLUInt && t.dtype.bits == 8 && allow_u8) v.type = ElemType::u8;
  else refuse(TAEC_ERR_INVALID_ARGUMENT, what, "dtype (DLPack code " + std::to_string(t.dtype.code) + ", " + std::to_string(t.dtype.bits) +
                                               " bits) is not float32, float16 or bfloat16");
  if (t.strides != nullptr) {
    int64_t expected = 1;
    for (int i = t.ndim - 1; i >= 0; --i) {
      if (t.shape[i] != 1 && t.strides[i] != expected) {
        refuse(TAEC_ERR_INVALID_ARGUMENT, what, "tensor of shape " + v.shape_text() +
                                                    " is not C-contiguous (a transposed or sliced view); pass tensor.contiguous() "
                                                    "or a plan of the other layout");
      }
      expected *= t.shape[i];
    }
  }
  v.data = static_cast<char*>(t.data) + t.byte_offset;
  return v;
}

}  // namespace

const char* elem_name(ElemType type) {
  switch (type) {
    case ElemType::f32: return "float32";
    case ElemType::f16: return "float16";
    case ElemType::bf16: return "bfloat16";
    case ElemType::u8: return "uint8";
  }
  return "?";
}

size_t elem_bytes(ElemType type) { return type == ElemType::f32 ? 4 : type == ElemType::u8 ? 1 : 2; }

size_t TensorView::elems() const {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

std::string TensorView::shape_text() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

TensorView borrow_tensor(py::handle obj, const char* what, bool writable, bool allow_u8) {
  if (PyObject_CheckBuffer(obj.ptr())) return from_buffer(obj, what, writable, allow_u8);
  if (py::hasattr(obj, "__dlpack__")) return from_dlpack(obj, what, allow_u8);
  refuse(TAEC_ERR_INVALID_ARGUMENT, what, std::string("a ") + Py_TYPE(obj.ptr())->tp_name +
                                              " is not an array: pass a numpy array or a CPU torch tensor");
}

}  // namespace taec_py

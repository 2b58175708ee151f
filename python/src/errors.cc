#include "errors.h"

#include "taec/taec.hpp"

namespace py = pybind11;

namespace taec_py {
namespace {

// taec/errors.py names one class per status; "Error" is the base of them all.
const char* class_name(taec_status status) {
  switch (status) {
    case TAEC_ERR_INVALID_ARGUMENT: return "InvalidArgumentError";
    case TAEC_ERR_IO: return "FileError";
    case TAEC_ERR_FORMAT: return "FormatError";
    case TAEC_ERR_UNSUPPORTED: return "UnsupportedError";
    case TAEC_ERR_SHAPE: return "ShapeError";
    case TAEC_ERR_NONFINITE: return "NonFiniteError";
    case TAEC_ERR_OUT_OF_MEMORY: return "OutOfMemoryError";
    default: return "InternalError";
  }
}

}  // namespace

void throw_error(taec_status status, const std::string& message) {
  py::object cls = py::module_::import("taec.errors").attr(class_name(status));
  py::object exc = cls(message, static_cast<int>(status));
  PyErr_SetObject(cls.ptr(), exc.ptr());
  throw py::error_already_set();
}

void check(taec_status status) {
  if (status != TAEC_OK) throw_error(status, taec_last_error());
}

void register_errors(py::module_&) {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const taec::Error& e) {
      try {
        throw_error(e.status(), e.what());
      } catch (py::error_already_set& set) {
        set.restore();
      }
    }
  });
}

}  // namespace taec_py

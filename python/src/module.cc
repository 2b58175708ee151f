// taec._taec: the C API for Python. The typed, documented surface is taec/__init__.py and
// taec/_taec.pyi; this module only converts and checks arguments and releases the GIL.
#include <pybind11/pybind11.h>

#include "bindings.h"
#include "errors.h"
#include "plan_binding.h"

PYBIND11_MODULE(_taec, m) {
  m.doc() = "taec C API bindings (see the taec package)";
  taec_py::register_errors(m);
  taec_py::register_plans(m);
  taec_py::register_models(m);
  taec_py::register_quality(m);
}

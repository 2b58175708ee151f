// taec failures as Python exceptions: the classes of taec/errors.py, chosen by status, carrying
// taec's message and status.
#pragma once

#include <string>

#include <pybind11/pybind11.h>

#include "taec/taec.h"

namespace taec_py {

// Raises the taec.errors class for `status` (the GIL must be held).
[[noreturn]] void throw_error(taec_status status, const std::string& message);

// Throws the calling thread's last taec error when status is not TAEC_OK.
void check(taec_status status);

// Installs the translator of taec::Error (taec.hpp) into those classes.
void register_errors(pybind11::module_& m);

}  // namespace taec_py

// MIL text for humans (`taec export coreml --print-mil`), in the dialect of a compiled model's
// model.mil (shared docs COREML.md section 7): `TYPE NAME = OP(arg = value, …)[name = …, val = …];`,
// arguments sorted by name, floats as C hex floats, blob consts as BLOBFILE(path, offset).
// A debug dump only: nothing reads it back.
#pragma once

#include <string>

#include "Model.pb.h"

namespace taec::coreml {

std::string mil_text(const ::CoreML::Specification::Model& model);

}  // namespace taec::coreml

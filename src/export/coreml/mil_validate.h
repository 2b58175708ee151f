// Validation of one MIL function as taec's reader understands ML Programs: SSA names defined
// before use and unique, every op of a type taec knows with the inputs that type takes, params
// that must be consts are consts, every const value complete (mil_const.h), and every op's
// declared output type equal to the type inferred from its inputs (dtype, rank and each dim).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "export/coreml/mil_const.h"
#include "export/coreml/mil_types.h"

namespace taec::coreml {

struct FunctionSummary {
  std::map<std::string, int> op_histogram;  // op type -> count
  std::vector<mil::NamedValueType> outputs;  // the block outputs with their types
  int blob_refs = 0;
};

// The op types taec's exporter emits and this reader checks.
const std::vector<std::string>& known_op_types();

// `where` prefixes messages ("model.mlmodel: function r768").
Result<FunctionSummary> validate_function(const std::string& where, const mil::Function& function,
                                          const std::string& opset, const BlobFile* blobs);

// Outputs of `shape` ops -> the dims of the tensor they measured (for a reshape back to them).
using ShapeSources = std::map<std::string, std::vector<int64_t>>;

// Output type of one op from its input types and const params (also used by tests).
Result<mil::ValueType> infer_op_type(const mil::Operation& op, const std::map<std::string, mil::ValueType>& types,
                                     const std::map<std::string, ConstData>& consts, const ShapeSources& shape_sources);

}  // namespace taec::coreml

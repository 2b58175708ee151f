// Validation of one MIL function as taec's reader understands ML Programs: SSA names defined
// before use and unique, every op of a type taec knows with the inputs that type takes, params
// that must be consts are consts, every const value complete (mil_const.h), and every op's
// declared output type equal to the type inferred from its inputs (dtype, rank and each dim).
//
// The iOS18 weight decompression ops (coremltools ops/defs/iOS18/compression.py) as the iOS18
// MIL backend serializes them: every input bound to a value (an immediate or a weight.bin blob of
// its dtype, sub-byte ones packed, with the exact byte size and padding bits), never to a name;
// their output only ever a conv weight; opset CoreML8 or later.
//   constexpr_lut_to_dense(indices: uint1|2|3|4|6|8 [d0..dn-1], lut: T [l0..ln-1, 2^bits, 1],
//                          vector_axis: optional int32 scalar in [-n, n)) -> T [d0..dn-1]
//     each li >= 1 divides di (the LUT for block (i0..) serves indices [i0*di/li, (i0+1)*di/li)),
//     exactly 2^bits entries (so every index addresses one), T in fp16/fp32/int8/uint8;
//     vector palettization (last LUT dim > 1) is not supported.
//   constexpr_blockwise_shift_scale(data: int4|uint4|int8|uint8|fp16|fp32 [d0..dn-1],
//                                   scale: U [s0..sn-1], offset: optional [s0..sn-1]) -> U [d0..dn-1]
//     same rank, each si >= 1 divides di, U fp16 or fp32, offset float or data's dtype.
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

// Output type of one op from its input types and const params (also used by tests). Not for the
// constexpr ops, whose inputs are values: infer_constexpr_type.
Result<mil::ValueType> infer_op_type(const mil::Operation& op, const std::map<std::string, mil::ValueType>& types,
                                     const std::map<std::string, ConstData>& consts, const ShapeSources& shape_sources);

// Whether `type` is one of the iOS18 constexpr ops above.
bool is_constexpr_op(const std::string& type);

// Output type of a constexpr op from its decoded input values (by parameter name).
Result<mil::ValueType> infer_constexpr_type(const std::string& op_type,
                                            const std::map<std::string, ConstData>& inputs);

}  // namespace taec::coreml

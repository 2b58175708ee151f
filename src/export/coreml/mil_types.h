// Small helpers over the generated MIL protobuf types (proto/coreml/MIL.proto), shared by the
// builder, the reader, the text printer and the interpreter.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "MIL.pb.h"

namespace taec::coreml {

namespace mil = ::CoreML::Specification::MILSpec;

constexpr int64_t kUnknownDim = -1;  // a flexible (enumerated-shape) dimension
constexpr const char* kWeightFileName = "@model_path/weights/weight.bin";

// dims empty = scalar (rank 0). kUnknownDim entries become Dimension.unknown.
mil::ValueType tensor_type(mil::DataType dtype, const std::vector<int64_t>& dims);
mil::ValueType scalar_type(mil::DataType dtype);
// iOS18 state<tensor<dtype, dims>>: a function input that read_state / coreml_update_state use.
mil::ValueType state_type(mil::DataType dtype, const std::vector<int64_t>& dims);

// Dims of a tensor type, kUnknownDim for unknown ones; rank-0 gives {}.
std::vector<int64_t> dims_of(const mil::TensorType& type);

// "fp16", "fp32", "int32", "uint4", "bool", "string", …; "?" for others.
const char* dtype_name(mil::DataType dtype);
// Bytes per element of the byte-sized numeric types, 0 for sub-byte types, bool, string, unknown.
int dtype_bytes(mil::DataType dtype);
// Bits per element of the numeric types, sub-byte ones included (uint4: 4); 0 for bool, string, unknown.
int dtype_bits(mil::DataType dtype);

// "tensor<fp16, [1, 64, 32, 32]>" / "fp16" for scalars / "state<tensor<fp16, [1, 64, 32, 32]>>";
// "?" for unknown dims.
std::string type_text(const mil::ValueType& type);

// Element count, or -1 where a dimension is unknown.
int64_t element_count(const std::vector<int64_t>& dims);

// Whether `s` is a MIL identifier: [A-Za-z_][A-Za-z0-9_@]*.
bool is_identifier(const std::string& s);

}  // namespace taec::coreml

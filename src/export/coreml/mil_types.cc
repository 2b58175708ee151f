#include "export/coreml/mil_types.h"

namespace taec::coreml {

mil::ValueType tensor_type(mil::DataType dtype, const std::vector<int64_t>& dims) {
  mil::ValueType type;
  mil::TensorType* t = type.mutable_tensortype();
  t->set_datatype(dtype);
  t->set_rank(static_cast<int64_t>(dims.size()));
  for (int64_t d : dims) {
    mil::Dimension* dim = t->add_dimensions();
    if (d == kUnknownDim) {
      dim->mutable_unknown()->set_variadic(false);
    } else {
      dim->mutable_constant()->set_size(static_cast<uint64_t>(d));
    }
  }
  return type;
}

mil::ValueType scalar_type(mil::DataType dtype) { return tensor_type(dtype, {}); }

mil::ValueType state_type(mil::DataType dtype, const std::vector<int64_t>& dims) {
  mil::ValueType type;
  *type.mutable_statetype()->mutable_wrappedtype() = tensor_type(dtype, dims);
  return type;
}

std::vector<int64_t> dims_of(const mil::TensorType& type) {
  std::vector<int64_t> dims;
  dims.reserve(type.dimensions_size());
  for (const auto& d : type.dimensions()) {
    dims.push_back(d.has_constant() ? static_cast<int64_t>(d.constant().size()) : kUnknownDim);
  }
  return dims;
}

const char* dtype_name(mil::DataType dtype) {
  switch (dtype) {
    case mil::BOOL: return "bool";
    case mil::STRING: return "string";
    case mil::FLOAT16: return "fp16";
    case mil::FLOAT32: return "fp32";
    case mil::FLOAT64: return "fp64";
    case mil::BFLOAT16: return "bf16";
    case mil::INT8: return "int8";
    case mil::INT16: return "int16";
    case mil::INT32: return "int32";
    case mil::INT64: return "int64";
    case mil::UINT8: return "uint8";
    case mil::UINT16: return "uint16";
    case mil::UINT32: return "uint32";
    case mil::UINT64: return "uint64";
    case mil::INT4: return "int4";
    case mil::UINT1: return "uint1";
    case mil::UINT2: return "uint2";
    case mil::UINT3: return "uint3";
    case mil::UINT4: return "uint4";
    case mil::UINT6: return "uint6";
    case mil::FLOAT8E4M3FN: return "fp8e4m3fn";
    case mil::FLOAT8E5M2: return "fp8e5m2";
    default: return "?";
  }
}

int dtype_bytes(mil::DataType dtype) {
  switch (dtype) {
    case mil::INT8:
    case mil::UINT8: return 1;
    case mil::FLOAT16:
    case mil::BFLOAT16:
    case mil::INT16:
    case mil::UINT16: return 2;
    case mil::FLOAT32:
    case mil::INT32:
    case mil::UINT32: return 4;
    case mil::FLOAT64:
    case mil::INT64:
    case mil::UINT64: return 8;
    default: return 0;
  }
}

int dtype_bits(mil::DataType dtype) {
  switch (dtype) {
    case mil::UINT1: return 1;
    case mil::UINT2: return 2;
    case mil::UINT3: return 3;
    case mil::INT4:
    case mil::UINT4: return 4;
    case mil::UINT6: return 6;
    case mil::FLOAT8E4M3FN:
    case mil::FLOAT8E5M2: return 8;
    default: return 8 * dtype_bytes(dtype);
  }
}

std::string type_text(const mil::ValueType& type) {
  if (type.has_statetype()) return "state<" + type_text(type.statetype().wrappedtype()) + ">";
  if (!type.has_tensortype()) return "?";
  const mil::TensorType& t = type.tensortype();
  const std::vector<int64_t> dims = dims_of(t);
  if (dims.empty()) return dtype_name(t.datatype());
  std::string s = std::string("tensor<") + dtype_name(t.datatype()) + ", [";
  for (size_t i = 0; i < dims.size(); ++i) {
    s += (i ? ", " : "") + (dims[i] == kUnknownDim ? std::string("?") : std::to_string(dims[i]));
  }
  return s + "]>";
}

int64_t element_count(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) return -1;
    if (d != 0 && n > INT64_MAX / d) return -1;
    n *= d;
  }
  return n;
}

bool is_identifier(const std::string& s) {
  if (s.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  for (char c : s) {
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '@') return false;
  }
  return true;
}

}  // namespace taec::coreml

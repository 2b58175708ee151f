// Internal to the Core ML exporter: the MIL op emitter (FunctionBuilder) and the lowering of one
// graph node applied to one frame (NodeLowerer), shared by the image driver (mil_builder.cc: one
// frame, names as coremltools writes them) and the video driver (mil_video.cc: every frame of a
// chunk of latents unrolled, each instance's names suffixed).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "base/half.h"
#include "export/coreml/mil_builder.h"

namespace taec::coreml::lowering {

// coremltools' should_use_weight_file: fp16 consts this large go to weight.bin, smaller ones are
// immediate values (e.g. the final conv's 3-element bias).
inline constexpr int64_t kMinBlobElems = 10;
// coremltools' const_deduplication threshold.
inline constexpr int64_t kMinDedupElems = 100;

inline std::string halves_bytes(const std::vector<uint16_t>& halves) {
  std::string bytes(halves.size() * 2, '\0');
  for (size_t i = 0; i < halves.size(); ++i) {  // little endian, independent of the host
    bytes[2 * i] = static_cast<char>(halves[i] & 0xff);
    bytes[2 * i + 1] = static_cast<char>(halves[i] >> 8);
  }
  return bytes;
}

inline std::vector<uint16_t> to_halves(const std::vector<float>& values) {
  std::vector<uint16_t> halves(values.size());
  for (size_t i = 0; i < values.size(); ++i) halves[i] = float_to_fp16(values[i]);
  return halves;
}

// "3.pool.0" -> "decoder_3_pool_0": MIL identifiers may not start with a digit or hold dots.
inline std::string identifier_for(const std::string& prefix, const std::string& path) {
  std::string s = prefix + "_" + path;
  for (char& c : s) {
    if (!is_identifier(std::string(1, c)) && !(c >= '0' && c <= '9')) c = '_';
  }
  return s;
}

class FunctionBuilder {
 public:
  FunctionBuilder(mil::Block* block, WeightStore& weights) : block_(block), weights_(weights) {}

  // A const op; returns its output name.
  std::string constant(const std::string& name, mil::Value value) {
    mil::Operation* op = begin_op("const", name, value.type());
    (*op->mutable_attributes())["val"] = std::move(value);
    return name;
  }

  std::string fp16_tensor(const std::string& name, const std::vector<int64_t>& dims,
                          const std::vector<float>& data) {
    const std::vector<uint16_t> halves = to_halves(data);
    const bool dedup = static_cast<int64_t>(halves.size()) >= kMinDedupElems;
    const std::string key = halves_bytes(halves);
    if (dedup) {
      auto it = dedup_names_.find(key);
      if (it != dedup_names_.end()) return it->second;
    }
    mil::Value value;
    *value.mutable_type() = tensor_type(mil::FLOAT16, dims);
    if (static_cast<int64_t>(halves.size()) >= kMinBlobElems) {
      auto* blob = value.mutable_blobfilevalue();
      blob->set_filename(kWeightFileName);
      blob->set_offset(weights_.add_fp16(name, halves));
    } else {
      value.mutable_immediatevalue()->mutable_tensor()->mutable_bytes()->set_values(key);
    }
    if (dedup) dedup_names_[key] = name;
    return constant(name, std::move(value));
  }

  // A compressed conv weight (see mil_builder.h): the iOS18 constexpr op that rebuilds the fp16
  // tensor `dims` from `q`, named `name`; returns its output name.
  Result<std::string> compressed_tensor(const std::string& name, const std::vector<int64_t>& dims,
                                        const QuantizedTensor& q) {
    return std::visit([&](const auto& t) { return constexpr_for(name, dims, t); }, q);
  }

  std::string fp16_scalar(const std::string& name, float v) {
    mil::Value value;
    *value.mutable_type() = scalar_type(mil::FLOAT16);
    value.mutable_immediatevalue()->mutable_tensor()->mutable_bytes()->set_values(
        halves_bytes({float_to_fp16(v)}));
    return constant(name, std::move(value));
  }

  std::string fp32_scalar(const std::string& name, float v) {
    mil::Value value;
    *value.mutable_type() = scalar_type(mil::FLOAT32);
    value.mutable_immediatevalue()->mutable_tensor()->mutable_floats()->add_values(v);
    return constant(name, std::move(value));
  }

  std::string int32_vector(const std::string& name, const std::vector<int32_t>& v) {
    mil::Value value;
    *value.mutable_type() = tensor_type(mil::INT32, {static_cast<int64_t>(v.size())});
    auto* ints = value.mutable_immediatevalue()->mutable_tensor()->mutable_ints();
    for (int32_t x : v) ints->add_values(x);
    return constant(name, std::move(value));
  }

  std::string int32_scalar(const std::string& name, int32_t v) {
    mil::Value value;
    *value.mutable_type() = scalar_type(mil::INT32);
    value.mutable_immediatevalue()->mutable_tensor()->mutable_ints()->add_values(v);
    return constant(name, std::move(value));
  }

  std::string bool_scalar(const std::string& name, bool v) {
    mil::Value value;
    *value.mutable_type() = scalar_type(mil::BOOL);
    value.mutable_immediatevalue()->mutable_tensor()->mutable_bools()->add_values(v);
    return constant(name, std::move(value));
  }

  std::string string_scalar(const std::string& name, const std::string& v) {
    mil::Value value;
    *value.mutable_type() = scalar_type(mil::STRING);
    value.mutable_immediatevalue()->mutable_tensor()->mutable_strings()->add_values(v);
    return constant(name, std::move(value));
  }

  // An op whose inputs are bound by name; returns its output name (= `name`).
  std::string op(const std::string& type, const std::string& name,
                 const std::vector<std::pair<std::string, std::string>>& args, mil::DataType dtype,
                 const std::vector<int64_t>& dims) {
    mil::Operation* o = begin_op(type, name, tensor_type(dtype, dims));
    for (const auto& [param, value_name] : args) {
      (*o->mutable_inputs())[param].add_arguments()->set_name(value_name);
    }
    return name;
  }

  // An op with one variadic input (`values` of concat) besides inputs bound by name.
  std::string op_variadic(const std::string& type, const std::string& name, const std::string& variadic_param,
                          const std::vector<std::string>& variadic,
                          const std::vector<std::pair<std::string, std::string>>& args, mil::DataType dtype,
                          const std::vector<int64_t>& dims) {
    op(type, name, args, dtype, dims);
    mil::Argument& a = (*block_->mutable_operations(block_->operations_size() - 1)->mutable_inputs())[variadic_param];
    for (const std::string& v : variadic) a.add_arguments()->set_name(v);
    return name;
  }

  // Renames the last op's output (nothing reads it yet).
  void rename_last_output(const std::string& name) {
    mil::Operation* last = block_->mutable_operations(block_->operations_size() - 1);
    last->mutable_outputs(0)->set_name(name);
  }

  // Ends the function with `x`, the last op's fp16 output [dims]: for fp32 I/O a cast named
  // PREFIX_fp32 first; then the last output is renamed `output` and made the block's output.
  void finish_output(const std::string& x, const std::string& prefix, const std::string& output,
                     const std::vector<int64_t>& dims, bool fp32_io) {
    if (fp32_io) {
      const std::string dtype = string_scalar(prefix + "_dtype_0", "fp32");
      op("cast", prefix + "_fp32", {{"dtype", dtype}, {"x", x}}, mil::FLOAT32, dims);
    }
    rename_last_output(output);
    block_->add_outputs(output);
  }

 private:
  mil::Operation* begin_op(const std::string& type, const std::string& name, const mil::ValueType& out) {
    mil::Operation* o = block_->add_operations();
    o->set_type(type);
    mil::NamedValueType* output = o->add_outputs();
    output->set_name(name);
    *output->mutable_type() = out;
    mil::Value name_value;
    *name_value.mutable_type() = scalar_type(mil::STRING);
    name_value.mutable_immediatevalue()->mutable_tensor()->mutable_strings()->add_values(name);
    (*o->mutable_attributes())["name"] = std::move(name_value);
    return o;
  }

  // constexpr_lut_to_dense: indices of the weight's shape (uint4 or uint8, packed as taec's
  // palettizer already packs them, which is MILBlob's order), one fp16 LUT per group of output
  // channels in the iOS18 shape [groups, 1, …, 1, 2^bits, 1] (rank = weight rank + 2, last dim
  // the vector size 1 of scalar palettization).
  Result<std::string> constexpr_for(const std::string& name, const std::vector<int64_t>& dims,
                                    const PalettizedTensor& t) {
    if (t.shape != dims) return Status(Code::internal, name + ": palettized tensor of another shape");
    const bool four = t.bits == 4;
    const std::string index_bytes(t.indices.begin(), t.indices.end());
    const mil::DataType index_dtype = four ? mil::UINT4 : mil::UINT8;
    const BlobDType index_blob_dtype = four ? BlobDType::uint4 : BlobDType::uint8;
    TAEC_ASSIGN_OR_RETURN(mil::Value indices,
                          input_value(name + "_indices", index_dtype, index_blob_dtype, dims, index_bytes));
    std::vector<int64_t> lut_dims(dims.size() + 2, 1);
    lut_dims[0] = t.lut_count();
    lut_dims[dims.size()] = int64_t{1} << t.bits;
    TAEC_ASSIGN_OR_RETURN(mil::Value lut, input_value(name + "_lut", mil::FLOAT16, BlobDType::float16, lut_dims,
                                                      halves_bytes(t.luts)));
    return constexpr_op("constexpr_lut_to_dense", name, {{"indices", std::move(indices)}, {"lut", std::move(lut)}},
                        dims);
  }

  // constexpr_blockwise_shift_scale: int8 data of the weight's shape, one fp16 scale per output
  // channel as a [O, 1, …, 1] tensor (block shape [1, I, KH, KW]), no offset (symmetric int8:
  // coremltools' linear quantizer computes no zero point for it either).
  Result<std::string> constexpr_for(const std::string& name, const std::vector<int64_t>& dims, const Int8Tensor& t) {
    if (t.shape != dims) return Status(Code::internal, name + ": int8 tensor of another shape");
    std::string data_bytes(t.values.size(), '\0');
    for (size_t i = 0; i < t.values.size(); ++i) data_bytes[i] = static_cast<char>(t.values[i]);
    TAEC_ASSIGN_OR_RETURN(mil::Value data, input_value(name + "_data", mil::INT8, BlobDType::int8, dims, data_bytes));
    std::vector<int64_t> scale_dims(dims.size(), 1);
    scale_dims[0] = dims[0];
    TAEC_ASSIGN_OR_RETURN(mil::Value scale, input_value(name + "_scale", mil::FLOAT16, BlobDType::float16, scale_dims,
                                                        halves_bytes(to_halves(t.scales))));
    return constexpr_op("constexpr_blockwise_shift_scale", name,
                        {{"data", std::move(data)}, {"scale", std::move(scale)}}, dims);
  }

  // A constexpr input bound to its value: a weight.bin reference from kMinBlobElems elements up
  // (coremltools' should_use_weight_file), else immediate bytes, the encoding of fp16, int8 and
  // uint8 immediates. `bytes` is the little-endian (sub-byte: packed) data.
  Result<mil::Value> input_value(const std::string& key, mil::DataType dtype, BlobDType blob_dtype,
                                 const std::vector<int64_t>& dims, const std::string& bytes) {
    mil::Value value;
    *value.mutable_type() = tensor_type(dtype, dims);
    const int64_t elems = element_count(dims);
    if (elems >= kMinBlobElems) {
      auto* blob = value.mutable_blobfilevalue();
      blob->set_filename(kWeightFileName);
      blob->set_offset(weights_.add(key, blob_dtype, bytes, elems));
    } else if (dtype_bits(dtype) >= 8) {
      value.mutable_immediatevalue()->mutable_tensor()->mutable_bytes()->set_values(bytes);
    } else {
      return Status(Code::internal, key + ": a sub-byte tensor of under 10 elements has no immediate encoding");
    }
    return value;
  }

  std::string constexpr_op(const std::string& type, const std::string& name,
                           std::vector<std::pair<std::string, mil::Value>> args, const std::vector<int64_t>& dims) {
    mil::Operation* o = begin_op(type, name, tensor_type(mil::FLOAT16, dims));
    for (auto& [param, value] : args) {
      *(*o->mutable_inputs())[param].add_arguments()->mutable_value() = std::move(value);
    }
    return name;
  }

  mil::Block* block_;
  WeightStore& weights_;
  std::map<std::string, std::string> dedup_names_;  // fp16 bytes -> const name
};

class NodeLowerer {
 public:
  // flexible: spatial dims unknown (enumerated shapes); shapes: Graph::infer_shapes of the size.
  NodeLowerer(const Model& model, FunctionBuilder& b, const WeightStore& store, bool flexible,
              std::vector<ValueShape> shapes)
      : model_(model), b_(b), store_(store), flexible_(flexible), shapes_(std::move(shapes)) {}

  // [1, C, H, W] of node `node`'s value (one frame), kUnknownDim for flexible spatial dims.
  std::vector<int64_t> nchw(int node) const;

  // Node `i` applied to one frame whose inputs are the MIL values `inputs` (the node's inputs in
  // order; concat_past: {x, past}); `suffix` keeps this instance's names unique ("" for images).
  // Returns the output value's name. tgrow gives its 1x1 conv's s*C channels: tgrow_frame slices
  // sub-frame j out of them. Weight consts are emitted once per function, before first use.
  Result<std::string> lower(int i, const std::vector<std::string>& inputs, const std::string& suffix);
  std::string tgrow_frame(int i, const std::string& grown, int j, const std::string& suffix);

 private:
  const Weight& weight(int index) const { return model_.graph.weights[index]; }
  std::string weight_name(const Node& n, const char* what) const;
  Result<std::string> conv_weight(const Node& n);
  std::string fp16_weight(const Node& n, int index, const char* what);
  Result<std::string> lower_conv(const Node& n, const std::string& name, const std::string& x, int i);
  Result<std::string> lower_group_norm(const Node& n, const std::string& name, const std::string& x, int i);

  const Model& model_;
  FunctionBuilder& b_;
  const WeightStore& store_;
  bool flexible_;
  std::vector<ValueShape> shapes_;
  std::map<int, std::string> weight_values_;  // graph weight index -> its MIL value
};

}  // namespace taec::coreml::lowering

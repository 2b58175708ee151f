#include "export/coreml/mil_builder.h"

#include <variant>

#include "base/half.h"

namespace taec::coreml {
namespace {

// coremltools' should_use_weight_file: fp16 consts this large go to weight.bin, smaller ones are
// immediate values (e.g. the final conv's 3-element bias).
constexpr int64_t kMinBlobElems = 10;
// coremltools' const_deduplication threshold.
constexpr int64_t kMinDedupElems = 100;

std::string halves_bytes(const std::vector<uint16_t>& halves) {
  std::string bytes(halves.size() * 2, '\0');
  for (size_t i = 0; i < halves.size(); ++i) {  // little endian, independent of the host
    bytes[2 * i] = static_cast<char>(halves[i] & 0xff);
    bytes[2 * i + 1] = static_cast<char>(halves[i] >> 8);
  }
  return bytes;
}

std::vector<uint16_t> to_halves(const std::vector<float>& values) {
  std::vector<uint16_t> halves(values.size());
  for (size_t i = 0; i < values.size(); ++i) halves[i] = float_to_fp16(values[i]);
  return halves;
}

// "3.pool.0" -> "decoder_3_pool_0": MIL identifiers may not start with a digit or hold dots.
std::string identifier_for(const std::string& prefix, const std::string& path) {
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

  // Renames the last op's output (nothing reads it yet).
  void rename_last_output(const std::string& name) {
    mil::Operation* last = block_->mutable_operations(block_->operations_size() - 1);
    last->mutable_outputs(0)->set_name(name);
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

struct Lowerer {
  const Model& model;
  FunctionBuilder& b;
  const WeightStore& store;
  bool flexible;
  std::vector<ValueShape> shapes;
  std::vector<std::string> values;  // MIL value name of each graph node

  std::vector<int64_t> nchw(int node) const {
    const ValueShape& s = shapes[node];
    return {1, s.channels, flexible ? kUnknownDim : s.height, flexible ? kUnknownDim : s.width};
  }

  const Weight& weight(int index) const { return model.graph.weights[index]; }
  // Named after the canonical checkpoint path ("3.conv.0.weight" -> "decoder_3_conv_0_weight_to_fp16").
  std::string weight_name(const Node& n, const char* what) const {
    return identifier_for(role_name(model.role), n.name + "." + what) + "_to_fp16";
  }

  Status lower(int i) {
    const Node& n = model.graph.nodes[i];
    const std::string name = identifier_for(role_name(model.role), n.name);
    const std::string x = n.inputs.empty() ? "" : values[n.inputs[0]];
    switch (n.op) {
      case OpKind::input: return Status(Code::internal, "graph input after node 0");
      case OpKind::relu: values[i] = b.op("relu", name, {{"x", x}}, mil::FLOAT16, nchw(i)); break;
      case OpKind::add:
        values[i] = b.op("add", name, {{"x", x}, {"y", values[n.inputs[1]]}}, mil::FLOAT16, nchw(i));
        break;
      case OpKind::tanh_clamp: {
        // x / limit was rewritten by coremltools into a multiply by the fp16-rounded reciprocal.
        const std::string inv = b.fp16_scalar(name + "_y_0", 1.0f / n.limit);
        const std::string scaled = b.op("mul", name + "_scaled", {{"x", x}, {"y", inv}}, mil::FLOAT16, nchw(i));
        const std::string t = b.op("tanh", name + "_tanh", {{"x", scaled}}, mil::FLOAT16, nchw(i));
        const std::string limit = b.fp16_scalar(name + "_limit_0", n.limit);
        values[i] = b.op("mul", name, {{"x", t}, {"y", limit}}, mil::FLOAT16, nchw(i));
        break;
      }
      case OpKind::upsample_nearest2x: {
        const std::string sh = b.fp32_scalar(name + "_scale_factor_height_0", 2.0f);
        const std::string sw = b.fp32_scalar(name + "_scale_factor_width_0", 2.0f);
        values[i] = b.op("upsample_nearest_neighbor", name,
                         {{"scale_factor_height", sh}, {"scale_factor_width", sw}, {"x", x}}, mil::FLOAT16,
                         nchw(i));
        break;
      }
      case OpKind::conv2d: {
        TAEC_ASSIGN_OR_RETURN(values[i], lower_conv(n, name, x, i));
        break;
      }
      case OpKind::group_norm: {
        TAEC_ASSIGN_OR_RETURN(values[i], lower_group_norm(n, name, x, i));
        break;
      }
    }
    return ok_status();
  }

  Result<std::string> lower_conv(const Node& n, const std::string& name, const std::string& x, int i) {
    const bool same = n.pad > 0;
    const std::string pad_type = b.string_scalar(name + "_pad_type_0", same ? "custom" : "valid");
    const std::string strides = b.int32_vector(name + "_strides_0", {n.stride, n.stride});
    const std::string pad = b.int32_vector(name + "_pad_0", {n.pad, n.pad, n.pad, n.pad});
    const std::string dilations = b.int32_vector(name + "_dilations_0", {1, 1});
    const std::string groups = b.int32_scalar(name + "_groups_0", 1);
    const Weight& w = weight(n.weight);
    std::string wname;
    if (const QuantizedTensor* q = store.compressed(n.weight)) {
      // coremltools names the replacement after the const it replaces.
      const char* suffix = std::holds_alternative<PalettizedTensor>(*q) ? "_palettized" : "_quantized";
      TAEC_ASSIGN_OR_RETURN(wname, b.compressed_tensor(weight_name(n, "weight") + suffix, w.shape, *q));
    } else {
      wname = b.fp16_tensor(weight_name(n, "weight"), w.shape, w.data);
    }
    std::vector<std::pair<std::string, std::string>> args = {
        {"dilations", dilations}, {"groups", groups}, {"pad", pad}, {"pad_type", pad_type},
        {"strides", strides},     {"weight", wname},  {"x", x}};
    if (n.bias >= 0) {
      const Weight& bias = weight(n.bias);
      args.push_back({"bias", b.fp16_tensor(weight_name(n, "bias"), bias.shape, bias.data)});
    }
    return b.op("conv", name, args, mil::FLOAT16, nchw(i));
  }

  // torch GroupNorm as coremltools lowers it, then its affine fused into batch_norm with
  // mean 0 / variance 1 by fuse_elementwise_to_batchnorm (which adds a harmless 1/sqrt(1+eps)).
  Result<std::string> lower_group_norm(const Node& n, const std::string& name, const std::string& x, int i) {
    const std::vector<int64_t> full = nchw(i);
    const int per_group = n.channels / n.groups;
    auto i32 = [](const std::vector<int64_t>& v) { return std::vector<int32_t>(v.begin(), v.end()); };
    // Fixed shapes: the 5-d grouping coremltools emits. Flexible spatial dims: group as
    // [1, groups, per_group, -1] and reshape back to the runtime shape of the input (a `shape` op),
    // since a const shape cannot name unknown dims.
    std::vector<int64_t> grouped, stats, axes_list;
    std::string input_shape;
    if (flexible) {
      input_shape = b.op("shape", name + "_input_shape", {{"x", x}}, mil::INT32, {4});
      grouped = {1, n.groups, per_group, kUnknownDim};
      stats = {1, n.groups, 1, 1};
      axes_list = {2, 3};
    } else {
      grouped = {1, n.groups, per_group, full[2], full[3]};
      stats = {1, n.groups, 1, 1, 1};
      axes_list = {2, 3, 4};
    }
    std::vector<int64_t> shape_list = grouped;
    if (flexible) shape_list.back() = -1;
    const std::string shape = b.int32_vector(name + "_shape_0", i32(shape_list));
    const std::string xg = b.op("reshape", name + "_grouped", {{"shape", shape}, {"x", x}}, mil::FLOAT16, grouped);
    const std::string axes = b.int32_vector(name + "_axes_0", i32(axes_list));
    const std::string keep = b.bool_scalar(name + "_keep_dims_0", true);
    const std::string mean =
        b.op("reduce_mean", name + "_mean", {{"axes", axes}, {"keep_dims", keep}, {"x", xg}}, mil::FLOAT16, stats);
    const std::string d = b.op("sub", name + "_centered", {{"x", xg}, {"y", mean}}, mil::FLOAT16, grouped);
    const std::string sq = b.op("square", name + "_squared", {{"x", d}}, mil::FLOAT16, grouped);
    const std::string axes1 = b.int32_vector(name + "_axes_1", i32(axes_list));
    const std::string keep1 = b.bool_scalar(name + "_keep_dims_1", true);
    const std::string var =
        b.op("reduce_mean", name + "_var", {{"axes", axes1}, {"keep_dims", keep1}, {"x", sq}}, mil::FLOAT16, stats);
    const std::string eps = b.fp16_scalar(name + "_eps_0", n.eps);
    const std::string ve = b.op("add", name + "_var_eps", {{"x", var}, {"y", eps}}, mil::FLOAT16, stats);
    const std::string sd = b.op("sqrt", name + "_std", {{"x", ve}}, mil::FLOAT16, stats);
    const std::string normed = b.op("real_div", name + "_normed", {{"x", d}, {"y", sd}}, mil::FLOAT16, grouped);
    const std::string shape1 = flexible ? input_shape : b.int32_vector(name + "_shape_1", i32(full));
    const std::string back = b.op("reshape", name + "_ungrouped", {{"shape", shape1}, {"x", normed}}, mil::FLOAT16, full);
    const std::vector<int64_t> c = {n.channels};
    const std::string bn_mean = b.fp16_tensor(name + "_bn_mean_to_fp16", c, std::vector<float>(n.channels, 0.0f));
    const std::string bn_var = b.fp16_tensor(name + "_bn_variance_to_fp16", c, std::vector<float>(n.channels, 1.0f));
    const std::string gamma = b.fp16_tensor(weight_name(n, "weight"), c, weight(n.weight).data);
    const std::string beta = b.fp16_tensor(weight_name(n, "bias"), c, weight(n.bias).data);
    const std::string bn_eps = b.fp16_scalar(name + "_bn_epsilon_0", n.eps);
    return b.op("batch_norm", name,
                {{"beta", beta}, {"epsilon", bn_eps}, {"gamma", gamma}, {"mean", bn_mean},
                 {"variance", bn_var}, {"x", back}},
                mil::FLOAT16, full);
  }
};

}  // namespace

uint64_t WeightStore::add_fp16(const std::string& const_name, const std::vector<uint16_t>& halves) {
  return add(const_name, BlobDType::float16, halves_bytes(halves), static_cast<int64_t>(halves.size()));
}

uint64_t WeightStore::add(const std::string& const_name, BlobDType dtype, const std::string& bytes, int64_t elems) {
  std::string key = std::to_string(static_cast<uint32_t>(dtype)) + '\0' + bytes;
  if (elems < kMinDedupElems) key = const_name + '\0' + key;
  auto it = offset_by_key_.find(key);
  if (it != offset_by_key_.end()) return it->second;
  const uint64_t padding_bits = bytes.size() * 8 - static_cast<uint64_t>(elems) * blob_dtype_bits(dtype);
  const uint64_t offset = writer_.append(dtype, bytes.data(), bytes.size(), padding_bits);
  offset_by_key_.emplace(std::move(key), offset);
  return offset;
}

Result<LoweredFunction> lower_decoder(const Model& model, int image_height, int image_width,
                                      const LoweringOptions& options, WeightStore& weights) {
  if (model.role != Role::decoder) {
    return Status(Code::invalid_argument, model.source_path + ": is an " + role_name(model.role) +
                                              "; only decoders can be exported to Core ML");
  }
  const bool flexible = image_height == 0 && image_width == 0;
  const int f = model.spatial_factor;
  if (!flexible && (image_height <= 0 || image_width <= 0 || image_height % f || image_width % f)) {
    return Status(Code::invalid_argument, "image size " + std::to_string(image_height) + "x" +
                                              std::to_string(image_width) + " is not a positive multiple of " +
                                              std::to_string(f));
  }
  const Graph& graph = model.graph;
  if (graph.nodes.empty() || graph.nodes[0].op != OpKind::input) {
    return Status(Code::internal, "graph does not start with its input");
  }
  LoweredFunction out;
  out.function.set_opset(kOpset);
  mil::Block& block = (*out.function.mutable_block_specializations())[kOpset];
  FunctionBuilder b(&block, weights);
  Lowerer lw{model, b, weights, flexible,
             graph.infer_shapes(flexible ? f : image_height / f, flexible ? f : image_width / f),
             std::vector<std::string>(graph.nodes.size())};

  const mil::DataType io_dtype = options.fp32_io ? mil::FLOAT32 : mil::FLOAT16;
  std::vector<int64_t> in = lw.nchw(0);
  if (options.nhwc) in = {in[0], in[2], in[3], in[1]};
  out.input_dims = in;
  mil::NamedValueType* input = out.function.add_inputs();
  input->set_name(kInputName);
  *input->mutable_type() = tensor_type(io_dtype, in);

  std::string x = kInputName;
  if (options.fp32_io) {
    const std::string dtype = b.string_scalar("latent_dtype_0", "fp16");
    x = b.op("cast", "latent_to_fp16", {{"dtype", dtype}, {"x", x}}, mil::FLOAT16, in);
  }
  if (options.nhwc) {
    const std::string perm = b.int32_vector("latent_perm_0", {0, 3, 1, 2});
    x = b.op("transpose", "latent_nchw", {{"perm", perm}, {"x", x}}, mil::FLOAT16, lw.nchw(0));
  }
  lw.values[0] = x;
  for (size_t i = 1; i < graph.nodes.size(); ++i) TAEC_RETURN_IF_ERROR(lw.lower(static_cast<int>(i)));

  const int last = graph.output();
  std::vector<int64_t> dims = lw.nchw(last);
  x = lw.values[last];
  if (options.nhwc) {
    const std::string perm = b.int32_vector("image_perm_0", {0, 2, 3, 1});
    dims = {dims[0], dims[2], dims[3], dims[1]};
    x = b.op("transpose", "image_nhwc", {{"perm", perm}, {"x", x}}, mil::FLOAT16, dims);
  }
  if (options.fp32_io) {
    const std::string dtype = b.string_scalar("image_dtype_0", "fp32");
    x = b.op("cast", "image_fp32", {{"dtype", dtype}, {"x", x}}, mil::FLOAT32, dims);
  }
  b.rename_last_output(kOutputName);
  block.add_outputs(kOutputName);
  out.output_dims = dims;
  return out;
}

}  // namespace taec::coreml

#include "export/coreml/mil_lowering.h"

namespace taec::coreml::lowering {

std::vector<int64_t> NodeLowerer::nchw(int node) const {
  const ValueShape& s = shapes_[node];
  return {1, s.channels, flexible_ ? kUnknownDim : s.height, flexible_ ? kUnknownDim : s.width};
}

// Named after the canonical checkpoint path ("3.conv.0.weight" -> "decoder_3_conv_0_weight_to_fp16").
std::string NodeLowerer::weight_name(const Node& n, const char* what) const {
  return identifier_for(role_name(model_.role), n.name + "." + what) + "_to_fp16";
}

std::string NodeLowerer::fp16_weight(const Node& n, int index, const char* what) {
  auto it = weight_values_.find(index);
  if (it != weight_values_.end()) return it->second;
  const Weight& w = weight(index);
  return weight_values_[index] = b_.fp16_tensor(weight_name(n, what), w.shape, w.data);
}

Result<std::string> NodeLowerer::conv_weight(const Node& n) {
  auto it = weight_values_.find(n.weight);
  if (it != weight_values_.end()) return it->second;
  const Weight& w = weight(n.weight);
  std::string wname;
  if (const QuantizedTensor* q = store_.compressed(n.weight)) {
    // coremltools names the replacement after the const it replaces.
    const char* suffix = std::holds_alternative<PalettizedTensor>(*q) ? "_palettized" : "_quantized";
    TAEC_ASSIGN_OR_RETURN(wname, b_.compressed_tensor(weight_name(n, "weight") + suffix, w.shape, *q));
  } else {
    wname = b_.fp16_tensor(weight_name(n, "weight"), w.shape, w.data);
  }
  return weight_values_[n.weight] = wname;
}

Result<std::string> NodeLowerer::lower(int i, const std::vector<std::string>& inputs, const std::string& suffix) {
  const Node& n = model_.graph.nodes[i];
  const std::string name = identifier_for(role_name(model_.role), n.name) + suffix;
  const std::string x = inputs.empty() ? "" : inputs[0];
  switch (n.op) {
    case OpKind::input: return Status(Code::internal, "graph input after node 0");
    case OpKind::relu: return b_.op("relu", name, {{"x", x}}, mil::FLOAT16, nchw(i));
    case OpKind::add: return b_.op("add", name, {{"x", x}, {"y", inputs[1]}}, mil::FLOAT16, nchw(i));
    case OpKind::tanh_clamp: {
      // x / limit was rewritten by coremltools into a multiply by the fp16-rounded reciprocal.
      const std::string inv = b_.fp16_scalar(name + "_y_0", 1.0f / n.limit);
      const std::string scaled = b_.op("mul", name + "_scaled", {{"x", x}, {"y", inv}}, mil::FLOAT16, nchw(i));
      const std::string t = b_.op("tanh", name + "_tanh", {{"x", scaled}}, mil::FLOAT16, nchw(i));
      const std::string limit = b_.fp16_scalar(name + "_limit_0", n.limit);
      return b_.op("mul", name, {{"x", t}, {"y", limit}}, mil::FLOAT16, nchw(i));
    }
    case OpKind::upsample_nearest2x: {
      const std::string sh = b_.fp32_scalar(name + "_scale_factor_height_0", 2.0f);
      const std::string sw = b_.fp32_scalar(name + "_scale_factor_width_0", 2.0f);
      return b_.op("upsample_nearest_neighbor", name, {{"scale_factor_height", sh}, {"scale_factor_width", sw}, {"x", x}},
                   mil::FLOAT16, nchw(i));
    }
    case OpKind::conv2d: return lower_conv(n, name, x, i);
    case OpKind::group_norm: return lower_group_norm(n, name, x, i);
    case OpKind::concat_past: {
      // [x, past] on channels, x first (taehv.py's MemBlock); the caller supplies past.
      const std::string axis = b_.int32_scalar(name + "_axis_0", 1);
      const std::string interleave = b_.bool_scalar(name + "_interleave_0", false);
      return b_.op_variadic("concat", name, "values", {x, inputs[1]}, {{"axis", axis}, {"interleave", interleave}},
                            mil::FLOAT16, nchw(i));
    }
    case OpKind::tgrow: {
      // One 1x1 conv to s*C channels; channel group j is sub-frame j (tgrow_frame).
      const std::string pad_type = b_.string_scalar(name + "_pad_type_0", "valid");
      const std::string strides = b_.int32_vector(name + "_strides_0", {1, 1});
      const std::string pad = b_.int32_vector(name + "_pad_0", {0, 0, 0, 0});
      const std::string dilations = b_.int32_vector(name + "_dilations_0", {1, 1});
      const std::string groups = b_.int32_scalar(name + "_groups_0", 1);
      TAEC_ASSIGN_OR_RETURN(const std::string w, conv_weight(n));
      std::vector<int64_t> dims = nchw(i);
      dims[1] *= n.time_stride;
      return b_.op("conv", name,
                   {{"dilations", dilations}, {"groups", groups}, {"pad", pad}, {"pad_type", pad_type},
                    {"strides", strides}, {"weight", w}, {"x", x}},
                   mil::FLOAT16, dims);
    }
    case OpKind::pixel_shuffle: {
      const std::string factor = b_.int32_scalar(name + "_upscale_factor_0", n.factor);
      return b_.op("pixel_shuffle", name, {{"upscale_factor", factor}, {"x", x}}, mil::FLOAT16, nchw(i));
    }
    case OpKind::tpool:
    case OpKind::pixel_unshuffle: break;
  }
  return Status(Code::unsupported, std::string("Core ML export: ") + op_kind_name(n.op) + " (" + n.name +
                                       ") is an encoder op; only decoders export");
}

std::string NodeLowerer::tgrow_frame(int i, const std::string& grown, int j, const std::string& suffix) {
  const Node& n = model_.graph.nodes[i];
  if (n.time_stride == 1) return grown;
  const std::vector<int64_t> d = nchw(i);
  const std::string name = identifier_for(role_name(model_.role), n.name) + "_frame" + std::to_string(j) + suffix;
  const auto c = static_cast<int32_t>(d[1]), h = static_cast<int32_t>(d[2]), w = static_cast<int32_t>(d[3]);
  const std::string begin = b_.int32_vector(name + "_begin_0", {0, j * c, 0, 0});
  const std::string end = b_.int32_vector(name + "_end_0", {1, (j + 1) * c, h, w});
  return b_.op("slice_by_index", name, {{"begin", begin}, {"end", end}, {"x", grown}}, mil::FLOAT16, d);
}

Result<std::string> NodeLowerer::lower_conv(const Node& n, const std::string& name, const std::string& x, int i) {
  const bool same = n.pad > 0;
  const std::string pad_type = b_.string_scalar(name + "_pad_type_0", same ? "custom" : "valid");
  const std::string strides = b_.int32_vector(name + "_strides_0", {n.stride, n.stride});
  const std::string pad = b_.int32_vector(name + "_pad_0", {n.pad, n.pad, n.pad, n.pad});
  const std::string dilations = b_.int32_vector(name + "_dilations_0", {1, 1});
  const std::string groups = b_.int32_scalar(name + "_groups_0", n.groups > 1 ? n.groups : 1);
  TAEC_ASSIGN_OR_RETURN(const std::string wname, conv_weight(n));
  std::vector<std::pair<std::string, std::string>> args = {
      {"dilations", dilations}, {"groups", groups}, {"pad", pad}, {"pad_type", pad_type},
      {"strides", strides},     {"weight", wname},  {"x", x}};
  if (n.bias >= 0) args.push_back({"bias", fp16_weight(n, n.bias, "bias")});
  return b_.op("conv", name, args, mil::FLOAT16, nchw(i));
}

// torch GroupNorm as coremltools lowers it, then its affine fused into batch_norm with
// mean 0 / variance 1 by fuse_elementwise_to_batchnorm (which adds a harmless 1/sqrt(1+eps)).
Result<std::string> NodeLowerer::lower_group_norm(const Node& n, const std::string& name, const std::string& x, int i) {
  const std::vector<int64_t> full = nchw(i);
  const int per_group = n.channels / n.groups;
  auto i32 = [](const std::vector<int64_t>& v) { return std::vector<int32_t>(v.begin(), v.end()); };
  // Fixed shapes: the 5-d grouping coremltools emits. Flexible spatial dims: group as
  // [1, groups, per_group, -1] and reshape back to the runtime shape of the input (a `shape` op),
  // since a const shape cannot name unknown dims.
  std::vector<int64_t> grouped, stats, axes_list;
  std::string input_shape;
  if (flexible_) {
    input_shape = b_.op("shape", name + "_input_shape", {{"x", x}}, mil::INT32, {4});
    grouped = {1, n.groups, per_group, kUnknownDim};
    stats = {1, n.groups, 1, 1};
    axes_list = {2, 3};
  } else {
    grouped = {1, n.groups, per_group, full[2], full[3]};
    stats = {1, n.groups, 1, 1, 1};
    axes_list = {2, 3, 4};
  }
  std::vector<int64_t> shape_list = grouped;
  if (flexible_) shape_list.back() = -1;
  const std::string shape = b_.int32_vector(name + "_shape_0", i32(shape_list));
  const std::string xg = b_.op("reshape", name + "_grouped", {{"shape", shape}, {"x", x}}, mil::FLOAT16, grouped);
  const std::string axes = b_.int32_vector(name + "_axes_0", i32(axes_list));
  const std::string keep = b_.bool_scalar(name + "_keep_dims_0", true);
  const std::string mean =
      b_.op("reduce_mean", name + "_mean", {{"axes", axes}, {"keep_dims", keep}, {"x", xg}}, mil::FLOAT16, stats);
  const std::string d = b_.op("sub", name + "_centered", {{"x", xg}, {"y", mean}}, mil::FLOAT16, grouped);
  const std::string sq = b_.op("square", name + "_squared", {{"x", d}}, mil::FLOAT16, grouped);
  const std::string axes1 = b_.int32_vector(name + "_axes_1", i32(axes_list));
  const std::string keep1 = b_.bool_scalar(name + "_keep_dims_1", true);
  const std::string var =
      b_.op("reduce_mean", name + "_var", {{"axes", axes1}, {"keep_dims", keep1}, {"x", sq}}, mil::FLOAT16, stats);
  const std::string eps = b_.fp16_scalar(name + "_eps_0", n.eps);
  const std::string ve = b_.op("add", name + "_var_eps", {{"x", var}, {"y", eps}}, mil::FLOAT16, stats);
  const std::string sd = b_.op("sqrt", name + "_std", {{"x", ve}}, mil::FLOAT16, stats);
  const std::string normed = b_.op("real_div", name + "_normed", {{"x", d}, {"y", sd}}, mil::FLOAT16, grouped);
  const std::string shape1 = flexible_ ? input_shape : b_.int32_vector(name + "_shape_1", i32(full));
  const std::string back = b_.op("reshape", name + "_ungrouped", {{"shape", shape1}, {"x", normed}}, mil::FLOAT16, full);
  const std::vector<int64_t> c = {n.channels};
  const std::string bn_mean = b_.fp16_tensor(name + "_bn_mean_to_fp16", c, std::vector<float>(n.channels, 0.0f));
  const std::string bn_var = b_.fp16_tensor(name + "_bn_variance_to_fp16", c, std::vector<float>(n.channels, 1.0f));
  const std::string gamma = fp16_weight(n, n.weight, "weight");
  const std::string beta = fp16_weight(n, n.bias, "bias");
  const std::string bn_eps = b_.fp16_scalar(name + "_bn_epsilon_0", n.eps);
  return b_.op("batch_norm", name,
               {{"beta", beta}, {"epsilon", bn_eps}, {"gamma", gamma}, {"mean", bn_mean}, {"variance", bn_var}, {"x", back}},
               mil::FLOAT16, full);
}

}  // namespace taec::coreml::lowering

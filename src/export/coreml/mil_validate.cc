#include "export/coreml/mil_validate.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace taec::coreml {
namespace {

using Dims = std::vector<int64_t>;

struct OpSignature {
  std::vector<std::string> required;
  std::vector<std::string> optional;
  std::vector<std::string> const_params;  // must be bound to const op outputs
};

const std::map<std::string, OpSignature>& signatures() {
  static const std::map<std::string, OpSignature> table = {
      {"const", {{}, {}, {}}},
      {"transpose", {{"x", "perm"}, {}, {"perm"}}},
      {"cast", {{"x", "dtype"}, {}, {"dtype"}}},
      {"mul", {{"x", "y"}, {}, {}}},
      {"add", {{"x", "y"}, {}, {}}},
      {"sub", {{"x", "y"}, {}, {}}},
      {"real_div", {{"x", "y"}, {}, {}}},
      {"tanh", {{"x"}, {}, {}}},
      {"relu", {{"x"}, {}, {}}},
      {"sqrt", {{"x"}, {}, {}}},
      {"square", {{"x"}, {}, {}}},
      {"conv",
       {{"x", "weight"},
        {"bias", "strides", "pad_type", "pad", "dilations", "groups"},
        {"weight", "bias", "strides", "pad_type", "pad", "dilations", "groups"}}},
      {"upsample_nearest_neighbor",
       {{"x"}, {"scale_factor_height", "scale_factor_width"}, {"scale_factor_height", "scale_factor_width"}}},
      {"reshape", {{"x", "shape"}, {}, {}}},  // shape: a const or a `shape` op output (checked below)
      {"shape", {{"x"}, {}, {}}},
      {"reduce_mean", {{"x"}, {"axes", "keep_dims"}, {"axes", "keep_dims"}}},
      {"batch_norm",
       {{"x", "mean", "variance"}, {"gamma", "beta", "epsilon"}, {"mean", "variance", "gamma", "beta", "epsilon"}}},
      // Inputs bound to values (is_constexpr_op), so no const_params.
      {"constexpr_lut_to_dense", {{"indices", "lut"}, {"vector_axis"}, {}}},
      {"constexpr_blockwise_shift_scale", {{"data", "scale"}, {"offset"}, {}}},
      // Video decoders: MemBlock memory, TGrow sub-frames, patch > 1, state outputs.
      {"concat", {{"values", "axis"}, {"interleave"}, {"axis", "interleave"}}},  // values: variadic
      {"slice_by_index",
       {{"x", "begin", "end"},
        {"stride", "begin_mask", "end_mask", "squeeze_mask"},
        {"begin", "end", "stride", "begin_mask", "end_mask", "squeeze_mask"}}},
      {"pixel_shuffle", {{"x", "upscale_factor"}, {}, {"upscale_factor"}}},
      {"identity", {{"x"}, {}, {}}},
      // iOS18 states (checked in validate_function): `input` / `state` bound to a state input.
      {"read_state", {{"input"}, {}, {}}},
      {"coreml_update_state", {{"state", "value"}, {}, {}}},
  };
  return table;
}

Status bad(const std::string& message) { return Status(Code::format, message); }

bool is_float(mil::DataType t) { return t == mil::FLOAT16 || t == mil::FLOAT32; }

bool is_variadic(const std::string& op_type, const std::string& param) { return op_type == "concat" && param == "values"; }
bool is_state_op(const std::string& op_type) { return op_type == "read_state" || op_type == "coreml_update_state"; }

std::string dims_text(const Dims& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + (d[i] < 0 ? std::string("?") : std::to_string(d[i]));
  return s + "]";
}

class Inference {
 public:
  Inference(const mil::Operation& op, const std::map<std::string, mil::ValueType>& types,
            const std::map<std::string, ConstData>& consts, const ShapeSources& shape_sources)
      : op_(op), types_(types), consts_(consts), shape_sources_(shape_sources) {}

  bool has(const std::string& param) const { return op_.inputs().count(param) > 0; }
  std::string arg(const std::string& param) const { return op_.inputs().at(param).arguments(0).name(); }
  const mil::TensorType& type(const std::string& param) const { return types_.at(arg(param)).tensortype(); }
  Dims dims(const std::string& param) const { return dims_of(type(param)); }
  mil::DataType dtype(const std::string& param) const { return type(param).datatype(); }
  const ConstData* konst(const std::string& param) const {
    if (!has(param)) return nullptr;
    auto it = consts_.find(arg(param));
    return it == consts_.end() ? nullptr : &it->second;
  }

  // Integer list of an int32 const param (scalar or vector); `fallback` when absent.
  Result<std::vector<int64_t>> ints(const std::string& param, std::vector<int64_t> fallback, size_t size) const {
    const ConstData* c = konst(param);
    if (!c) return fallback;
    if (c->dtype != mil::INT32 || (size != 0 && c->numbers.size() != size) || c->dims.size() > 1) {
      return bad(param + " must be int32" + (size ? "[" + std::to_string(size) + "]" : std::string()));
    }
    return std::vector<int64_t>(c->numbers.begin(), c->numbers.end());
  }

  Result<mil::ValueType> run() const {
    const std::string& t = op_.type();
    if (t == "const") return bad("const handled elsewhere");
    if (t == "concat") return concat();
    const mil::DataType xt = dtype("x");
    const Dims x = dims("x");
    if (t == "tanh" || t == "relu" || t == "sqrt" || t == "square") {
      if (!is_float(xt)) return bad("x must be fp16 or fp32");
      return tensor_type(xt, x);
    }
    if (t == "add" || t == "sub" || t == "mul" || t == "real_div") return broadcast(xt, x);
    if (t == "transpose") {
      TAEC_ASSIGN_OR_RETURN(std::vector<int64_t> perm, ints("perm", {}, x.size()));
      if (perm.size() != x.size()) return bad("perm must have one entry per dimension");
      Dims out(x.size());
      std::vector<bool> seen(x.size(), false);
      for (size_t i = 0; i < perm.size(); ++i) {
        if (perm[i] < 0 || perm[i] >= static_cast<int64_t>(x.size()) || seen[perm[i]]) {
          return bad("perm is not a permutation of the rank");
        }
        seen[perm[i]] = true;
        out[i] = x[perm[i]];
      }
      return tensor_type(xt, out);
    }
    if (t == "cast") {
      const ConstData* c = konst("dtype");
      if (c->dtype != mil::STRING || c->strings.size() != 1) return bad("dtype must be a string scalar");
      const std::string& s = c->strings[0];
      const mil::DataType to = s == "fp16" ? mil::FLOAT16 : s == "fp32" ? mil::FLOAT32 : s == "int32" ? mil::INT32 : mil::UNUSED_TYPE;
      if (to == mil::UNUSED_TYPE) return bad("cast to unsupported dtype \"" + s + "\"");
      return tensor_type(to, x);
    }
    if (t == "conv") return conv(xt, x);
    if (t == "upsample_nearest_neighbor") {
      if (x.size() < 3 || !is_float(xt)) return bad("x must be a float tensor of rank >= 3");
      Dims out = x;
      const char* params[2] = {"scale_factor_height", "scale_factor_width"};
      for (int k = 0; k < 2; ++k) {
        const ConstData* c = konst(params[k]);
        double s = 1;
        if (c) {
          if ((c->dtype != mil::FLOAT32 && c->dtype != mil::INT32) || !c->dims.empty()) {
            return bad(std::string(params[k]) + " must be an fp32 or int32 scalar");
          }
          s = c->numbers[0];
        }
        if (!(s >= 1 && s <= 64)) return bad(std::string(params[k]) + " out of range");
        int64_t& d = out[out.size() - 2 + k];
        if (d >= 0) d = static_cast<int64_t>(std::floor(static_cast<double>(d) * s));
      }
      return tensor_type(xt, out);
    }
    if (t == "shape") return tensor_type(mil::INT32, {static_cast<int64_t>(x.size())});
    if (t == "identity") return tensor_type(xt, x);
    if (t == "slice_by_index") return slice_by_index(xt, x);
    if (t == "pixel_shuffle") {
      const ConstData* f = konst("upscale_factor");
      if (f->dtype != mil::INT32 || !f->dims.empty() || f->numbers.size() != 1) return bad("upscale_factor must be an int32 scalar");
      const auto k = static_cast<int64_t>(f->numbers[0]);
      if (x.size() != 4 || !is_float(xt)) return bad("x must be a rank-4 float tensor");
      if (k < 1 || k > 64 || x[1] < 0 || x[1] % (k * k)) {
        return bad("upscale_factor " + std::to_string(k) + " does not divide the " + std::to_string(x[1]) + " channels into squares");
      }
      return tensor_type(xt, {x[0], x[1] / (k * k), x[2] < 0 ? x[2] : x[2] * k, x[3] < 0 ? x[3] : x[3] * k});
    }
    if (t == "reshape") return reshape(xt, x);
    if (t == "reduce_mean") {
      std::vector<int64_t> all(x.size());
      for (size_t i = 0; i < x.size(); ++i) all[i] = static_cast<int64_t>(i);
      TAEC_ASSIGN_OR_RETURN(std::vector<int64_t> axes, ints("axes", all, 0));
      bool keep = false;
      if (const ConstData* k = konst("keep_dims")) {
        if (k->dtype != mil::BOOL || k->bools.size() != 1) return bad("keep_dims must be a bool scalar");
        keep = k->bools[0];
      }
      std::vector<bool> reduce(x.size(), false);
      for (int64_t a : axes) {
        const int64_t r = static_cast<int64_t>(x.size());
        if (a < -r || a >= r) return bad("axis " + std::to_string(a) + " out of range");
        reduce[(a + r) % r] = true;
      }
      Dims out;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!reduce[i]) out.push_back(x[i]);
        else if (keep) out.push_back(1);
      }
      return tensor_type(xt, out);
    }
    if (t == "batch_norm") {
      if (x.size() < 3 || x.size() > 5 || !is_float(xt)) return bad("x must be a float tensor of rank 3..5");
      for (const char* p : {"mean", "variance", "gamma", "beta"}) {
        if (!has(p)) continue;
        const Dims d = dims(p);
        if (d.size() != 1 || (x[1] >= 0 && d[0] != x[1]) || !is_float(dtype(p))) {
          return bad(std::string(p) + " must be a float vector of the channel count");
        }
      }
      if (has("epsilon") && (!dims("epsilon").empty() || !is_float(dtype("epsilon")))) {
        return bad("epsilon must be a float scalar");
      }
      return tensor_type(xt, x);
    }
    return bad("unknown op type");
  }

 private:
  // concat(values = (v0, v1, ...), axis, interleave = false): same dtype and rank, equal dims but
  // on the axis, which adds up.
  Result<mil::ValueType> concat() const {
    const mil::Argument& values = op_.inputs().at("values");
    TAEC_ASSIGN_OR_RETURN(std::vector<int64_t> axis_list, ints("axis", {}, 1));
    if (axis_list.size() != 1 || !konst("axis")->dims.empty()) return bad("axis must be an int32 scalar");
    if (const ConstData* il = konst("interleave")) {
      if (il->dtype != mil::BOOL || il->bools.size() != 1) return bad("interleave must be a bool scalar");
      if (il->bools[0]) return bad("interleaved concat is not supported by taec's reader");
    }
    const mil::TensorType& first = types_.at(values.arguments(0).name()).tensortype();
    Dims out = dims_of(first);
    const auto rank = static_cast<int64_t>(out.size());
    int64_t axis = axis_list[0];
    if (rank == 0 || axis < -rank || axis >= rank) return bad("axis " + std::to_string(axis) + " out of range");
    axis = (axis + rank) % rank;
    for (int i = 1; i < values.arguments_size(); ++i) {
      const mil::TensorType& t = types_.at(values.arguments(i).name()).tensortype();
      const Dims d = dims_of(t);
      if (t.datatype() != first.datatype() || d.size() != out.size()) {
        return bad("values " + values.arguments(i).name() + " differs in dtype or rank from the first");
      }
      for (int64_t k = 0; k < rank; ++k) {
        if (k == axis) {
          out[k] = out[k] < 0 || d[k] < 0 ? kUnknownDim : out[k] + d[k];
        } else if (d[k] != out[k]) {
          return bad("values " + dims_text(dims_of(first)) + " and " + dims_text(d) + " differ off the concat axis");
        }
      }
    }
    return tensor_type(first.datatype(), out);
  }

  // slice_by_index with const begin/end (stride, masks): fixed shapes only, no squeezing.
  Result<mil::ValueType> slice_by_index(mil::DataType xt, const Dims& x) const {
    const size_t r = x.size();
    if (element_count(x) < 0 || r == 0) return bad("x must have fixed dims");
    TAEC_ASSIGN_OR_RETURN(std::vector<int64_t> begin, ints("begin", {}, r));
    TAEC_ASSIGN_OR_RETURN(std::vector<int64_t> end, ints("end", {}, r));
    TAEC_ASSIGN_OR_RETURN(std::vector<int64_t> stride, ints("stride", std::vector<int64_t>(r, 1), r));
    auto mask = [&](const char* param) -> Result<std::vector<bool>> {
      const ConstData* m = konst(param);
      if (!m) return std::vector<bool>(r, false);
      if (m->dtype != mil::BOOL || m->bools.size() != r) return bad(std::string(param) + " must be bool[rank]");
      return m->bools;
    };
    TAEC_ASSIGN_OR_RETURN(std::vector<bool> begin_mask, mask("begin_mask"));
    TAEC_ASSIGN_OR_RETURN(std::vector<bool> end_mask, mask("end_mask"));
    TAEC_ASSIGN_OR_RETURN(std::vector<bool> squeeze, mask("squeeze_mask"));
    Dims out(r);
    for (size_t i = 0; i < r; ++i) {
      const int64_t b = begin_mask[i] ? 0 : begin[i] < 0 ? begin[i] + x[i] : begin[i];
      const int64_t e = end_mask[i] ? x[i] : end[i] < 0 ? end[i] + x[i] : end[i];
      if (squeeze[i]) return bad("squeeze_mask is not supported by taec's reader");
      if (stride[i] != 1) return bad("slice strides other than 1 are not supported by taec's reader");
      if (b < 0 || e > x[i] || b >= e) {
        return bad("slice [" + std::to_string(b) + ", " + std::to_string(e) + ") of dim " + std::to_string(i) +
                   " is empty or outside x " + dims_text(x));
      }
      out[i] = e - b;
    }
    return tensor_type(xt, out);
  }

  Result<mil::ValueType> reshape(mil::DataType xt, const Dims& x) const {
    const int64_t in_count = element_count(x);
    if (!konst("shape")) {  // the runtime shape of another tensor: the result has that tensor's dims
      auto it = shape_sources_.find(arg("shape"));
      if (it == shape_sources_.end()) return bad("shape must be a const or the output of a shape op");
      const int64_t out_count = element_count(it->second);
      if (in_count >= 0 && out_count >= 0 && in_count != out_count) return bad("reshape changes the element count");
      return tensor_type(xt, it->second);
    }
    TAEC_ASSIGN_OR_RETURN(std::vector<int64_t> shape, ints("shape", {}, 0));
    if (shape.empty() || shape.size() > 6) return bad("shape must have 1..6 entries");
    int64_t known = 1;
    int infer = -1;
    for (size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] == -1 && infer < 0) {
        infer = static_cast<int>(i);
      } else if (shape[i] <= 0 || shape[i] > (int64_t{1} << 31) || known > (int64_t{1} << 40) / shape[i]) {
        return bad("shape entry " + std::to_string(shape[i]) + " is not supported");
      } else {
        known *= shape[i];
      }
    }
    if (in_count < 0) {  // unknown input dims: only a -1 entry may absorb them
      if (infer < 0) return bad("reshape of a tensor with unknown dims to a fixed shape");
      shape[infer] = kUnknownDim;
    } else if (infer >= 0) {
      if (in_count % known) return bad("shape does not divide the element count");
      shape[infer] = in_count / known;
    } else if (known != in_count) {
      return bad("shape " + dims_text(shape) + " holds " + std::to_string(known) + " elements, x holds " +
                 std::to_string(in_count));
    }
    return tensor_type(xt, shape);
  }

  Result<mil::ValueType> broadcast(mil::DataType xt, const Dims& x) const {
    const Dims y = dims("y");
    if (dtype("y") != xt || (!is_float(xt) && xt != mil::INT32)) return bad("x and y must have the same numeric dtype");
    const size_t rank = std::max(x.size(), y.size());
    Dims out(rank);
    for (size_t i = 0; i < rank; ++i) {
      const int64_t a = i < rank - x.size() ? 1 : x[i - (rank - x.size())];
      const int64_t b = i < rank - y.size() ? 1 : y[i - (rank - y.size())];
      if (a == 1) out[i] = b;
      else if (b == 1 || a == b) out[i] = a;
      else if (a < 0 || b < 0) out[i] = kUnknownDim;
      else return bad("shapes " + dims_text(x) + " and " + dims_text(y) + " do not broadcast");
    }
    return tensor_type(xt, out);
  }

  Result<mil::ValueType> conv(mil::DataType xt, const Dims& x) const {
    const Dims w = dims("weight");
    if (x.size() != 4 || w.size() != 4 || !is_float(xt) || !is_float(dtype("weight"))) {
      return bad("conv takes a rank-4 float x and weight (2-d convolution)");
    }
    TAEC_ASSIGN_OR_RETURN(std::vector<int64_t> strides, ints("strides", {1, 1}, 2));
    TAEC_ASSIGN_OR_RETURN(std::vector<int64_t> dil, ints("dilations", {1, 1}, 2));
    TAEC_ASSIGN_OR_RETURN(std::vector<int64_t> pad, ints("pad", {0, 0, 0, 0}, 4));
    TAEC_ASSIGN_OR_RETURN(std::vector<int64_t> groups, ints("groups", {1}, 1));
    std::string pad_type = "valid";
    if (const ConstData* c = konst("pad_type")) {
      if (c->dtype != mil::STRING || c->strings.size() != 1) return bad("pad_type must be a string scalar");
      pad_type = c->strings[0];
    }
    const int64_t g = groups[0];
    if (g < 1 || w[0] < 1 || w[0] % g || x[1] < 0 || w[1] * g != x[1]) {
      return bad("weight " + dims_text(w) + " does not fit x " + dims_text(x) + " with groups " + std::to_string(g));
    }
    if (has("bias") && (dims("bias") != Dims{w[0]} || !is_float(dtype("bias")))) return bad("bias must be [Cout]");
    Dims out = {x[0], w[0], 0, 0};
    for (int k = 0; k < 2; ++k) {
      const int64_t in = x[2 + k];
      if (strides[k] < 1 || dil[k] < 1 || w[2 + k] < 1 || pad[2 * k] < 0 || pad[2 * k + 1] < 0) {
        return bad("strides, dilations and kernel must be positive and pads non-negative");
      }
      const int64_t extent = (w[2 + k] - 1) * dil[k] + 1;
      if (in < 0) {
        out[2 + k] = kUnknownDim;
      } else if (pad_type == "valid" || pad_type == "custom") {
        const int64_t padded = in + (pad_type == "custom" ? pad[2 * k] + pad[2 * k + 1] : 0);
        if (padded < extent) return bad("kernel larger than the padded input");
        out[2 + k] = (padded - extent) / strides[k] + 1;
      } else if (pad_type == "same" || pad_type == "same_lower") {
        out[2 + k] = (in + strides[k] - 1) / strides[k];
      } else {
        return bad("unknown pad_type \"" + pad_type + "\"");
      }
    }
    return tensor_type(xt, out);
  }

  const mil::Operation& op_;
  const std::map<std::string, mil::ValueType>& types_;
  const std::map<std::string, ConstData>& consts_;
  const ShapeSources& shape_sources_;
};

bool is_index_type(mil::DataType t) {
  return t == mil::UINT1 || t == mil::UINT2 || t == mil::UINT3 || t == mil::UINT4 || t == mil::UINT6 || t == mil::UINT8;
}

Result<mil::ValueType> infer_lut_to_dense(const std::map<std::string, ConstData>& in) {
  const ConstData& indices = in.at("indices");
  const ConstData& lut = in.at("lut");
  if (!is_index_type(indices.dtype)) {
    return bad(std::string("indices must be uint1, uint2, uint3, uint4, uint6 or uint8, not ") +
               dtype_name(indices.dtype));
  }
  if (!is_float(lut.dtype) && lut.dtype != mil::INT8 && lut.dtype != mil::UINT8) {
    return bad(std::string("lut must be fp16, fp32, int8 or uint8, not ") + dtype_name(lut.dtype));
  }
  const size_t rank = indices.dims.size();
  if (rank < 1) return bad("indices must have rank 1 or more");
  if (lut.dims.size() != rank + 2) {
    return bad("lut " + dims_text(lut.dims) + " must have rank " + std::to_string(rank + 2) + " (indices rank + 2)");
  }
  for (size_t i = 0; i < rank; ++i) {
    if (lut.dims[i] < 1 || indices.dims[i] % lut.dims[i] != 0) {
      return bad("lut " + dims_text(lut.dims) + ": dim " + std::to_string(i) + " does not divide indices " +
                 dims_text(indices.dims));
    }
  }
  const int bits = dtype_bits(indices.dtype);
  if (lut.dims[rank] != (int64_t{1} << bits)) {
    return bad("lut " + dims_text(lut.dims) + " holds " + std::to_string(lut.dims[rank]) + " palette entries; " +
               dtype_name(indices.dtype) + " indices need exactly " + std::to_string(1 << bits));
  }
  if (lut.dims[rank + 1] != 1) {
    return bad("vector palettization (lut vector size > 1) is not supported by taec's reader");
  }
  auto axis = in.find("vector_axis");
  if (axis != in.end()) {
    const ConstData& a = axis->second;
    const auto r = static_cast<int64_t>(rank);
    if (a.dtype != mil::INT32 || !a.dims.empty() || a.numbers.size() != 1 || a.numbers[0] < -r || a.numbers[0] >= r) {
      return bad("vector_axis must be an int32 scalar in [-rank, rank)");
    }
  }
  return tensor_type(lut.dtype, indices.dims);
}

Result<mil::ValueType> infer_blockwise_shift_scale(const std::map<std::string, ConstData>& in) {
  const ConstData& data = in.at("data");
  const ConstData& scale = in.at("scale");
  const mil::DataType dt = data.dtype;
  if (dt != mil::INT4 && dt != mil::UINT4 && dt != mil::INT8 && dt != mil::UINT8 && !is_float(dt)) {
    return bad(std::string("data must be int4, uint4, int8, uint8, fp16 or fp32, not ") + dtype_name(dt));
  }
  if (!is_float(scale.dtype)) return bad(std::string("scale must be fp16 or fp32, not ") + dtype_name(scale.dtype));
  if (data.dims.empty()) return bad("data must have rank 1 or more");
  if (scale.dims.size() != data.dims.size()) {
    return bad("scale " + dims_text(scale.dims) + " must have the rank of data " + dims_text(data.dims));
  }
  for (size_t i = 0; i < data.dims.size(); ++i) {
    if (scale.dims[i] < 1 || data.dims[i] % scale.dims[i] != 0) {
      return bad("scale " + dims_text(scale.dims) + ": dim " + std::to_string(i) + " does not divide data " +
                 dims_text(data.dims) + " into whole blocks");
    }
  }
  auto offset = in.find("offset");
  if (offset != in.end()) {
    const ConstData& o = offset->second;
    if (o.dims != scale.dims) {
      return bad("offset " + dims_text(o.dims) + " must have the shape of scale " + dims_text(scale.dims));
    }
    if (!is_float(o.dtype) && o.dtype != dt) return bad("offset must be a float or data's dtype");
  }
  return tensor_type(scale.dtype, data.dims);
}

// A tensor type with one dimension per rank and sizes small enough that products cannot overflow.
bool sane_type(const mil::ValueType& type) {
  if (!type.has_tensortype()) return false;
  const mil::TensorType& t = type.tensortype();
  if (t.rank() != t.dimensions_size() || t.rank() > 8 || t.attributes_size() != 0) return false;
  for (const auto& d : t.dimensions()) {
    if (d.has_constant() && d.constant().size() > (uint64_t{1} << 31)) return false;
    if (!d.has_constant() && !d.has_unknown()) return false;
  }
  return true;
}

bool same_type(const mil::ValueType& a, const mil::ValueType& b) {
  return a.has_tensortype() && b.has_tensortype() && a.tensortype().datatype() == b.tensortype().datatype() &&
         dims_of(a.tensortype()) == dims_of(b.tensortype()) && a.tensortype().rank() == b.tensortype().rank();
}

Status check_name_attribute(const mil::Operation& op) {
  for (const auto& [key, value] : op.attributes()) {
    if (key != "name" && !(key == "val" && op.type() == "const")) return bad("unexpected op attribute \"" + key + "\"");
  }
  auto it = op.attributes().find("name");
  if (it == op.attributes().end()) return bad("op has no name attribute");
  auto name = decode_const(it->second, nullptr, true);
  if (!name.ok() || name->dtype != mil::STRING || !name->dims.empty() || !is_identifier(name->strings[0])) {
    return bad("op name attribute is not a string identifier");
  }
  return ok_status();
}

}  // namespace

const std::vector<std::string>& known_op_types() {
  static const std::vector<std::string> types = [] {
    std::vector<std::string> v;
    for (const auto& [name, sig] : signatures()) v.push_back(name);
    return v;
  }();
  return types;
}

Result<mil::ValueType> infer_op_type(const mil::Operation& op, const std::map<std::string, mil::ValueType>& types,
                                     const std::map<std::string, ConstData>& consts, const ShapeSources& shape_sources) {
  if (is_constexpr_op(op.type())) return bad("constexpr ops are typed from their values (infer_constexpr_type)");
  return Inference(op, types, consts, shape_sources).run();
}

bool is_constexpr_op(const std::string& type) {
  return type == "constexpr_lut_to_dense" || type == "constexpr_blockwise_shift_scale";
}

Result<mil::ValueType> infer_constexpr_type(const std::string& op_type,
                                            const std::map<std::string, ConstData>& inputs) {
  if (op_type == "constexpr_lut_to_dense") return infer_lut_to_dense(inputs);
  if (op_type == "constexpr_blockwise_shift_scale") return infer_blockwise_shift_scale(inputs);
  return bad("not a constexpr op");
}

Result<FunctionSummary> validate_function(const std::string& where, const mil::Function& function,
                                          const std::string& opset, const BlobFile* blobs) {
  auto fail = [&](const std::string& what, const Status& s) { return Status(s.code(), where + ": " + what + s.message()); };
  if (function.opset() != opset) return bad(where + ": opset \"" + function.opset() + "\", expected \"" + opset + "\"");
  if (function.block_specializations_size() != 1 || !function.block_specializations().count(opset)) {
    return bad(where + ": needs exactly one block, specialized for " + opset);
  }
  if (function.attributes_size() != 0) return bad(where + ": function attributes are not supported");
  const mil::Block& block = function.block_specializations().at(opset);
  if (block.inputs_size() != 0 || block.attributes_size() != 0) return bad(where + ": function body block has inputs or attributes");

  std::map<std::string, mil::ValueType> types;
  std::map<std::string, ConstData> consts;
  std::set<std::string> decompressed;  // constexpr outputs: compile-time weights, only for conv
  ShapeSources shape_sources;
  const bool ios18 = opset != "CoreML5" && opset != "CoreML6" && opset != "CoreML7";
  // iOS18 states: each read once by read_state, then written once by coreml_update_state (taec's
  // rule; Core ML allows more), their value type the wrapped fp16 tensor.
  struct StateUse {
    mil::ValueType wrapped;
    int reads = 0, updates = 0;
  };
  std::map<std::string, StateUse> states;
  for (const auto& input : function.inputs()) {
    if (!is_identifier(input.name()) || types.count(input.name())) return bad(where + ": bad or repeated input name");
    if (input.type().has_statetype()) {
      const mil::ValueType& wrapped = input.type().statetype().wrappedtype();
      if (!ios18) return bad(where + ": state input " + input.name() + " in a program of opset " + opset);
      if (!sane_type(wrapped) || element_count(dims_of(wrapped.tensortype())) < 0 ||
          wrapped.tensortype().datatype() != mil::FLOAT16) {
        return bad(where + ": state input " + input.name() + " must wrap a fixed-shape fp16 tensor, not " +
                   type_text(wrapped));
      }
      states[input.name()].wrapped = wrapped;
    } else if (!sane_type(input.type())) {
      return bad(where + ": input " + input.name() + " is not a tensor type taec supports");
    }
    types[input.name()] = input.type();
  }
  FunctionSummary summary;
  const auto& sigs = signatures();
  for (int i = 0; i < block.operations_size(); ++i) {
    const mil::Operation& op = block.operations(i);
    const std::string at = "op " + std::to_string(i) + " (" + op.type() + "): ";
    auto sig_it = sigs.find(op.type());
    if (sig_it == sigs.end()) return bad(where + ": " + at + "op type not supported by taec's reader");
    const OpSignature& sig = sig_it->second;
    if (op.blocks_size() != 0 || op.outputs_size() != 1) return bad(where + ": " + at + "expected one output and no nested blocks");
    Status s = check_name_attribute(op);
    if (!s.ok()) return fail(at, s);
    const mil::NamedValueType& out = op.outputs(0);
    if (!is_identifier(out.name()) || types.count(out.name())) {
      return bad(where + ": " + at + "output name \"" + out.name() + "\" is not a fresh identifier");
    }
    if (!sane_type(out.type())) {
      return bad(where + ": " + at + "output type is not a tensor type taec supports");
    }
    const bool is_constexpr = is_constexpr_op(op.type());
    if (is_constexpr && !ios18) return bad(where + ": " + at + "an iOS18 op in a program of opset " + opset);
    std::map<std::string, ConstData> bound;  // constexpr inputs, by parameter
    for (const auto& [param, argument] : op.inputs()) {
      const bool known = std::count(sig.required.begin(), sig.required.end(), param) ||
                         std::count(sig.optional.begin(), sig.optional.end(), param);
      if (!known) return bad(where + ": " + at + "unknown input \"" + param + "\"");
      if (is_constexpr) {  // iOS18 serialization: a value, never the name of a const op
        if (argument.arguments_size() != 1 || !argument.arguments(0).has_value()) {
          return bad(where + ": " + at + "input " + param + " must be bound to one value");
        }
        const mil::Value& value = argument.arguments(0).value();
        if (!sane_type(value.type())) return bad(where + ": " + at + "input " + param + " type is not supported");
        auto data = decode_const(value, blobs, false);
        if (!data.ok()) return fail(at + out.name() + ": input " + param + ": ", data.status());
        summary.blob_refs += data->from_blob;
        bound[param] = std::move(data).value();
        continue;
      }
      if (is_variadic(op.type(), param)) {
        if (argument.arguments_size() < 1) return bad(where + ": " + at + "input " + param + " is empty");
        for (const auto& b : argument.arguments()) {
          if (!b.has_name() || !types.count(b.name()) || types.at(b.name()).has_statetype() || decompressed.count(b.name())) {
            return bad(where + ": " + at + "input " + param + " is not bound to earlier tensor values");
          }
        }
        continue;
      }
      if (argument.arguments_size() != 1 || !argument.arguments(0).has_name() ||
          !types.count(argument.arguments(0).name())) {
        return bad(where + ": " + at + "input " + param + " is not bound to one earlier value");
      }
      const std::string& arg = argument.arguments(0).name();
      const bool state_slot = (op.type() == "read_state" && param == "input") ||
                              (op.type() == "coreml_update_state" && param == "state");
      if (state_slot != (states.count(arg) > 0)) {
        return bad(where + ": " + at + "input " + param + (state_slot ? " must be a state input, not " + arg
                                                                         : ": state " + arg + " may only be read with read_state or written with coreml_update_state"));
      }
      const bool weight_slot = op.type() == "conv" && param == "weight";
      if (decompressed.count(arg) && !weight_slot) {
        return bad(where + ": " + at + "input " + param + ": constexpr output " + arg + " may only be a conv weight");
      }
      const bool must_be_const = std::count(sig.const_params.begin(), sig.const_params.end(), param) > 0;
      if (must_be_const && !consts.count(arg) && !(weight_slot && decompressed.count(arg))) {
        return bad(where + ": " + at + "input " + param + " must be a const");
      }
    }
    for (const auto& param : sig.required) {
      if (!op.inputs().count(param)) return bad(where + ": " + at + "missing input " + param);
    }
    mil::ValueType inferred;
    if (op.type() == "const") {
      auto val = op.attributes().find("val");
      if (val == op.attributes().end()) return bad(where + ": " + at + "const without val");
      if (!sane_type(val->second.type())) return bad(where + ": " + at + "val type is not supported");
      auto data = decode_const(val->second, blobs, false);
      if (!data.ok()) return fail(at + out.name() + ": ", data.status());
      summary.blob_refs += data->from_blob;
      inferred = val->second.type();
      consts[out.name()] = std::move(data).value();
    } else if (is_state_op(op.type())) {
      if (!ios18) return bad(where + ": " + at + "an iOS18 op in a program of opset " + opset);
      const std::string state = op.inputs().at(op.type() == "read_state" ? "input" : "state").arguments(0).name();
      StateUse& use = states.at(state);
      if (op.type() == "read_state") {
        if (use.reads++ != 0) return bad(where + ": " + at + "state " + state + " is read a second time");
      } else {
        if (use.reads == 0) return bad(where + ": " + at + "state " + state + " is written before it is read");
        if (use.updates++ != 0) return bad(where + ": " + at + "state " + state + " is written a second time");
        const mil::ValueType& value = types.at(op.inputs().at("value").arguments(0).name());
        if (!same_type(value, use.wrapped)) {
          return bad(where + ": " + at + "state " + state + " holds " + type_text(use.wrapped) + ", the value written is " +
                     type_text(value));
        }
      }
      inferred = use.wrapped;
    } else if (is_constexpr) {
      auto t = infer_constexpr_type(op.type(), bound);
      if (!t.ok()) return fail(at + out.name() + ": ", t.status());
      inferred = std::move(t).value();
      decompressed.insert(out.name());
    } else {
      auto t = infer_op_type(op, types, consts, shape_sources);
      if (!t.ok()) return fail(at + out.name() + ": ", t.status());
      inferred = std::move(t).value();
      if (op.type() == "shape") {
        shape_sources[out.name()] = dims_of(types.at(op.inputs().at("x").arguments(0).name()).tensortype());
      }
    }
    if (!same_type(inferred, out.type())) {
      return bad(where + ": " + at + out.name() + " is declared " + type_text(out.type()) + " but its inputs give " +
                 type_text(inferred));
    }
    types[out.name()] = out.type();
    ++summary.op_histogram[op.type()];
  }
  for (const auto& [name, use] : states) {
    if (use.updates != 1) return bad(where + ": state " + name + " is never written (coreml_update_state)");
  }
  if (block.outputs_size() == 0) return bad(where + ": block has no outputs");
  for (const std::string& name : block.outputs()) {
    auto it = types.find(name);
    if (it == types.end()) return bad(where + ": block output \"" + name + "\" is not defined");
    if (decompressed.count(name)) return bad(where + ": block output \"" + name + "\" is a constexpr weight");
    if (states.count(name)) return bad(where + ": block output \"" + name + "\" is a state");
    mil::NamedValueType nvt;
    nvt.set_name(name);
    *nvt.mutable_type() = it->second;
    summary.outputs.push_back(std::move(nvt));
  }
  return summary;
}

}  // namespace taec::coreml

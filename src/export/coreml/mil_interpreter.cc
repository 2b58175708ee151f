#include "export/coreml/mil_interpreter.h"

#include <cmath>
#include <functional>
#include <map>
#include <memory>

#include "base/half.h"
#include "kernels/reference/ops.h"

namespace taec::coreml {
namespace {

using Dims = std::vector<int64_t>;

Status unsupported(const std::string& what) { return Status(Code::unsupported, "interpreter: " + what); }

int64_t count_of(const Dims& d) {
  int64_t n = 1;
  for (int64_t x : d) n *= x;
  return n;
}

Dims strides_of(const Dims& d) {
  Dims s(d.size(), 1);
  for (int i = static_cast<int>(d.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * d[i + 1];
  return s;
}

void round_to_fp16(std::vector<float>& v) {
  for (float& x : v) x = fp16_to_float(float_to_fp16(x));
}

struct Value {
  HostTensor tensor;
  const ConstData* konst = nullptr;  // for params (strings, bools, ints)
};

// For each element of `dims` (C order), the C-order index of its block in a grid of `grid` blocks
// per dim (grid[i] divides dims[i]): how the iOS18 ops map an element to its LUT or scale.
std::vector<int64_t> block_of_each_element(const Dims& dims, const Dims& grid) {
  std::vector<int64_t> out(static_cast<size_t>(count_of(dims)));
  const Dims grid_strides = strides_of(grid);
  Dims index(dims.size(), 0);
  for (size_t e = 0; e < out.size(); ++e) {
    int64_t b = 0;
    for (size_t i = 0; i < dims.size(); ++i) b += index[i] / (dims[i] / grid[i]) * grid_strides[i];
    out[e] = b;
    for (int i = static_cast<int>(index.size()) - 1; i >= 0 && ++index[i] == dims[i]; --i) index[i] = 0;
  }
  return out;
}

// Decodes a constexpr op's bound values with their data and expands them (the op was validated:
// shapes divide, LUTs hold 2^bits entries, vector size 1).
Result<HostTensor> expand_constexpr(const BlobFile& blobs, const mil::Operation& op) {
  std::map<std::string, ConstData> in;
  for (const auto& [param, argument] : op.inputs()) {
    if (argument.arguments_size() != 1 || !argument.arguments(0).has_value()) {
      return unsupported("constexpr input " + param + " not bound to a value");
    }
    TAEC_ASSIGN_OR_RETURN(in[param], decode_const(argument.arguments(0).value(), &blobs, true));
  }
  HostTensor out;
  if (op.type() == "constexpr_lut_to_dense") {
    const ConstData& indices = in.at("indices");
    const ConstData& lut = in.at("lut");
    const size_t rank = indices.dims.size();
    const int64_t entries = lut.dims[rank];
    const Dims lut_grid(lut.dims.begin(), lut.dims.begin() + static_cast<std::ptrdiff_t>(rank));
    const std::vector<int64_t> block = block_of_each_element(indices.dims, lut_grid);
    out.dims = indices.dims;
    out.data.resize(indices.numbers.size());
    for (size_t e = 0; e < out.data.size(); ++e) {
      const auto index = static_cast<int64_t>(indices.numbers[e]);
      if (index < 0 || index >= entries) return Status(Code::format, "interpreter: LUT index out of range");
      out.data[e] = static_cast<float>(lut.numbers[block[e] * entries + index]);
    }
  } else if (op.type() == "constexpr_blockwise_shift_scale") {
    const ConstData& data = in.at("data");
    const ConstData& scale = in.at("scale");
    auto offset = in.find("offset");
    const std::vector<int64_t> block = block_of_each_element(data.dims, scale.dims);
    out.dims = data.dims;
    out.data.resize(data.numbers.size());
    for (size_t e = 0; e < out.data.size(); ++e) {
      const double zero = offset == in.end() ? 0.0 : offset->second.numbers[block[e]];
      out.data[e] = static_cast<float>(scale.numbers[block[e]] * (data.numbers[e] - zero));
    }
  } else {
    return unsupported("op type " + op.type());
  }
  if (op.outputs(0).type().tensortype().datatype() == mil::FLOAT16) round_to_fp16(out.data);
  return out;
}

class Interpreter {
 public:
  explicit Interpreter(const ReadPackage& package) : package_(package) {}

  // Every non-state input of `fn` from `inputs`, every state from `states` (updated in place).
  Result<NamedTensors> run(const mil::Function& fn, const NamedTensors& inputs, NamedTensors* states) {
    states_ = states;
    for (const auto& input : fn.inputs()) {
      const bool is_state = input.type().has_statetype();
      const mil::TensorType& in_type = is_state ? input.type().statetype().wrappedtype().tensortype() : input.type().tensortype();
      const NamedTensors* from = is_state ? states : &inputs;
      auto given = from ? from->find(input.name()) : inputs.end();
      if (!from || given == from->end()) return Status(Code::invalid_argument, "interpreter: no value for " + input.name());
      const HostTensor& t = given->second;
      const Dims declared = dims_of(in_type);
      bool fits = declared.size() == t.dims.size() && static_cast<int64_t>(t.data.size()) == count_of(t.dims);
      for (size_t i = 0; fits && i < declared.size(); ++i) fits = declared[i] == kUnknownDim || declared[i] == t.dims[i];
      if (!fits) return Status(Code::shape, input.name() + " does not match the function's " + type_text(input.type()));
      if (is_state) continue;  // read by read_state
      Value v;
      v.tensor = t;
      if (in_type.datatype() == mil::FLOAT16) round_to_fp16(v.tensor.data);
      values_[input.name()] = std::move(v);
    }
    const mil::Block& block = fn.block_specializations().begin()->second;
    // Each value is dropped after its last reader (the unrolled video programs hold thousands).
    std::map<std::string, int> last_use;
    for (int i = 0; i < block.operations_size(); ++i) {
      for (const auto& [param, argument] : block.operations(i).inputs()) {
        for (const auto& b : argument.arguments()) {
          if (b.has_name()) last_use[b.name()] = i;
        }
      }
    }
    for (const std::string& name : block.outputs()) last_use[name] = block.operations_size();
    std::vector<std::vector<std::string>> drop_after(block.operations_size());
    for (const auto& [name, i] : last_use) {
      if (i < block.operations_size()) drop_after[i].push_back(name);
    }
    for (int i = 0; i < block.operations_size(); ++i) {
      const mil::Operation& op = block.operations(i);
      TAEC_ASSIGN_OR_RETURN(Value out, run_op(op));
      const mil::TensorType& t = op.outputs(0).type().tensortype();
      if (op.type() != "const") {
        const Dims d = dims_of(t);
        for (size_t k = 0; k < d.size(); ++k) {
          if (d.size() != out.tensor.dims.size() || (d[k] != kUnknownDim && d[k] != out.tensor.dims[k])) {
            return Status(Code::internal, "interpreter: " + op.outputs(0).name() + " computed with another shape");
          }
        }
        if (t.datatype() == mil::FLOAT16) round_to_fp16(out.tensor.data);
      }
      values_[op.outputs(0).name()] = std::move(out);
      for (const std::string& name : drop_after[i]) values_.erase(name);
    }
    NamedTensors outputs;
    for (const std::string& name : block.outputs()) outputs[name] = values_.at(name).tensor;
    return outputs;
  }

 private:
  const Value& in(const mil::Operation& op, const std::string& param) const {
    return values_.at(op.inputs().at(param).arguments(0).name());
  }
  bool has(const mil::Operation& op, const std::string& param) const { return op.inputs().count(param) > 0; }
  std::vector<int64_t> ints(const mil::Operation& op, const std::string& param, std::vector<int64_t> fallback) const {
    if (!has(op, param)) return fallback;
    const Value& v = in(op, param);
    if (v.konst == nullptr) return std::vector<int64_t>(v.tensor.data.begin(), v.tensor.data.end());  // a shape op
    return std::vector<int64_t>(v.konst->numbers.begin(), v.konst->numbers.end());
  }

  Result<Value> run_op(const mil::Operation& op) {
    const std::string& t = op.type();
    Value out;
    if (t == "const") {
      TAEC_ASSIGN_OR_RETURN(ConstData c, decode_const(op.attributes().at("val"), &package_.blobs, true));
      consts_.push_back(std::make_unique<ConstData>(std::move(c)));
      out.konst = consts_.back().get();
      out.tensor.dims = out.konst->dims;
      out.tensor.data.assign(out.konst->numbers.begin(), out.konst->numbers.end());
      return out;
    }
    if (is_constexpr_op(t)) {
      TAEC_ASSIGN_OR_RETURN(out.tensor, expand_constexpr(package_.blobs, op));
      return out;
    }
    if (t == "read_state" || t == "coreml_update_state") {  // states are fp16 tensors
      const std::string state = op.inputs().at(t == "read_state" ? "input" : "state").arguments(0).name();
      HostTensor& held = states_->at(state);
      if (t == "coreml_update_state") held = in(op, "value").tensor;
      out.tensor = held;
      return out;
    }
    if (t == "concat") return concat(op);
    const HostTensor& x = in(op, "x").tensor;
    if (t == "identity") {
      out.tensor = x;
      return out;
    }
    if (t == "slice_by_index") return slice_by_index(op, x);
    if (t == "pixel_shuffle") {
      const int f = static_cast<int>(ints(op, "upscale_factor", {1})[0]);
      if (x.dims.size() != 4 || x.dims[0] != 1) return unsupported("pixel_shuffle other than batch 1");
      const int c = static_cast<int>(x.dims[1]) / (f * f), h = static_cast<int>(x.dims[2]), w = static_cast<int>(x.dims[3]);
      out.tensor.dims = {1, c, h * f, w * f};
      out.tensor.data.resize(x.data.size());
      pixel_shuffle_nchw_f32__reference(x.data.data(), c, h, w, f, out.tensor.data.data());
      return out;
    }
    if (t == "relu" || t == "tanh" || t == "sqrt" || t == "square") {
      out.tensor = x;
      std::vector<float>& v = out.tensor.data;
      if (t == "relu") relu_f32__reference(v.data(), v.data(), v.size());
      for (float& e : v) {
        if (t == "tanh") e = std::tanh(e);
        else if (t == "sqrt") e = std::sqrt(e);
        else if (t == "square") e = e * e;
      }
      return out;
    }
    if (t == "add" || t == "sub" || t == "mul" || t == "real_div") {
      const std::function<float(float, float)> f =
          t == "add" ? [](float a, float b) { return a + b; }
          : t == "sub" ? [](float a, float b) { return a - b; }
          : t == "mul" ? [](float a, float b) { return a * b; }
                       : [](float a, float b) { return a / b; };
      out.tensor = broadcast(x, in(op, "y").tensor, f);
      return out;
    }
    if (t == "cast") {
      out.tensor = x;  // fp16 rounding follows from the output type
      return out;
    }
    if (t == "transpose") {
      const std::vector<int64_t> perm = ints(op, "perm", {});
      out.tensor.dims.resize(perm.size());
      for (size_t i = 0; i < perm.size(); ++i) out.tensor.dims[i] = x.dims[perm[i]];
      out.tensor.data.resize(x.data.size());
      const Dims in_strides = strides_of(x.dims), out_dims = out.tensor.dims;
      Dims index(out_dims.size(), 0);
      for (size_t o = 0; o < out.tensor.data.size(); ++o) {
        int64_t src = 0;
        for (size_t i = 0; i < perm.size(); ++i) src += index[i] * in_strides[perm[i]];
        out.tensor.data[o] = x.data[src];
        for (int i = static_cast<int>(index.size()) - 1; i >= 0 && ++index[i] == out_dims[i]; --i) index[i] = 0;
      }
      return out;
    }
    if (t == "shape") {
      out.tensor.dims = {static_cast<int64_t>(x.dims.size())};
      out.tensor.data.assign(x.dims.begin(), x.dims.end());
      return out;
    }
    if (t == "reshape") {
      std::vector<int64_t> shape = ints(op, "shape", {});
      int64_t known = 1, infer = -1;
      for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1) infer = static_cast<int64_t>(i);
        else known *= shape[i];
      }
      if (infer >= 0) shape[infer] = static_cast<int64_t>(x.data.size()) / known;
      out.tensor.dims = shape;
      out.tensor.data = x.data;
      return out;
    }
    if (t == "reduce_mean") return reduce_mean(op, x);
    if (t == "conv") return conv(op, x);
    if (t == "upsample_nearest_neighbor") {
      const double sh = has(op, "scale_factor_height") ? in(op, "scale_factor_height").konst->numbers[0] : 1;
      const double sw = has(op, "scale_factor_width") ? in(op, "scale_factor_width").konst->numbers[0] : 1;
      if (sh != 2 || sw != 2 || x.dims.size() != 4 || x.dims[0] != 1) return unsupported("upsample other than 2x");
      const int c = static_cast<int>(x.dims[1]), h = static_cast<int>(x.dims[2]), w = static_cast<int>(x.dims[3]);
      out.tensor.dims = {1, c, 2 * h, 2 * w};
      out.tensor.data.resize(x.data.size() * 4);
      upsample_nearest2x_nchw_f32__reference(x.data.data(), c, h, w, out.tensor.data.data());
      return out;
    }
    if (t == "batch_norm") {
      const std::vector<float>& mean = in(op, "mean").tensor.data;
      const std::vector<float>& var = in(op, "variance").tensor.data;
      const float eps = has(op, "epsilon") ? in(op, "epsilon").tensor.data[0] : 1e-5f;
      out.tensor = x;
      const int64_t c = x.dims[1], inner = count_of(x.dims) / (x.dims[0] * c);
      for (int64_t i = 0; i < static_cast<int64_t>(x.data.size()); ++i) {
        const int64_t ch = (i / inner) % c;
        const float g = has(op, "gamma") ? in(op, "gamma").tensor.data[ch] : 1.0f;
        const float b = has(op, "beta") ? in(op, "beta").tensor.data[ch] : 0.0f;
        out.tensor.data[i] = (x.data[i] - mean[ch]) / std::sqrt(var[ch] + eps) * g + b;
      }
      return out;
    }
    return unsupported("op type " + t);
  }

  static HostTensor broadcast(const HostTensor& a, const HostTensor& b, const std::function<float(float, float)>& f) {
    const size_t rank = std::max(a.dims.size(), b.dims.size());
    auto padded = [rank](const Dims& d) {
      Dims p(rank - d.size(), 1);
      p.insert(p.end(), d.begin(), d.end());
      return p;
    };
    const Dims da = padded(a.dims), db = padded(b.dims);
    HostTensor out;
    out.dims.resize(rank);
    for (size_t i = 0; i < rank; ++i) out.dims[i] = std::max(da[i], db[i]);
    Dims sa = strides_of(da), sb = strides_of(db);
    for (size_t i = 0; i < rank; ++i) {  // broadcast axes do not advance
      if (da[i] == 1) sa[i] = 0;
      if (db[i] == 1) sb[i] = 0;
    }
    out.data.resize(count_of(out.dims));
    Dims index(rank, 0);
    for (size_t o = 0; o < out.data.size(); ++o) {
      int64_t ia = 0, ib = 0;
      for (size_t i = 0; i < rank; ++i) {
        ia += index[i] * sa[i];
        ib += index[i] * sb[i];
      }
      out.data[o] = f(a.data[ia], b.data[ib]);
      for (int i = static_cast<int>(rank) - 1; i >= 0 && ++index[i] == out.dims[i]; --i) index[i] = 0;
    }
    return out;
  }

  Result<Value> reduce_mean(const mil::Operation& op, const HostTensor& x) const {
    std::vector<int64_t> all(x.dims.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    const std::vector<int64_t> axes = ints(op, "axes", all);
    const bool keep = has(op, "keep_dims") && in(op, "keep_dims").konst->bools[0];
    std::vector<bool> reduce(x.dims.size(), false);
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    for (int64_t a : axes) reduce[(a + rank) % rank] = true;
    Dims kept(x.dims.size());  // output dims with reduced axes as 1
    for (size_t i = 0; i < kept.size(); ++i) kept[i] = reduce[i] ? 1 : x.dims[i];
    const Dims ks = strides_of(kept);
    std::vector<double> sum(count_of(kept), 0.0);
    Dims index(x.dims.size(), 0);
    for (size_t e = 0; e < x.data.size(); ++e) {
      int64_t o = 0;
      for (size_t i = 0; i < index.size(); ++i) o += reduce[i] ? 0 : index[i] * ks[i];
      sum[o] += x.data[e];
      for (int i = static_cast<int>(index.size()) - 1; i >= 0 && ++index[i] == x.dims[i]; --i) index[i] = 0;
    }
    const double n = static_cast<double>(x.data.size()) / static_cast<double>(sum.size());
    Value out;
    for (size_t i = 0; i < kept.size(); ++i) {
      if (!reduce[i] || keep) out.tensor.dims.push_back(kept[i]);
    }
    out.tensor.data.resize(sum.size());
    for (size_t i = 0; i < sum.size(); ++i) out.tensor.data[i] = static_cast<float>(sum[i] / n);
    return out;
  }

  // Along one axis; all inputs of equal rank (validated).
  Result<Value> concat(const mil::Operation& op) const {
    const mil::Argument& values = op.inputs().at("values");
    std::vector<const HostTensor*> parts;
    for (const auto& b : values.arguments()) parts.push_back(&values_.at(b.name()).tensor);
    const auto rank = static_cast<int64_t>(parts[0]->dims.size());
    const int64_t axis = (ints(op, "axis", {0})[0] + rank) % rank;
    Value out;
    out.tensor.dims = parts[0]->dims;
    out.tensor.dims[axis] = 0;
    for (const HostTensor* p : parts) out.tensor.dims[axis] += p->dims[axis];
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= out.tensor.dims[i];
    out.tensor.data.reserve(count_of(out.tensor.dims));
    for (int64_t o = 0; o < outer; ++o) {
      for (const HostTensor* p : parts) {
        const int64_t chunk = count_of(p->dims) / outer;
        out.tensor.data.insert(out.tensor.data.end(), p->data.begin() + o * chunk, p->data.begin() + (o + 1) * chunk);
      }
    }
    return out;
  }

  Result<Value> slice_by_index(const mil::Operation& op, const HostTensor& x) const {
    const size_t r = x.dims.size();
    std::vector<int64_t> begin = ints(op, "begin", {}), end = ints(op, "end", {});
    auto mask = [&](const char* param) {
      return has(op, param) ? in(op, param).konst->bools : std::vector<bool>(r, false);
    };
    const std::vector<bool> begin_mask = mask("begin_mask"), end_mask = mask("end_mask");
    Value out;
    out.tensor.dims.resize(r);
    for (size_t i = 0; i < r; ++i) {
      begin[i] = begin_mask[i] ? 0 : begin[i] < 0 ? begin[i] + x.dims[i] : begin[i];
      end[i] = end_mask[i] ? x.dims[i] : end[i] < 0 ? end[i] + x.dims[i] : end[i];
      out.tensor.dims[i] = end[i] - begin[i];
    }
    out.tensor.data.resize(count_of(out.tensor.dims));
    const Dims in_strides = strides_of(x.dims);
    Dims index(r, 0);
    for (size_t o = 0; o < out.tensor.data.size(); ++o) {
      int64_t src = 0;
      for (size_t i = 0; i < r; ++i) src += (begin[i] + index[i]) * in_strides[i];
      out.tensor.data[o] = x.data[src];
      for (int i = static_cast<int>(r) - 1; i >= 0 && ++index[i] == out.tensor.dims[i]; --i) index[i] = 0;
    }
    return out;
  }

  Result<Value> conv(const mil::Operation& op, const HostTensor& x) const {
    const HostTensor& w = in(op, "weight").tensor;
    const std::vector<int64_t> strides = ints(op, "strides", {1, 1}), pad = ints(op, "pad", {0, 0, 0, 0}),
                               dil = ints(op, "dilations", {1, 1}), groups = ints(op, "groups", {1});
    const std::string pad_type = has(op, "pad_type") ? in(op, "pad_type").konst->strings[0] : "valid";
    const int64_t p = pad_type == "custom" ? pad[0] : 0;
    const bool plain = x.dims[0] == 1 && w.dims[2] == w.dims[3] && strides[0] == strides[1] && dil[0] == 1 &&
                       dil[1] == 1 && groups[0] >= 1 && x.dims[1] == w.dims[1] * groups[0] && (pad_type == "valid" || pad_type == "custom") &&
                       pad[1] == p && pad[2] == p && pad[3] == p;
    if (!plain) return unsupported("conv other than square, symmetric, undilated, batch 1");
    const int cin = static_cast<int>(x.dims[1]), h = static_cast<int>(x.dims[2]), wd = static_cast<int>(x.dims[3]);
    const int cout = static_cast<int>(w.dims[0]), k = static_cast<int>(w.dims[2]), s = static_cast<int>(strides[0]);
    const int ho = (h + 2 * static_cast<int>(p) - k) / s + 1, wo = (wd + 2 * static_cast<int>(p) - k) / s + 1;
    Value out;
    out.tensor.dims = {1, cout, ho, wo};
    out.tensor.data.resize(static_cast<size_t>(cout) * ho * wo);
    const float* bias = has(op, "bias") ? in(op, "bias").tensor.data.data() : nullptr;
    conv2d_nchw_f32__reference(x.data.data(), cin, h, wd, w.data.data(), bias, cout, k, s, static_cast<int>(p),
                               out.tensor.data.data(), static_cast<int>(groups[0]));
    return out;
  }

  const ReadPackage& package_;
  std::map<std::string, Value> values_;
  std::vector<std::unique_ptr<ConstData>> consts_;
  NamedTensors* states_ = nullptr;
};

}  // namespace

Result<NamedTensors> run_function(const ReadPackage& package, const std::string& function_name, const NamedTensors& inputs,
                                  NamedTensors* states) {
  auto it = package.model.mlprogram().functions().find(function_name);
  if (it == package.model.mlprogram().functions().end()) {
    return Status(Code::invalid_argument, "no function " + function_name + " in the package");
  }
  Interpreter interpreter(package);
  return interpreter.run(it->second, inputs, states);
}

Result<HostTensor> interpret_function(const ReadPackage& package, const std::string& function_name,
                                      const HostTensor& input) {
  auto it = package.model.mlprogram().functions().find(function_name);
  if (it == package.model.mlprogram().functions().end()) {
    return Status(Code::invalid_argument, "no function " + function_name + " in the package");
  }
  const mil::Function& fn = it->second;
  if (fn.inputs_size() != 1) return unsupported("functions with one input only");
  TAEC_ASSIGN_OR_RETURN(NamedTensors out, run_function(package, function_name, {{fn.inputs(0).name(), input}}, nullptr));
  return out.begin()->second;
}

Result<HostTensor> materialize_constexpr(const ReadPackage& package, const mil::Operation& op) {
  return expand_constexpr(package.blobs, op);
}

}  // namespace taec::coreml

#include "export/coreml/mil_builder.h"

#include "export/coreml/mil_lowering.h"

namespace taec::coreml {
using lowering::FunctionBuilder;
using lowering::NodeLowerer;

uint64_t WeightStore::add_fp16(const std::string& const_name, const std::vector<uint16_t>& halves) {
  return add(const_name, BlobDType::float16, lowering::halves_bytes(halves), static_cast<int64_t>(halves.size()));
}

uint64_t WeightStore::add(const std::string& const_name, BlobDType dtype, const std::string& bytes, int64_t elems) {
  std::string key = std::to_string(static_cast<uint32_t>(dtype)) + '\0' + bytes;
  if (elems < lowering::kMinDedupElems) key = const_name + '\0' + key;
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
  if (model.is_video()) return Status(Code::internal, "lower_decoder: " + model.variant + " is a video decoder");
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
  NodeLowerer lw(model, b, weights, flexible, graph.infer_shapes(flexible ? f : image_height / f, flexible ? f : image_width / f));

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
  std::vector<std::string> values(graph.nodes.size());
  values[0] = x;
  for (size_t i = 1; i < graph.nodes.size(); ++i) {
    std::vector<std::string> inputs;
    for (int in_node : graph.nodes[i].inputs) inputs.push_back(values[in_node]);
    TAEC_ASSIGN_OR_RETURN(values[i], lw.lower(static_cast<int>(i), inputs, ""));
  }

  const int last = graph.output();
  std::vector<int64_t> dims = lw.nchw(last);
  x = values[last];
  if (options.nhwc) {
    const std::string perm = b.int32_vector("image_perm_0", {0, 2, 3, 1});
    dims = {dims[0], dims[2], dims[3], dims[1]};
    x = b.op("transpose", "image_nhwc", {{"perm", perm}, {"x", x}}, mil::FLOAT16, dims);
  }
  b.finish_output(x, "image", kOutputName, dims, options.fp32_io);
  out.output_dims = dims;
  return out;
}

}  // namespace taec::coreml

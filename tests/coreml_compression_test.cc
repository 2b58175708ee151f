// Compressed Core ML weights (`taec export coreml --weights palette8|palette4|int8`,
// export/coreml/weight_compression.h): one weight.bin, byte for byte, for every size and packaging;
// the iOS18 ops' inputs stored as blobs of their dtype (uint4 packed) holding exactly what
// src/quant produces; and the weights exactly those of a taec package packed with the same
// --weights. (The interpreted numerics are in coreml_interpreter_test, the reader's rejections in
// coreml_reader_test.)
#include <gmock/gmock.h>

#include <variant>

#include "base/half.h"
#include "base/sha256.h"
#include "export/coreml/mil_interpreter.h"
#include "export/coreml/package_reader.h"
#include "export/coreml/package_writer.h"
#include "graph/model.h"
#include "package/weight_file.h"
#include "quant/int8_weights.h"
#include "quant/palettize.h"
#include "taec/taec.h"
#include "test_util.h"

namespace {

using namespace taec::coreml;

struct Method {
  WeightCompression weights;
  const char* op;             // the constexpr op type
  BlobDType data_dtype;       // of the indices / data blobs
  size_t taef2_bytes;         // weight.bin of the FLUX.2 decoder (depends only on the shapes)
  int taef2_fp16_blobs;       // biases, GroupNorm vectors, LUTs / scales of 10+ elements
};

void PrintTo(const Method& m, std::ostream* os) { *os << weight_compression_name(m.weights); }

const std::vector<Method>& methods() {
  static const std::vector<Method> all = {
      // 39 fp16 consts stay (biases, GroupNorm vectors, the shared mean/variance) + 41 LUTs.
      {WeightCompression::palette8, "constexpr_lut_to_dense", BlobDType::uint8, 1371840, 80},
      {WeightCompression::palette4, "constexpr_lut_to_dense", BlobDType::uint4, 783840, 80},
      // The final conv's 3 scales are an immediate value (under 10 elements).
      {WeightCompression::int8, "constexpr_blockwise_shift_scale", BlobDType::int8, 1357056, 79},
  };
  return all;
}

std::shared_ptr<const taec::Model> taef2() {
  static const auto model = [] {
    auto m = taec::load_model(taec_test::model_path("taef2_decoder.safetensors"), taec::LoadRequest{});
    EXPECT_TRUE(m.ok()) << m.status().message();
    return m.ok() ? *m : nullptr;
  }();
  return model;
}

std::vector<ImageSize> product_sizes() {
  std::vector<ImageSize> out;
  for (int s : {768, 1024, 1280, 1536, 1792, 2048}) out.push_back({s, s});
  return out;
}

ReadPackage parse(const PackageContents& p) {
  auto read = parse_package(p.name, package_files(p).value());
  EXPECT_TRUE(read.ok()) << read.status().message();
  return read.ok() ? std::move(read).value() : ReadPackage{};
}

// The constexpr ops of one function, in op order (= the graph's conv order).
std::vector<const mil::Operation*> constexpr_ops(const ReadPackage& p, const std::string& function) {
  std::vector<const mil::Operation*> out;
  const auto& block = p.model.mlprogram().functions().at(function).block_specializations().at("CoreML8");
  for (const auto& op : block.operations()) {
    if (is_constexpr_op(op.type())) out.push_back(&op);
  }
  return out;
}

// The graph's conv weights in node order.
std::vector<int> conv_weights(const taec::Model& model) {
  std::vector<int> out;
  for (const taec::Node& n : model.graph.nodes) {
    if (n.op == taec::OpKind::conv2d) out.push_back(n.weight);
  }
  return out;
}

const mil::Value& input_value(const mil::Operation& op, const std::string& param) {
  return op.inputs().at(param).arguments(0).value();
}

// The raw bytes a blob-bound input points at.
std::vector<uint8_t> blob_bytes(const ReadPackage& p, const mil::Value& v) {
  const BlobRecord& r = p.blobs.records.at(v.blobfilevalue().offset());
  return std::vector<uint8_t>(p.blobs.bytes.begin() + r.data_offset, p.blobs.bytes.begin() + r.data_offset + r.size_bytes);
}

std::vector<uint8_t> halves_le(const std::vector<uint16_t>& h) {
  std::vector<uint8_t> out;
  for (uint16_t x : h) {
    out.push_back(static_cast<uint8_t>(x & 0xff));
    out.push_back(static_cast<uint8_t>(x >> 8));
  }
  return out;
}

class CoremlCompression : public ::testing::TestWithParam<Method> {};

TEST_P(CoremlCompression, OneWeightBinForEverySizeAndPackaging) {
  TAEC_REQUIRE_FIXTURES();
  const Method& m = GetParam();
  auto model = taef2();
  ASSERT_TRUE(model);
  std::vector<PackageContents> all;
  for (Packaging packaging : {Packaging::per_size, Packaging::multifunction, Packaging::enumerated}) {
    ExportOptions options;
    options.sizes = product_sizes();
    options.packaging = packaging;
    options.weights = m.weights;
    auto packages = build_packages(*model, options);
    ASSERT_TRUE(packages.ok()) << packages.status().message();
    for (PackageContents& p : *packages) all.push_back(std::move(p));
  }
  ASSERT_EQ(all.size(), 8u);  // 6 sizes, multifunction, enumerated
  const std::string name = weight_compression_name(m.weights);
  EXPECT_EQ(all[0].name, "taef2_decoder_" + name + "_768");
  EXPECT_EQ(all[6].name, "taef2_decoder_" + name);
  for (const PackageContents& p : all) {
    SCOPED_TRACE(p.name);
    EXPECT_EQ(p.weights, all[0].weights) << "weight.bin differs from " << all[0].name;
  }
  EXPECT_EQ(all[0].weights.size(), m.taef2_bytes);
  std::printf("taef2 %s: weight.bin %zu bytes, sha256 %s\n", name.c_str(), all[0].weights.size(),
              taec::sha256_hex(all[0].weights.data(), all[0].weights.size()).c_str());

  // 41 compressed conv weights, each an indices/data blob of the op's dtype plus an fp16 LUT/scale.
  const ReadPackage multi = parse(all[6]);
  std::map<BlobDType, int> by_dtype;
  for (const auto& [offset, record] : multi.blobs.records) ++by_dtype[record.dtype];
  EXPECT_EQ(by_dtype[m.data_dtype], 41);
  EXPECT_EQ(by_dtype[BlobDType::float16], m.taef2_fp16_blobs);
  EXPECT_EQ(multi.blobs.records.size(), static_cast<size_t>(41 + m.taef2_fp16_blobs));
  for (const ImageSize& size : product_sizes()) {
    const FunctionSummary& f = multi.functions.at(function_name_for(size));
    EXPECT_EQ(f.op_histogram.at(m.op), 41);
    EXPECT_EQ(f.op_histogram.at("conv"), 41);
    EXPECT_EQ(f.op_histogram.at("const"), 320 - 41) << "the compressed weights' fp16 consts are gone";
    EXPECT_EQ(f.blob_refs, static_cast<int>(multi.blobs.records.size())) << "every function refers to every blob";
  }
}

// What the package stores is exactly src/quant's output with `taec pack`'s parameters: the
// indices bytes (uint4: taec's nibble order is MILBlob's), the fp16 LUTs, the int8 values, the
// scales rounded to fp16; and the op expands to src/quant's dequantized weights.
TEST_P(CoremlCompression, StoresExactlyWhatSrcQuantProduces) {
  TAEC_REQUIRE_FIXTURES();
  const Method& m = GetParam();
  auto model = taef2();
  ASSERT_TRUE(model);
  ExportOptions options;
  options.sizes = {{64, 64}};
  options.weights = m.weights;
  auto packages = build_packages(*model, options);
  ASSERT_TRUE(packages.ok()) << packages.status().message();
  const ReadPackage read = parse(packages->front());
  const std::vector<const mil::Operation*> ops = constexpr_ops(read, "main");
  const std::vector<int> convs = conv_weights(*model);
  ASSERT_EQ(ops.size(), convs.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    const taec::Weight& w = model->graph.weights[convs[i]];
    const mil::Operation& op = *ops[i];
    SCOPED_TRACE(w.name);
    ASSERT_EQ(op.type(), m.op);
    auto dense = materialize_constexpr(read, op);
    ASSERT_TRUE(dense.ok()) << dense.status().message();
    EXPECT_EQ(dense->dims, w.shape);
    if (m.weights == WeightCompression::int8) {
      auto q = taec::quantize_int8(w.data.data(), w.shape);
      ASSERT_TRUE(q.ok());
      std::vector<uint8_t> values(q->values.begin(), q->values.end());
      EXPECT_EQ(blob_bytes(read, input_value(op, "data")), values);
      std::vector<uint16_t> scales;
      for (float s : q->scales) scales.push_back(taec::float_to_fp16(s));
      const mil::Value& scale = input_value(op, "scale");
      const std::vector<uint8_t> scale_bytes =
          scale.has_blobfilevalue() ? blob_bytes(read, scale)
                                    : std::vector<uint8_t>(scale.immediatevalue().tensor().bytes().values().begin(),
                                                           scale.immediatevalue().tensor().bytes().values().end());
      EXPECT_EQ(scale_bytes, halves_le(scales));
      EXPECT_EQ(scale.type().tensortype().dimensions_size(), 4);
      const size_t per_channel = q->values.size() / q->scales.size();
      for (size_t e = 0; e < q->values.size(); ++e) {
        const float want = taec::fp16_to_float(
            taec::float_to_fp16(q->values[e] * taec::fp16_to_float(scales[e / per_channel])));
        ASSERT_EQ(dense->data[e], want) << "element " << e;
      }
    } else {
      const bool four = m.weights == WeightCompression::palette4;
      auto q = taec::palettize(w.data.data(), w.shape, four ? 4 : 8, four ? 1 : 0);
      ASSERT_TRUE(q.ok());
      EXPECT_EQ(blob_bytes(read, input_value(op, "indices")), q->indices);
      EXPECT_EQ(blob_bytes(read, input_value(op, "lut")), halves_le(q->luts));
      const std::vector<int64_t> lut_dims = {four ? w.shape[0] : 1, 1, 1, 1, four ? 16 : 256, 1};
      EXPECT_EQ(dims_of(input_value(op, "lut").type().tensortype()), lut_dims);
      EXPECT_EQ(dense->data, taec::dequantize(*q)) << "the LUT entries are fp16, so the expansion is exact";
    }
  }
}

// A taec package packed with the same --weights holds the same weights: palettes bit for bit; int8
// up to the fp16 rounding of each channel's scale (<= 2^-11 of the channel's largest weight) and
// of the product.
TEST_P(CoremlCompression, AgreesWithATaecPackageOfTheSameWeights) {
  TAEC_REQUIRE_FIXTURES();
  const Method& m = GetParam();
  auto model = taef2();
  ASSERT_TRUE(model);
  const std::string dir = taec_test::temp_dir() + "/pkg";
  const int size = 64;
  taec_pack_options o;
  taec_pack_options_init(&o);
  o.heights = &size;
  o.widths = &size;
  o.size_count = 1;
  o.precision = TAEC_PRECISION_FP32;
  o.weights = weight_compression_name(m.weights);
  o.out_path = dir.c_str();
  o.random_inputs = 1;
  o.tolerance = 1;  // the validation is not what this test is about
  ASSERT_EQ(taec_pack(taec_test::model_path("taef2_decoder.safetensors").c_str(), &o), TAEC_OK) << taec_last_error();
  const std::vector<uint8_t> bin = taec_test::read_bytes(dir + "/weight.bin");
  size_t quantized = 0;
  auto packed = taec::read_weight_file("weight.bin", bin.data(), bin.size(), &quantized);
  ASSERT_TRUE(packed.ok()) << packed.status().message();
  EXPECT_EQ(quantized, 41u) << "taec pack quantizes the same 41 conv weights";

  ExportOptions options;
  options.sizes = {{size, size}};
  options.weights = m.weights;
  auto packages = build_packages(*model, options);
  ASSERT_TRUE(packages.ok()) << packages.status().message();
  const ReadPackage read = parse(packages->front());
  const std::vector<const mil::Operation*> ops = constexpr_ops(read, "main");
  const std::vector<int> convs = conv_weights(*model);
  ASSERT_EQ(ops.size(), convs.size());
  double worst = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    const taec::Weight& w = model->graph.weights[convs[i]];
    SCOPED_TRACE(w.name);
    const taec::RawTensor* t = nullptr;
    for (const taec::RawTensor& r : packed->tensors) {
      if (r.name == w.name) t = &r;
    }
    ASSERT_NE(t, nullptr);
    const std::vector<float> in_package = t->to_float();
    auto dense = materialize_constexpr(read, *ops[i]);
    ASSERT_TRUE(dense.ok()) << dense.status().message();
    ASSERT_EQ(dense->data.size(), in_package.size());
    if (m.weights != WeightCompression::int8) {
      EXPECT_EQ(dense->data, in_package);
      continue;
    }
    const size_t per_channel = in_package.size() / static_cast<size_t>(w.shape[0]);
    for (size_t c = 0; c < static_cast<size_t>(w.shape[0]); ++c) {
      float channel_max = 0;
      for (size_t e = c * per_channel; e < (c + 1) * per_channel; ++e) channel_max = std::max(channel_max, std::fabs(in_package[e]));
      for (size_t e = c * per_channel; e < (c + 1) * per_channel; ++e) {
        const double d = std::fabs(dense->data[e] - in_package[e]);
        worst = std::max(worst, channel_max > 0 ? d / channel_max : d);
        ASSERT_LE(d, channel_max * std::ldexp(1.001, -10)) << "element " << e;
      }
    }
  }
  if (m.weights == WeightCompression::int8) {
    std::printf("int8: largest difference to the taec package, relative to the channel's largest weight: %.3g\n", worst);
  }
}

INSTANTIATE_TEST_SUITE_P(coreml, CoremlCompression, ::testing::ValuesIn(methods()),
                         [](const ::testing::TestParamInfo<Method>& info) {
                           return std::string(weight_compression_name(info.param.weights));
                         });

TEST(CoremlCompressionNames, SameNamesAsTaecPack) {
  for (const char* name : {"none", "palette8", "palette4", "int8"}) {
    auto w = parse_weight_compression(name);
    ASSERT_TRUE(w.ok()) << name;
    EXPECT_STREQ(weight_compression_name(*w), name);
  }
  auto empty = parse_weight_compression("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, WeightCompression::none);
  auto bad = parse_weight_compression("palette2");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("\"palette2\""));
}

}  // namespace

// taec's Core ML package reader refuses what is wrong: for every op type the exporter emits, an
// op whose declared output type differs from the type its inputs give; blob references that do
// not resolve to a record of the right dtype and size; broken weight.bin, manifest and
// description; compressed weights (iOS18 constexpr ops) with a wrong LUT or scale shape, a wrong
// blob dtype, truncated or mis-padded uint4 data. Each case starts from a valid exported package
// and breaks one thing.
#include <gmock/gmock.h>

#include <functional>

#include "export/coreml/package_reader.h"
#include "export/coreml/package_writer.h"
#include "graph/model.h"
#include "test_util.h"

namespace {

using namespace taec::coreml;
using ::testing::HasSubstr;

// The FLUX.2 decoder with fp32 NHWC I/O: every op type the exporter emits (casts included).
const PackageContents& taef2_package() {
  static const PackageContents contents = [] {
    auto model = taec::load_model(taec_test::model_path("taef2_decoder.safetensors"), taec::LoadRequest{});
    EXPECT_TRUE(model.ok()) << model.status().message();
    ExportOptions options;
    options.sizes = {{64, 64}};
    options.lowering.fp32_io = true;
    auto packages = build_packages(**model, options);
    EXPECT_TRUE(packages.ok()) << packages.status().message();
    return packages->front();
  }();
  return contents;
}

PackageFiles files_of(const PackageContents& p) { return package_files(p).value(); }

mil::Block& main_block(spec::Model& m) {
  return m.mutable_mlprogram()->mutable_functions()->at("main").mutable_block_specializations()->at("CoreML8");
}

taec::Result<ReadPackage> parse_with(const std::function<void(spec::Model&)>& edit) {
  spec::Model m = taef2_package().model;
  edit(m);
  PackageFiles f = files_of(taef2_package());
  EXPECT_TRUE(m.SerializeToString(&f.model));
  return parse_package("pkg", f);
}

TEST(coreml_reader, ExportedPackageIsValid) {
  TAEC_REQUIRE_FIXTURES();
  auto read = parse_package("pkg", files_of(taef2_package()));
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->functions.at("main").op_histogram.at("cast"), 2);
}

// One failure per op type: the first op of the type gets a wrong last dimension (or dtype for
// ops whose output is a scalar), and the reader must name the mismatch.
TEST(coreml_reader, EveryOpTypeIsCheckedAgainstShapeInference) {
  TAEC_REQUIRE_FIXTURES();
  auto read = parse_package("pkg", files_of(taef2_package()));
  ASSERT_TRUE(read.ok()) << read.status().message();
  const auto& histogram = read->functions.at("main").op_histogram;
  ASSERT_EQ(histogram.size(), 16u);  // the 15 op types of the fp16 program, plus cast
  for (const auto& [type, count] : histogram) {
    SCOPED_TRACE(type);
    for (int mode = 0; mode < 2; ++mode) {  // 0: a dimension, 1: the dtype
      auto result = parse_with([&, type = type](spec::Model& m) {
        for (auto& op : *main_block(m).mutable_operations()) {
          if (op.type() != type) continue;
          mil::TensorType* t = op.mutable_outputs(0)->mutable_type()->mutable_tensortype();
          if (mode == 0 && t->dimensions_size() > 0) {
            auto* d = t->mutable_dimensions(t->dimensions_size() - 1)->mutable_constant();
            d->set_size(d->size() + 1);
          } else {
            t->set_datatype(t->datatype() == mil::FLOAT16 ? mil::FLOAT32 : mil::FLOAT16);
          }
          return;
        }
      });
      ASSERT_FALSE(result.ok());
      EXPECT_THAT(result.status().message(), HasSubstr("is declared"));
    }
  }
}

// The flexible (enumerated) FLUX.2 program reshapes back through a `shape` op: same check.
TEST(coreml_reader, ShapeOpOfTheEnumeratedProgramIsChecked) {
  TAEC_REQUIRE_FIXTURES();
  auto model = taec::load_model(taec_test::model_path("taef2_decoder.safetensors"), taec::LoadRequest{});
  ASSERT_TRUE(model.ok());
  ExportOptions options;
  options.sizes = {{64, 64}, {128, 128}};
  options.packaging = Packaging::enumerated;
  auto packages = build_packages(**model, options);
  ASSERT_TRUE(packages.ok()) << packages.status().message();
  PackageFiles files = files_of(packages->front());
  ASSERT_TRUE(parse_package("pkg", files).ok());
  for (const char* type : {"shape", "reshape"}) {
    spec::Model m = packages->front().model;
    for (auto& op : *main_block(m).mutable_operations()) {
      if (op.type() != type) continue;
      auto* d = op.mutable_outputs(0)->mutable_type()->mutable_tensortype()->mutable_dimensions(0)->mutable_constant();
      d->set_size(d->size() + 1);
      break;
    }
    ASSERT_TRUE(m.SerializeToString(&files.model));
    auto result = parse_package("pkg", files);
    ASSERT_FALSE(result.ok()) << type;
    EXPECT_THAT(result.status().message(), HasSubstr("is declared")) << type;
  }
}

const mil::Value& first_blob_val(spec::Model& m, mil::Operation** op_out) {
  for (auto& op : *main_block(m).mutable_operations()) {
    auto it = op.mutable_attributes()->find("val");
    if (op.type() == "const" && it != op.mutable_attributes()->end() && it->second.has_blobfilevalue()) {
      *op_out = &op;
      return it->second;
    }
  }
  ADD_FAILURE() << "no blob const";
  static mil::Value none;
  return none;
}

TEST(coreml_reader, BlobReferencesMustResolveToRecordsOfTheRightDtypeAndSize) {
  TAEC_REQUIRE_FIXTURES();
  struct Edit {
    const char* what;
    std::function<void(mil::Operation&, mil::Value&)> edit;
    const char* expected;
  };
  const std::vector<Edit> edits = {
      {"offset between records", [](mil::Operation&, mil::Value& v) { v.mutable_blobfilevalue()->set_offset(65); },
       "no blob record"},
      {"other file", [](mil::Operation&, mil::Value& v) { v.mutable_blobfilevalue()->set_filename("@model_path/x.bin"); },
       "refers to blob file"},
      {"dtype",
       [](mil::Operation& op, mil::Value& v) {
         v.mutable_type()->mutable_tensortype()->set_datatype(mil::FLOAT32);
         op.mutable_outputs(0)->mutable_type()->mutable_tensortype()->set_datatype(mil::FLOAT32);
       },
       "holds fp16 data"},
      {"size",
       [](mil::Operation& op, mil::Value& v) {
         v.mutable_type()->mutable_tensortype()->mutable_dimensions(0)->mutable_constant()->set_size(65);
         op.mutable_outputs(0)->mutable_type()->mutable_tensortype()->mutable_dimensions(0)->mutable_constant()->set_size(65);
       },
       "the type needs"},
  };
  for (const Edit& e : edits) {
    SCOPED_TRACE(e.what);
    auto result = parse_with([&](spec::Model& m) {
      mil::Operation* op = nullptr;
      first_blob_val(m, &op);
      e.edit(*op, op->mutable_attributes()->at("val"));
    });
    ASSERT_FALSE(result.ok());
    EXPECT_THAT(result.status().message(), HasSubstr(e.expected));
  }
}

TEST(coreml_reader, RejectsBrokenProgramsAndDescriptions) {
  TAEC_REQUIRE_FIXTURES();
  struct Edit {
    const char* what;
    std::function<void(spec::Model&)> edit;
    const char* expected;
  };
  const std::vector<Edit> edits = {
      {"undefined input", [](spec::Model& m) {
         auto& ops = *main_block(m).mutable_operations();
         for (auto& op : ops) {
           if (op.type() == "relu") {
             op.mutable_inputs()->at("x").mutable_arguments(0)->set_name("nowhere");
             return;
           }
         }
       }, "not bound to one earlier value"},
      {"unknown op", [](spec::Model& m) { main_block(m).mutable_operations(3)->set_type("gelu"); }, "not supported"},
      {"non-const param", [](spec::Model& m) {
         for (auto& op : *main_block(m).mutable_operations()) {
           if (op.type() == "conv") {
             op.mutable_inputs()->at("weight").mutable_arguments(0)->set_name("latent");
             return;
           }
         }
       }, "must be a const"},
      {"opset", [](spec::Model& m) { m.set_specificationversion(8); }, "opset"},
      {"description shape", [](spec::Model& m) {
         m.mutable_description()->mutable_input(0)->mutable_type()->mutable_multiarraytype()->set_shape(1, 9);
       }, "description shape"},
      {"output name", [](spec::Model& m) { m.mutable_description()->mutable_output(0)->set_name("rgb"); }, "named image"},
      {"program version", [](spec::Model& m) { m.mutable_mlprogram()->set_version(2); }, "program version"},
  };
  for (const Edit& e : edits) {
    SCOPED_TRACE(e.what);
    auto result = parse_with(e.edit);
    ASSERT_FALSE(result.ok());
    EXPECT_THAT(result.status().message(), HasSubstr(e.expected));
  }
}

TEST(coreml_reader, RejectsBrokenWeightFilesAndManifests) {
  TAEC_REQUIRE_FIXTURES();
  struct Edit {
    const char* what;
    std::function<void(PackageFiles&)> edit;
    const char* expected;
  };
  const std::vector<Edit> edits = {
      {"sentinel", [](PackageFiles& f) { f.weights[64] ^= 1; }, "sentinel"},
      {"version", [](PackageFiles& f) { f.weights[4] = 3; }, "version 3"},
      {"truncated", [](PackageFiles& f) { f.weights.resize(f.weights.size() - 1); }, "past the end"},
      {"trailing bytes", [](PackageFiles& f) { f.weights.push_back(0); }, "after the last"},
      {"count", [](PackageFiles& f) { f.weights[0] += 1; }, "past the end"},
      {"dtype code", [](PackageFiles& f) { f.weights[64 + 4] = 99; }, "unknown dtype"},
      {"manifest version", [](PackageFiles& f) {
         f.manifest.replace(f.manifest.find("1.0.0"), 5, "2.0.0");
       }, "fileFormatVersion"},
      {"manifest path", [](PackageFiles& f) {
         f.manifest.replace(f.manifest.find("com.apple.CoreML/model.mlmodel"), 30, "../../../../../../etc/passwd");
       }, "unsafe path"},
      {"manifest json", [](PackageFiles& f) { f.manifest.resize(10); }, "not valid JSON"},
      {"manifest not an object", [](PackageFiles& f) { f.manifest = "[1, 2]"; }, "not a JSON object"},
      {"manifest duplicate key", [](PackageFiles& f) {
         f.manifest.replace(f.manifest.find('{') + 1, 0, "\"rootModelIdentifier\": \"x\",");
       }, "twice"},
      {"manifest nesting", [](PackageFiles& f) {
         f.manifest.replace(f.manifest.find('{') + 1, 0, "\"deep\": " + std::string(5000, '[') + std::string(5000, ']') + ",");
       }, "deeper than 64"},
      {"model bytes", [](PackageFiles& f) { f.model = "\xff\xff\xff"; }, "protobuf"},
  };
  for (const Edit& e : edits) {
    SCOPED_TRACE(e.what);
    PackageFiles f = files_of(taef2_package());
    e.edit(f);
    auto result = parse_package("pkg", f);
    ASSERT_FALSE(result.ok());
    EXPECT_THAT(result.status().message(), HasSubstr(e.expected));
  }
}

TEST(coreml_reader, ReadsPackagesFromDiskAndNamesMissingOnes) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  ASSERT_TRUE(write_package(dir + "/a.mlpackage", taef2_package()).ok());
  EXPECT_TRUE(read_package(dir + "/a.mlpackage").ok());
  auto missing = read_package(dir + "/b.mlpackage");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("b.mlpackage"));
}

// Compressed weights (iOS18 constexpr ops): each case breaks one thing about the first
// compressed conv weight of a taef2 package (decoder_1: [64, 32, 3, 3]; its indices / data blob is
// the first record of weight.bin, at offset 64, data at 128).
const PackageContents& compressed_package(WeightCompression weights) {
  static std::map<WeightCompression, PackageContents> cache;
  auto it = cache.find(weights);
  if (it != cache.end()) return it->second;
  auto model = taec::load_model(taec_test::model_path("taef2_decoder.safetensors"), taec::LoadRequest{});
  EXPECT_TRUE(model.ok()) << model.status().message();
  ExportOptions options;
  options.sizes = {{64, 64}};
  options.weights = weights;
  auto packages = build_packages(**model, options);
  EXPECT_TRUE(packages.ok()) << packages.status().message();
  return cache.emplace(weights, packages->front()).first->second;
}

mil::Operation& first_op(spec::Model& m, const std::string& type) {
  for (auto& op : *main_block(m).mutable_operations()) {
    if (op.type() == type) return op;
  }
  ADD_FAILURE() << "no " << type;
  static mil::Operation none;
  return none;
}

// An immediate value of `dims` (zeros), in the encoding of its dtype.
mil::Value immediate(mil::DataType dtype, const std::vector<int64_t>& dims) {
  mil::Value v;
  *v.mutable_type() = tensor_type(dtype, dims);
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  auto* t = v.mutable_immediatevalue()->mutable_tensor();
  if (dtype == mil::INT32) {
    for (int64_t i = 0; i < n; ++i) t->mutable_ints()->add_values(dims.empty() ? 4 : 0);
  } else {
    t->mutable_bytes()->set_values(std::string(static_cast<size_t>(n) * (dtype == mil::FLOAT16 ? 2 : 1), '\0'));
  }
  return v;
}

void bind(mil::Operation& op, const std::string& param, mil::Value v) {
  auto& args = (*op.mutable_inputs())[param];
  args.Clear();
  *args.add_arguments()->mutable_value() = std::move(v);
}

void put_u64(std::vector<uint8_t>& bytes, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) bytes[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

TEST(coreml_reader, CompressedWeightOpsAreCheckedRigorously) {
  TAEC_REQUIRE_FIXTURES();
  struct Edit {
    const char* what;
    WeightCompression weights;
    std::function<void(spec::Model&, PackageFiles&)> edit;
    const char* expected;
  };
  const char* lut_op = "constexpr_lut_to_dense";
  const char* scale_op = "constexpr_blockwise_shift_scale";
  const auto p4 = WeightCompression::palette4, i8 = WeightCompression::int8;
  const std::vector<Edit> edits = {
      // constexpr_lut_to_dense: the LUT's shape, the indices' dtype and size, the blob records.
      {"lut palette entries", p4, [&](spec::Model& m, PackageFiles&) {
         bind(first_op(m, lut_op), "lut", immediate(mil::FLOAT16, {64, 1, 1, 1, 8, 1}));
       }, "holds 8 palette entries; uint4 indices need exactly 16"},
      {"lut block shape", p4, [&](spec::Model& m, PackageFiles&) {
         bind(first_op(m, lut_op), "lut", immediate(mil::FLOAT16, {3, 1, 1, 1, 16, 1}));
       }, "dim 0 does not divide indices"},
      {"lut rank", p4, [&](spec::Model& m, PackageFiles&) {
         bind(first_op(m, lut_op), "lut", immediate(mil::FLOAT16, {64, 1, 1, 16, 1}));
       }, "must have rank 6"},
      {"lut vector size", p4, [&](spec::Model& m, PackageFiles&) {
         bind(first_op(m, lut_op), "lut", immediate(mil::FLOAT16, {64, 1, 1, 1, 16, 2}));
       }, "vector palettization"},
      {"lut dtype", p4, [&](spec::Model& m, PackageFiles&) {
         bind(first_op(m, lut_op), "lut", immediate(mil::INT32, {64, 1, 1, 1, 16, 1}));
       }, "lut must be fp16, fp32, int8 or uint8"},
      {"vector_axis", p4, [&](spec::Model& m, PackageFiles&) {
         bind(first_op(m, lut_op), "vector_axis", immediate(mil::INT32, {}));  // 4, rank is 4
       }, "vector_axis"},
      {"indices blob dtype", p4, [&](spec::Model& m, PackageFiles&) {
         (*first_op(m, lut_op).mutable_inputs())["indices"].mutable_arguments(0)->mutable_value()->mutable_type()
             ->mutable_tensortype()->set_datatype(mil::UINT8);
       }, "holds uint4 data"},
      {"indices count", p4, [&](spec::Model& m, PackageFiles&) {
         (*first_op(m, lut_op).mutable_inputs())["indices"].mutable_arguments(0)->mutable_value()->mutable_type()
             ->mutable_tensortype()->mutable_dimensions(3)->mutable_constant()->set_size(4);
       }, "holds 9216 bytes, the type needs 12288"},
      {"indices vs output shape", p4, [&](spec::Model& m, PackageFiles&) {
         first_op(m, lut_op).mutable_outputs(0)->mutable_type()->mutable_tensortype()->mutable_dimensions(1)
             ->mutable_constant()->set_size(16);
       }, "is declared tensor<fp16, [64, 16, 3, 3]>"},
      {"output dtype", p4, [&](spec::Model& m, PackageFiles&) {
         first_op(m, lut_op).mutable_outputs(0)->mutable_type()->mutable_tensortype()->set_datatype(mil::FLOAT32);
       }, "is declared tensor<fp32"},
      {"truncated indices record", p4, [&](spec::Model&, PackageFiles& f) {
         put_u64(f.weights, 64 + 8, 9215);  // size_bytes; the byte left out becomes alignment gap
         f.weights[128 + 9215] = 0;
       }, "holds 9215 bytes, the type needs 9216"},
      {"uint4 padding bits", p4, [&](spec::Model&, PackageFiles& f) {
         put_u64(f.weights, 64 + 24, 4);  // would say 18431 indices
         f.weights[128 + 9215] &= 0x0f;
       }, "declares 4 padding bits, the type needs 0"},
      {"nonzero padding nibble", p4, [&](spec::Model&, PackageFiles& f) {
         put_u64(f.weights, 64 + 24, 4);
         f.weights[128 + 9215] |= 0xf0;
       }, "padding bits of the last data byte are not 0"},
      {"padding bits on fp16 data", p4, [&](spec::Model&, PackageFiles& f) {
         put_u64(f.weights, 9344 + 24, 4);  // the LUT record
       }, "padding bits do not fit fp16 data"},
      {"input bound by name", p4, [&](spec::Model& m, PackageFiles&) {
         auto& args = (*first_op(m, lut_op).mutable_inputs())["indices"];
         args.Clear();
         args.add_arguments()->set_name("latent");
       }, "input indices must be bound to one value"},
      {"constexpr output feeding a bias", p4, [&](spec::Model& m, PackageFiles&) {
         const std::string w = first_op(m, lut_op).outputs(0).name();
         (*first_op(m, "conv").mutable_inputs())["bias"].mutable_arguments(0)->set_name(w);
       }, "may only be a conv weight"},
      {"iOS17 opset", p4, [&](spec::Model& m, PackageFiles&) {
         m.set_specificationversion(8);
         mil::Function& fn = m.mutable_mlprogram()->mutable_functions()->at("main");
         fn.set_opset("CoreML7");
         mil::Block block = fn.block_specializations().at("CoreML8");
         fn.mutable_block_specializations()->clear();
         (*fn.mutable_block_specializations())["CoreML7"] = block;
       }, "an iOS18 op in a program of opset CoreML7"},
      // constexpr_blockwise_shift_scale: the scale's block shape, rank and dtype; data's dtype.
      {"scale block shape", i8, [&](spec::Model& m, PackageFiles&) {
         bind(first_op(m, scale_op), "scale", immediate(mil::FLOAT16, {3, 1, 1, 1}));
       }, "does not divide data [64, 32, 3, 3] into whole blocks"},
      {"scale rank", i8, [&](spec::Model& m, PackageFiles&) {
         bind(first_op(m, scale_op), "scale", immediate(mil::FLOAT16, {64, 1, 1}));
       }, "must have the rank of data"},
      {"scale dtype", i8, [&](spec::Model& m, PackageFiles&) {
         bind(first_op(m, scale_op), "scale", immediate(mil::INT8, {64, 1, 1, 1}));
       }, "scale must be fp16 or fp32"},
      {"offset shape", i8, [&](spec::Model& m, PackageFiles&) {
         bind(first_op(m, scale_op), "offset", immediate(mil::FLOAT16, {1, 1, 1, 1}));
       }, "must have the shape of scale"},
      {"data blob dtype", i8, [&](spec::Model& m, PackageFiles&) {
         (*first_op(m, scale_op).mutable_inputs())["data"].mutable_arguments(0)->mutable_value()->mutable_type()
             ->mutable_tensortype()->set_datatype(mil::UINT8);
       }, "holds int8 data"},
      {"data vs output shape", i8, [&](spec::Model& m, PackageFiles&) {
         first_op(m, scale_op).mutable_outputs(0)->mutable_type()->mutable_tensortype()->mutable_dimensions(0)
             ->mutable_constant()->set_size(32);
       }, "is declared tensor<fp16, [32, 32, 3, 3]>"},
  };
  for (WeightCompression w : {p4, i8}) {
    auto valid = parse_package("pkg", files_of(compressed_package(w)));
    ASSERT_TRUE(valid.ok()) << valid.status().message();
  }
  for (const Edit& e : edits) {
    SCOPED_TRACE(e.what);
    const PackageContents& p = compressed_package(e.weights);
    spec::Model m = p.model;
    PackageFiles f = files_of(p);
    e.edit(m, f);
    ASSERT_TRUE(m.SerializeToString(&f.model));
    auto result = parse_package("pkg", f);
    ASSERT_FALSE(result.ok());
    EXPECT_THAT(result.status().message(), HasSubstr(e.expected));
  }
}

}  // namespace

// Core ML export: the bit-exact FLUX.2 weight.bin, and every written package read back through
// taec's own validating reader (manifest, protobuf, blob references, op output types).
#include <gmock/gmock.h>

#include <filesystem>

#include "base/sha256.h"
#include "export/coreml/mil_builder.h"
#include "export/coreml/package_reader.h"
#include "export/coreml/package_writer.h"
#include "graph/model.h"
#include "test_util.h"

namespace {

using namespace taec::coreml;
using ::testing::HasSubstr;

// The weight.bin the reference coremltools pipeline wrote for the FLUX.2 decoder at every size
// (shared docs COREML.md section 4).
constexpr const char* kTaef2WeightSha256 = "d9d30f8c992b265b3a08c19e2bcadff8da06fb3f2f96bb2dd7b8ee01c1519058";
constexpr size_t kTaef2WeightBytes = 2683200;
constexpr uint32_t kTaef2Blobs = 80;

std::shared_ptr<const taec::Model> load(const std::string& file) {
  auto model = taec::load_model(taec_test::model_path(file), taec::LoadRequest{});
  EXPECT_TRUE(model.ok()) << model.status().message();
  return model.ok() ? *model : nullptr;
}

std::vector<ImageSize> square_sizes(std::initializer_list<int> sizes) {
  std::vector<ImageSize> out;
  for (int s : sizes) out.push_back({s, s});
  return out;
}

std::string sha(const std::vector<uint8_t>& bytes) { return taec::sha256_hex(bytes.data(), bytes.size()); }

uint32_t blob_count(const std::vector<uint8_t>& bytes) {
  return bytes.size() < 4 ? 0 : bytes[0] | bytes[1] << 8 | bytes[2] << 16 | static_cast<uint32_t>(bytes[3]) << 24;
}

TEST(coreml_export, Taef2WeightBinIsBitExactAtEverySize) {
  TAEC_REQUIRE_FIXTURES();
  for (const char* file : {"taef2_decoder.safetensors", "taef2_decoder.pth"}) {
    auto model = load(file);
    ASSERT_TRUE(model);
    ExportOptions options;
    options.sizes = square_sizes({768, 1024, 1280, 1536, 1792, 2048});
    auto packages = build_packages(*model, options);
    ASSERT_TRUE(packages.ok()) << packages.status().message();
    ASSERT_EQ(packages->size(), 6u);
    for (const PackageContents& p : *packages) {
      SCOPED_TRACE(std::string(file) + " " + p.name);
      EXPECT_EQ(p.weights.size(), kTaef2WeightBytes);
      EXPECT_EQ(blob_count(p.weights), kTaef2Blobs);
      EXPECT_EQ(sha(p.weights), kTaef2WeightSha256);
    }
    options.packaging = Packaging::multifunction;
    auto multi = build_packages(*model, options);
    ASSERT_TRUE(multi.ok()) << multi.status().message();
    ASSERT_EQ(multi->size(), 1u);
    EXPECT_EQ(sha(multi->front().weights), kTaef2WeightSha256) << "multifunction, " << file;
  }
}

struct Case {
  const char* name;
  const char* file;
  Packaging packaging;
  bool nhwc, fp32_io;
  std::vector<ImageSize> sizes;
};

std::vector<Case> cases() {
  return {
      {"taef2_per_size_nhwc_fp16", "taef2_decoder.safetensors", Packaging::per_size, true, false, square_sizes({64, 768})},
      {"taef2_multifunction", "taef2_decoder.safetensors", Packaging::multifunction, true, false,
       square_sizes({768, 1024, 1280, 1536, 1792, 2048})},
      {"taef2_nchw_fp32", "taef2_decoder.safetensors", Packaging::per_size, false, true, {{64, 128}}},
      {"taef1_per_size", "taef1_synthetic_decoder.safetensors", Packaging::per_size, true, false, square_sizes({128})},
      {"taef1_multifunction_fp32", "taef1_synthetic_decoder.safetensors", Packaging::multifunction, true, true,
       square_sizes({256, 512})},
      {"taef1_enumerated", "taef1_synthetic_decoder.safetensors", Packaging::enumerated, true, false,
       square_sizes({768, 1024, 1280})},
      {"taef2_enumerated_fp32", "taef2_decoder.safetensors", Packaging::enumerated, true, true,
       square_sizes({768, 1024, 1280, 1536, 1792, 2048})},
  };
}

// Test names and failure messages show the case name, not the struct's bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class CoremlRoundTrip : public ::testing::TestWithParam<Case> {};

// Writes the packages, reads them back and checks what the reader reports against what was built.
TEST_P(CoremlRoundTrip, WrittenPackagesReadBackValid) {
  TAEC_REQUIRE_FIXTURES();
  const Case& c = GetParam();
  auto model = load(c.file);
  ASSERT_TRUE(model);
  ExportOptions options;
  options.sizes = c.sizes;
  options.packaging = c.packaging;
  options.lowering.nhwc = c.nhwc;
  options.lowering.fp32_io = c.fp32_io;
  auto packages = build_packages(*model, options);
  ASSERT_TRUE(packages.ok()) << packages.status().message();
  const std::string dir = taec_test::temp_dir();
  const bool gn = model->variant == "taef2";
  for (const PackageContents& p : *packages) {
    const std::string path = dir + "/" + p.name + ".mlpackage";
    ASSERT_TRUE(write_package(path, p).ok());
    auto read = read_package(path);
    ASSERT_TRUE(read.ok()) << read.status().message();
    EXPECT_EQ(read->model.specificationversion(), 9);
    EXPECT_EQ(read->blobs.bytes, p.weights);
    ASSERT_EQ(read->functions.size(), p.functions.size());
    for (const std::string& f : p.functions) {
      ASSERT_TRUE(read->functions.count(f)) << f;
      const FunctionSummary& s = read->functions.at(f);
      std::map<std::string, int> h = s.op_histogram;
      EXPECT_EQ(h["conv"], gn ? 41 : 35) << f;
      EXPECT_EQ(h["transpose"], c.nhwc ? 2 : 0);
      EXPECT_EQ(h["cast"], c.fp32_io ? 2 : 0);
      EXPECT_EQ(h["batch_norm"], gn ? 3 : 0);
      EXPECT_EQ(h["upsample_nearest_neighbor"], 3);
      // Every weight blob once per function: 80 for FLUX.2 (shared mean/variance), 66 for FLUX.1.
      EXPECT_EQ(s.blob_refs, gn ? 80 : 66) << f;
      EXPECT_EQ(h["shape"], gn && c.packaging == Packaging::enumerated ? 3 : 0);
      if (gn && c.nhwc && !c.fp32_io) {  // exactly the op mix coremltools produced (446 ops)
        const std::map<std::string, int> expected = {
            {"add", 16},  {"batch_norm", 3}, {"const", 320}, {"conv", 41},   {"mul", 2},
            {"real_div", 3}, {"reduce_mean", 6}, {"relu", 34}, {"reshape", 6}, {"sqrt", 3},
            {"square", 3}, {"sub", 3},        {"tanh", 1},    {"transpose", 2}, {"upsample_nearest_neighbor", 3}};
        EXPECT_EQ(s.op_histogram, expected);
      }
    }
    if (c.packaging == Packaging::multifunction) {
      EXPECT_EQ(read->model.description().defaultfunctionname(), p.functions[0]);
      EXPECT_EQ(read->model.description().functions_size(), static_cast<int>(p.functions.size()));
    }
    if (c.packaging == Packaging::enumerated) {
      const auto& array = read->model.description().input(0).type().multiarraytype();
      EXPECT_EQ(array.enumeratedshapes().shapes_size(), static_cast<int>(c.sizes.size()));
      EXPECT_EQ(array.shape_size(), 4);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(coreml, CoremlRoundTrip, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

}  // namespace

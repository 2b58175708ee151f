// weight.bin and the package JSON formats: round trips, and each kind of lie a hostile file can
// tell is refused with a message naming the problem.
#include <cstring>
#include <functional>

#include "package/package_format.h"
#include "package/weight_file.h"
#include "test_util.h"

namespace {

using taec::DType;
using taec::RawTensor;

std::vector<taec::WeightEntry> sample_tensors() {
  RawTensor a{"1.weight", DType::f16, {4, 2, 3, 3}, std::vector<uint8_t>(4 * 2 * 9 * 2, 0x11)};
  RawTensor b{"1.bias", DType::f32, {4}, std::vector<uint8_t>(16, 0x22)};
  RawTensor c{"3.conv.0.weight", DType::f16, {1}, std::vector<uint8_t>(2, 0x33)};
  return {{a, {}}, {b, {}}, {c, {}}};
}

uint64_t get_u64(const std::vector<uint8_t>& b, size_t at) {
  uint64_t v = 0;
  std::memcpy(&v, b.data() + at, 8);
  return v;
}
void put_u64(std::vector<uint8_t>& b, size_t at, uint64_t v) { std::memcpy(b.data() + at, &v, 8); }
void put_u32(std::vector<uint8_t>& b, size_t at, uint32_t v) { std::memcpy(b.data() + at, &v, 4); }

TEST(WeightFile, RoundTripsAlignedTensors) {
  const auto tensors = sample_tensors();
  auto bytes = taec::write_weight_file(tensors);
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(std::memcmp(bytes->data(), "TAECWBIN", 8), 0);
  const uint64_t data_offset = get_u64(*bytes, 32);
  EXPECT_EQ(data_offset % 64, 0u);
  auto ck = taec::read_weight_file("w", bytes->data(), bytes->size());
  ASSERT_TRUE(ck.ok()) << ck.status().message();
  ASSERT_EQ(ck->tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(ck->tensors[i].name, tensors[i].tensor.name);
    EXPECT_EQ(ck->tensors[i].dtype, tensors[i].tensor.dtype);
    EXPECT_EQ(ck->tensors[i].shape, tensors[i].tensor.shape);
    EXPECT_EQ(ck->tensors[i].bytes, tensors[i].tensor.bytes);
  }
}

struct Lie {
  const char* name;
  std::function<void(std::vector<uint8_t>&)> mutate;
  const char* message;  // part of the expected error
};

class WeightFileLies : public ::testing::TestWithParam<Lie> {};

TEST_P(WeightFileLies, AreRefused) {
  auto written = taec::write_weight_file(sample_tensors());
  ASSERT_TRUE(written.ok());
  std::vector<uint8_t> bytes = *written;
  GetParam().mutate(bytes);
  auto ck = taec::read_weight_file("weight.bin", bytes.data(), bytes.size());
  ASSERT_FALSE(ck.ok());
  EXPECT_NE(ck.status().message().find("weight.bin"), std::string::npos) << ck.status().message();
  EXPECT_NE(ck.status().message().find(GetParam().message), std::string::npos) << ck.status().message();
}

// Index layout of the sample: entry 0 starts at 64: u32 name_bytes (8), "1.weight", u32 dtype,
// u32 rank (4), 4 x u64 dims, u64 offset, u64 bytes.
constexpr size_t kEntry0Dtype = 64 + 4 + 8, kEntry0Rank = kEntry0Dtype + 4, kEntry0Dims = kEntry0Rank + 4;
constexpr size_t kEntry0Offset = kEntry0Dims + 32, kEntry0Bytes = kEntry0Offset + 8;
// Entry 1 ("1.bias", rank 1) follows: u32, 6 name bytes, dtype, rank, 1 dim, then its offset.
constexpr size_t kEntry1Offset = kEntry0Bytes + 8 + 4 + 6 + 4 + 4 + 8;

INSTANTIATE_TEST_SUITE_P(
    All, WeightFileLies,
    ::testing::Values(Lie{"bad_magic", [](auto& b) { b[0] = 'X'; }, "no TAECWBIN header"},
                      Lie{"future_version", [](auto& b) { put_u32(b, 8, 2); }, "version 2"},
                      Lie{"truncated", [](auto& b) { b.resize(b.size() - 1); }, "truncated"},
                      Lie{"padded", [](auto& b) { b.push_back(0); }, "truncated or padded"},
                      Lie{"huge_count", [](auto& b) { put_u32(b, 12, 1u << 30); }, "over the cap"},
                      Lie{"index_past_end", [](auto& b) { put_u64(b, 24, 1ull << 40); }, "outside the file"},
                      Lie{"reserved_set", [](auto& b) { b[60] = 1; }, "reserved"},
                      Lie{"unknown_dtype", [](auto& b) { put_u32(b, kEntry0Dtype, 7); }, "unknown dtype"},
                      Lie{"rank_too_big", [](auto& b) { put_u32(b, kEntry0Rank, 99); }, "bad rank"},
                      Lie{"gigantic_dim", [](auto& b) { put_u64(b, kEntry0Dims, 1ull << 62); }, "bad shape"},
                      Lie{"bytes_disagree_with_shape", [](auto& b) { put_u64(b, kEntry0Bytes, 8); }, "does not match its shape"},
                      Lie{"unaligned_data", [](auto& b) { put_u64(b, kEntry0Offset, 8); }, "unaligned or overlapping"},
                      Lie{"data_past_end", [](auto& b) { put_u64(b, kEntry0Offset, 1ull << 32); }, "outside the file"},
                      Lie{"overlapping", [](auto& b) { put_u64(b, kEntry1Offset, 0); }, "overlapping"}),
    [](const auto& info) { return std::string(info.param.name); });

// A manifest edited one way must be refused, with a message naming the file.
void expect_manifest_refused(const std::string& edited, const char* why) {
  auto r = taec::parse_manifest("manifest.json", reinterpret_cast<const uint8_t*>(edited.data()), edited.size());
  EXPECT_FALSE(r.ok()) << why;
  if (!r.ok()) EXPECT_NE(r.status().message().find("manifest.json"), std::string::npos);
}

std::string replaced_in(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

// A taef2 manifest listing one plan of `height` x `width`.
taec::Manifest sample_manifest(int height, int width) {
  taec::Manifest m;
  m.taec_version = "0.1.0";
  m.model_name = "taef2";
  m.variant = "taef2";
  m.latent_channels = 32;
  m.source_file = "taef2_decoder.safetensors";
  m.source_sha256 = std::string(64, 'a');
  m.reference = "ref";
  m.validation_inputs = "inputs";
  taec::ManifestPlan p;
  p.height = height;
  p.width = width;
  p.file = taec::plan_file_name(height, width);
  p.validation = {0.05, true, {"random_0", 0.01, 0.001, 0.002}, {{"random_0", 0.01, 0.001, 0.002}}};
  m.plans.push_back(p);
  m.files["weight.bin"] = {100, std::string(64, 'b')};
  m.files[p.file] = {10, std::string(64, 'c')};
  return m;
}

TEST(PackageFormat, ManifestAndPlanFileRoundTrip) {
  const std::string text = taec::serialize_manifest(sample_manifest(768, 1024));
  auto back = taec::parse_manifest("manifest.json", reinterpret_cast<const uint8_t*>(text.data()), text.size());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->plans.at(0).file, "plans/768x1024.json");
  EXPECT_DOUBLE_EQ(back->plans.at(0).validation.worst.max_abs, 0.01);
  EXPECT_EQ(back->files.at("weight.bin").bytes, 100u);

  auto refused = [](const std::string& edited, const char* why) { expect_manifest_refused(edited, why); };
  auto replaced = [&](const std::string& from, const std::string& to) { return replaced_in(text, from, to); };
  refused(replaced("\"format_version\": 1", "\"format_version\": 2"), "future format");
  refused(replaced("plans/768x1024.json\",", "../../etc/passwd\","), "path escape");
  refused(replaced("\"height\": 768", "\"height\": -5"), "negative size");
  refused(replaced("\"height\": 768", "\"height\": \"768\""), "wrong type");
  refused(replaced(std::string(64, 'b'), "xyz"), "bad hash");
  refused(text.substr(0, text.size() / 2), "truncated");
  refused("[]", "not an object");
}

// An int8 package's manifest carries its activation calibration, exactly (floats survive the
// text round trip), and a calibration only goes with the int8 precision.
TEST(PackageFormat, Int8CalibrationRoundTripsExactlyAndIsChecked) {
  taec::Manifest m = sample_manifest(256, 256);
  m.precision = taec::Precision::int8;
  m.weights = "int8";
  auto cal = std::make_shared<taec::ActivationCalibration>();
  cal->inputs = "5 photos";
  cal->input_absmax = {{"18.conv.0", 3.14159274f}, {"19", 1.0e-7f}, {"7", 123456.789f}, {"9.conv.2", 0.0f}};
  m.calibration = cal;
  const std::string text = taec::serialize_manifest(m);
  auto back = taec::parse_manifest("manifest.json", reinterpret_cast<const uint8_t*>(text.data()), text.size());
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_TRUE(back->calibration);
  EXPECT_EQ(back->calibration->input_absmax, cal->input_absmax);  // bit for bit
  EXPECT_EQ(back->calibration->inputs, "5 photos");

  auto refused = [](const std::string& edited, const char* why) { expect_manifest_refused(edited, why); };
  auto replaced = [&](const std::string& from, const std::string& to) { return replaced_in(text, from, to); };
  refused(replaced("\"precision\": \"int8\"", "\"precision\": \"bf16\""), "calibration without int8");
  refused(replaced("\"calibration\"", "\"calibrashun\""), "int8 without calibration");
  refused(replaced("\"19\": 1.00000001e-07", "\"19\": -1"), "negative range");
  refused(replaced("\"19\": 1.00000001e-07", "\"19\": \"big\""), "range of the wrong type");
  refused(replaced("\"method\": \"max\"", "\"method\": \"entropy\""), "unknown method");
  refused(replaced("\"7\": 123456.789", "\"7\": 1e300"), "beyond float");
}

}  // namespace

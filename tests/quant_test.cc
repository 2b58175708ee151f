// Weight quantizers of issue 6 (src/quant): palettization (4/8-bit k-means LUTs) and int8
// per-output-channel weights. Known values, the stated error bounds, determinism, the byte format
// and its refusal of hostile records, and the error on the real taef2 / synthetic taef1 weights.
#include <gmock/gmock.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>

#include "base/half.h"
#include "graph/model.h"
#include "quant/int8_weights.h"
#include "quant/palettize.h"
#include "quant/quant_format.h"
#include "test_util.h"

namespace {

using ::testing::HasSubstr;

int64_t elems(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// Normal(0, 0.05) weights, like a trained 3x3 conv, with the seed printed on failure.
std::vector<float> random_weights(const std::vector<int64_t>& shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  std::vector<float> w(elems(shape));
  for (float& x : w) x = dist(rng);
  return w;
}

// `distinct` fp16-exact values, each repeated, shuffled, so a palette of >= `distinct` entries
// must reproduce them bit for bit.
std::vector<float> few_values(const std::vector<int64_t>& shape, int distinct, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> w(elems(shape));
  for (size_t i = 0; i < w.size(); ++i) {
    w[i] = taec::fp16_to_float(taec::float_to_fp16(0.01f * (static_cast<int>(i % distinct) - 7)));
  }
  std::shuffle(w.begin(), w.end(), rng);
  return w;
}

taec::PalettizedTensor palettize_ok(const std::vector<float>& w, const std::vector<int64_t>& shape,
                                    int bits, int64_t group) {
  auto t = taec::palettize(w.data(), shape, bits, group);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? std::move(t).value() : taec::PalettizedTensor{};
}

std::vector<uint8_t> record(const taec::QuantizedTensor& t) {
  auto bytes = std::visit([](const auto& x) { return taec::write_quantized(x); }, t);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  return bytes.ok() ? std::move(bytes).value() : std::vector<uint8_t>{};
}

// ---- palettization: known values -----------------------------------------------------------

struct LosslessCase {
  int bits;
  int distinct;
  int64_t group;
  std::vector<int64_t> shape;
};

TEST(Palettize, AtMostTwoToTheBitsDistinctValuesAreLossless) {
  const LosslessCase cases[] = {
      {4, 16, 0, {3, 5, 3, 3}},  // odd element count: exercises the padding nibble
      {4, 16, 1, {4, 8, 3, 3}},    {4, 3, 0, {2, 3, 1, 1}},
      {8, 256, 0, {16, 32, 1, 1}}, {8, 200, 2, {4, 50, 3, 3}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("bits " + std::to_string(c.bits) + " distinct " + std::to_string(c.distinct));
    const auto w = few_values(c.shape, c.distinct, 1);
    const auto t = palettize_ok(w, c.shape, c.bits, c.group);
    EXPECT_EQ(taec::dequantize(t), w);
    EXPECT_EQ(t.error.max_abs, 0.0f);
    EXPECT_EQ(t.error.rmse, 0.0);
  }
}

TEST(Palettize, ConstantAndZeroTensorsAreExact) {
  for (float value : {0.0f, 0.375f, -2.5f}) {
    for (int bits : {4, 8}) {
      const std::vector<int64_t> shape = {8, 4, 3, 3};
      const std::vector<float> w(elems(shape), value);
      const auto t = palettize_ok(w, shape, bits, 2);
      EXPECT_EQ(taec::dequantize(t), w) << value;
      EXPECT_EQ(t.error.max_abs, 0.0f);
      EXPECT_EQ(t.error.relative_rmse(), 0.0);
    }
  }
}

TEST(Palettize, SeventeenValuesAtFourBitsMergeOnePair) {
  // 0..16, each 10 times: 17 equally weighted points, 16 clusters. The best clustering merges
  // two neighbours (cost 2 * 10 * 0.5^2); whatever pair is merged, the error is exactly that.
  std::vector<float> w;
  for (int rep = 0; rep < 10; ++rep) {
    for (int v = 0; v <= 16; ++v) w.push_back(static_cast<float>(v));
  }
  const auto t = palettize_ok(w, {170}, 4, 0);
  EXPECT_EQ(t.error.max_abs, 0.5f);
  EXPECT_NEAR(t.error.rmse, std::sqrt(20 * 0.25 / 170), 1e-12);
}

TEST(Palettize, RefusesBadArguments) {
  const std::vector<float> w(4 * 9, 0.1f);
  EXPECT_THAT(taec::palettize(w.data(), {4, 1, 3, 3}, 3, 0).status().message(), HasSubstr("bits"));
  EXPECT_THAT(taec::palettize(w.data(), {4, 1, 3, 3}, 4, 3).status().message(),
              HasSubstr("divide"));
  EXPECT_EQ(taec::palettize(w.data(), {4, 0, 3, 3}, 4, 0).status().code(), taec::Code::shape);
  EXPECT_EQ(taec::palettize(w.data(), {}, 4, 0).status().code(), taec::Code::shape);
  for (float bad : {NAN, INFINITY, 70000.0f}) {
    auto v = w;
    v[5] = bad;
    EXPECT_EQ(taec::palettize(v.data(), {4, 1, 3, 3}, 8, 0).status().code(), taec::Code::nonfinite);
  }
}

TEST(Palettize, GroupsAndBitsOrderTheErrorOnRandomWeights) {
  const std::vector<int64_t> shape = {64, 64, 3, 3};
  const auto w = random_weights(shape, 7);
  const taec::QuantError t4 = palettize_ok(w, shape, 4, 0).error;
  const taec::QuantError g4 = palettize_ok(w, shape, 4, 1).error;
  const taec::QuantError t8 = palettize_ok(w, shape, 8, 0).error;
  EXPECT_LE(g4.rmse, t4.rmse) << "seed 7";
  EXPECT_LT(t8.rmse, g4.rmse) << "seed 7";
  // The Lloyd-Max quantizer of a Gaussian has relative RMSE 0.0975 at 16 levels and ~0.0065 at
  // 256 (Panter-Dite); k-means on 36864 samples should land within a few percent of that.
  EXPECT_LT(t4.relative_rmse(), 0.102) << "seed 7";
  EXPECT_LT(t8.relative_rmse(), 0.0075) << "seed 7";
}

// ---- int8 -----------------------------------------------------------------------------------

TEST(Int8Weights, KnownValuesRoundHalfAwayFromZero) {
  // Channel 0's max |w| is 127, so its scale is exactly 1 and q is round(w) itself.
  const std::vector<float> w = {127, -63.5f, 2.5f, -2.5f, 0.49f, 0, 0, 0, 0, 0};
  auto t = taec::quantize_int8(w.data(), {2, 5});
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_THAT(t->scales, ::testing::ElementsAre(1.0f, 0.0f));
  EXPECT_THAT(t->values, ::testing::ElementsAre(127, -64, 3, -3, 0, 0, 0, 0, 0, 0));
  EXPECT_EQ(t->error.max_abs, 0.5f);
}

// The stated int8 bound, channel by channel: |w - w'| <= scale_o / 2. Slack: the division, the
// product and the scale each round once (<= 4 ulps of max |w|).
void expect_int8_bound(const std::vector<float>& w, const std::vector<int64_t>& shape,
                       const std::string& label) {
  auto t = taec::quantize_int8(w.data(), shape);
  ASSERT_TRUE(t.ok()) << t.status().message();
  const auto restored = taec::dequantize(*t);
  const int64_t per_channel = elems(shape) / shape[0];
  for (int64_t o = 0; o < shape[0]; ++o) {
    float worst = 0, max_w = 0;
    for (int64_t i = o * per_channel; i < (o + 1) * per_channel; ++i) {
      worst = std::max(worst, std::fabs(w[i] - restored[i]));
      max_w = std::max(max_w, std::fabs(w[i]));
    }
    const float slack = 4 * std::numeric_limits<float>::epsilon() * max_w;
    EXPECT_LE(worst, t->scales[o] / 2 + slack) << label << " channel " << o;
  }
}

TEST(Int8Weights, ErrorPerChannelIsAtMostHalfTheScale) {
  const std::vector<int64_t> shape = {32, 16, 3, 3};
  for (uint32_t seed : {1u, 2u, 3u}) {
    auto w = random_weights(shape, seed);
    for (int i = 0; i < 144; ++i) w[5 * 144 + i] *= 1e-6f;  // a nearly dead channel
    for (int i = 0; i < 144; ++i) w[6 * 144 + i] = 0;       // a dead one
    expect_int8_bound(w, shape, "seed " + std::to_string(seed));
  }
}

TEST(Int8Weights, RefusesNonFiniteWeights) {
  std::vector<float> w(8, 0.5f);
  w[3] = NAN;
  EXPECT_EQ(taec::quantize_int8(w.data(), {2, 4}).status().code(), taec::Code::nonfinite);
}

// ---- determinism and the byte format ----------------------------------------------------------

// The methods every format and real-weight test runs: int8 when bits == 0, else a palette with
// `group` output channels per LUT (0 = per tensor; one LUT per tensor where it does not divide O).
struct MethodCase {
  const char* name;
  int bits;
  int64_t group;
};

const MethodCase kMethods[] = {
    {"int8", 0, 0},     {"palette8", 8, 0},    {"palette8_g8", 8, 8},
    {"palette4", 4, 0}, {"palette4_g1", 4, 1},
};

taec::QuantizedTensor quantize(const MethodCase& m, const std::vector<float>& w,
                               const std::vector<int64_t>& shape) {
  if (m.bits == 0) return taec::quantize_int8(w.data(), shape).value();
  const int64_t group = m.group == 0 || shape[0] % m.group == 0 ? m.group : shape[0];
  return palettize_ok(w, shape, m.bits, group);
}

std::vector<float> dequantize_any(const taec::QuantizedTensor& t) {
  return std::visit([](const auto& x) { return taec::dequantize(x); }, t);
}

TEST(QuantFormat, DeterministicAndRoundTrips) {
  const std::vector<int64_t> shape = {16, 3, 3, 3};  // 432 elements, 27 per channel (odd)
  const auto w = random_weights(shape, 11);
  for (const auto& m : kMethods) {
    SCOPED_TRACE(m.name);
    const auto bytes = record(quantize(m, w, shape));
    EXPECT_EQ(record(quantize(m, w, shape)), bytes);  // same input, same bytes
    auto back = taec::read_quantized("blob", bytes.data(), bytes.size());
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(record(*back), bytes);
    EXPECT_EQ(dequantize_any(*back), dequantize_any(quantize(m, w, shape)));
  }
}

TEST(QuantFormat, RefusesEveryTruncationAndTrailingBytes) {
  const std::vector<int64_t> shape = {16, 3, 1, 3};
  const auto w = random_weights(shape, 12);
  for (const auto& m : kMethods) {
    SCOPED_TRACE(m.name);
    auto bytes = record(quantize(m, w, shape));
    for (size_t len = 0; len < bytes.size(); ++len) {
      // A copy of exactly `len` bytes, so a read past the end is caught by ASan.
      const std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + len);
      EXPECT_FALSE(taec::read_quantized("blob", prefix.data(), prefix.size()).ok()) << len;
    }
    bytes.push_back(0);
    EXPECT_THAT(taec::read_quantized("blob", bytes.data(), bytes.size()).status().message(),
                HasSubstr("trailing"));
  }
}

void put_u(std::vector<uint8_t>& b, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

struct Corruption {
  const char* what;
  bool palette;  // which record it applies to
  std::function<void(std::vector<uint8_t>&)> apply;
  const char* message;  // a substring of the expected error
};

TEST(QuantFormat, RefusesEveryInconsistentField) {
  // Records of shape {4, 3, 1, 1} (12 elements): header 24 + 4 * 8 + 8 = 64 bytes, then payload.
  const std::vector<int64_t> shape = {4, 3, 1, 1};
  const auto w = random_weights(shape, 13);
  const auto palette = record(palettize_ok(w, shape, 4, 2));  // 2 LUTs
  const auto int8 = record(taec::quantize_int8(w.data(), shape).value());
  const size_t payload = 64;
  std::vector<float> odd_w(15, 0.0f);
  odd_w[14] = 1.0f;
  const std::vector<Corruption> cases = {
      {"magic", true, [](auto& b) { b[0] = 'X'; }, "magic"},
      {"method 0", true, [](auto& b) { b[4] = 0; }, "method"},
      {"method 3", false, [](auto& b) { b[4] = 3; }, "method"},
      {"palette bits 5", true, [](auto& b) { b[5] = 5; }, "bits"},
      {"palette bits 8 (LUT size changes)", true, [](auto& b) { b[5] = 8; }, "payload_bytes"},
      {"int8 bits 4", false, [](auto& b) { b[5] = 4; }, "bits"},
      {"reserved u16", true, [](auto& b) { b[7] = 1; }, "reserved"},
      {"reserved u32", false, [](auto& b) { b[23] = 1; }, "reserved"},
      {"rank 0", true, [](auto& b) { put_u(b, 8, 0, 4); }, "rank"},
      {"rank 9", true, [](auto& b) { put_u(b, 8, 9, 4); }, "rank"},
      {"rank 3 (dims shift)", true, [](auto& b) { put_u(b, 8, 3, 4); }, ""},
      {"rank huge", false, [](auto& b) { put_u(b, 8, 0xffffffff, 4); }, "rank"},
      {"dim 0", true, [](auto& b) { put_u(b, 32, 0, 8); }, "dim 1"},
      {"dim 2^63", false, [](auto& b) { put_u(b, 24, uint64_t{1} << 63, 8); }, "dim 0"},
      {"elements over the cap", true, [](auto& b) { put_u(b, 32, uint64_t{1} << 27, 8); }, "2^28"},
      {"dim grows (payload too short)", false, [](auto& b) { put_u(b, 32, 4, 8); },
       "payload_bytes"},
      {"group 3 does not divide O", true, [](auto& b) { put_u(b, 12, 3, 4); }, "divide"},
      {"group 8 > O", true, [](auto& b) { put_u(b, 12, 8, 4); }, "divide"},
      {"group 4 (1 LUT, table_count 2)", true, [](auto& b) { put_u(b, 12, 4, 4); }, "table_count"},
      {"int8 group 0", false, [](auto& b) { put_u(b, 12, 0, 4); }, "group_channels"},
      {"LUT count", true, [](auto& b) { put_u(b, 16, 3, 4); }, "table_count"},
      {"scale count", false, [](auto& b) { put_u(b, 16, 5, 4); }, "table_count"},
      {"payload_bytes + 1", true, [](auto& b) { put_u(b, 56, 2 * 16 * 2 + 6 + 1, 8); },
       "payload_bytes"},
      {"payload_bytes - 1", false, [](auto& b) { put_u(b, 56, 4 * 4 + 12 - 1, 8); },
       "payload_bytes"},
      {"payload_bytes huge", false, [](auto& b) { put_u(b, 56, ~uint64_t{0}, 8); },
       "payload_bytes"},
      {"LUT entry NaN", true, [](auto& b) { put_u(b, payload + 2 * 5, 0x7e00, 2); }, "Inf or NaN"},
      {"LUT entry Inf", true, [](auto& b) { put_u(b, payload + 2 * 20, 0xfc00, 2); }, "Inf or NaN"},
      {"negative scale", false, [](auto& b) { put_u(b, payload + 4, 0xbf800000u, 4); }, "scale"},
      {"NaN scale", false, [](auto& b) { put_u(b, payload, 0x7fc00000u, 4); }, "scale"},
      {"int8 value -128", false, [](auto& b) { b[payload + 16 + 7] = 0x80; }, "-128"},
  };
  for (const auto& c : cases) {
    auto bytes = c.palette ? palette : int8;
    c.apply(bytes);
    auto got = taec::read_quantized("blob", bytes.data(), bytes.size());
    ASSERT_FALSE(got.ok()) << c.what;
    EXPECT_THAT(got.status().message(), HasSubstr(c.message)) << c.what;
    EXPECT_THAT(got.status().message(), HasSubstr("blob")) << c.what;
  }
  // 15 elements at 4 bits: the high nibble of the 8th index byte is padding and must be 0.
  auto odd = record(palettize_ok(odd_w, {15}, 4, 0));
  ASSERT_TRUE(taec::read_quantized("blob", odd.data(), odd.size()).ok());
  odd.back() |= 0x10;
  EXPECT_THAT(taec::read_quantized("blob", odd.data(), odd.size()).status().message(),
              HasSubstr("padding nibble"));
}

TEST(QuantFormat, SurvivesEverySingleByteFlipOfTheHeader) {
  // Not every flip is an error (a flipped index or LUT bit is a different valid tensor), but none
  // may crash, and whatever parses must pass its own check and write back to the same bytes.
  const std::vector<int64_t> shape = {16, 3, 1, 3};
  const auto w = random_weights(shape, 14);
  for (const auto& m : kMethods) {
    const auto good = record(quantize(m, w, shape));
    for (size_t at = 0; at < 64 + 8; ++at) {
      for (uint8_t flip : {0x01, 0x80, 0xff}) {
        auto bytes = good;
        bytes[at] ^= flip;
        auto got = taec::read_quantized("blob", bytes.data(), bytes.size());
        if (got.ok()) {
          EXPECT_EQ(record(*got), bytes) << m.name << " byte " << at;
        }
      }
    }
  }
}

TEST(QuantFormat, WriterRefusesInconsistentTensors) {
  taec::PalettizedTensor p = palettize_ok(std::vector<float>(8, 1.0f), {2, 4}, 4, 0);
  p.luts.pop_back();
  EXPECT_EQ(taec::write_quantized(p).status().code(), taec::Code::invalid_argument);
  const std::vector<float> ones(8, 1.0f);
  auto q = taec::quantize_int8(ones.data(), {2, 4}).value();
  q.scales.push_back(1);
  EXPECT_EQ(taec::write_quantized(q).status().code(), taec::Code::invalid_argument);
}

// ---- the real weights -----------------------------------------------------------------------

// The conv weights (rank 4) of a model; biases stay unquantized.
std::vector<const taec::Weight*> conv_weights(const taec::Model& model) {
  std::vector<const taec::Weight*> out;
  for (const auto& w : model.graph.weights) {
    if (w.shape.size() == 4) out.push_back(&w);
  }
  return out;
}

struct ModelBound {
  const char* file;
  // Worst per-tensor relative RMSE allowed, per entry of kMethods (measured values: below).
  double worst_relative_rmse[5];
};

TEST(QuantRealWeights, StayWithinTheirStatedError) {
  TAEC_REQUIRE_FIXTURES();
  // Measured worst per-tensor relative RMSE (both models): int8 0.0234, palette8 0.0096,
  // palette8_g8 0.0069, palette4 0.188, palette4_g1 0.117. Bounds: those plus ~25%.
  const ModelBound bounds[] = {
      {"taef2_decoder.safetensors", {0.03, 0.012, 0.009, 0.23, 0.15}},
      {"taef1_synthetic_decoder.safetensors", {0.03, 0.012, 0.009, 0.23, 0.15}},
  };
  for (const auto& b : bounds) {
    auto model = taec::load_model(taec_test::model_path(b.file), taec::LoadRequest{});
    ASSERT_TRUE(model.ok()) << model.status().message();
    const auto weights = conv_weights(**model);
    ASSERT_GT(weights.size(), 10u);
    std::printf("%s: %zu conv weights\n%-12s %10s %10s %7s %10s %10s %10s\n", b.file,
                weights.size(), "method", "bytes", "fp16", "ratio", "worst_rrmse", "mean_rrmse",
                "max_abs");
    for (size_t mi = 0; mi < std::size(kMethods); ++mi) {
      const auto& m = kMethods[mi];
      size_t bytes = 0, fp16_bytes = 0;
      double worst = 0, sum = 0;
      float max_abs = 0;
      for (const taec::Weight* w : weights) {
        const auto q = quantize(m, w->data, w->shape);
        const auto error = std::visit([](const auto& x) { return x.error; }, q);
        // The stated error is what dequantize() gives back.
        const auto restored = dequantize_any(q);
        EXPECT_EQ(taec::measure_quant_error(w->data.data(), restored.data(), restored.size()).rmse,
                  error.rmse);
        bytes += record(q).size();
        fp16_bytes += 2 * w->data.size();
        worst = std::max(worst, error.relative_rmse());
        sum += error.relative_rmse();
        max_abs = std::max(max_abs, error.max_abs);
        EXPECT_LE(error.relative_rmse(), b.worst_relative_rmse[mi])
            << b.file << " " << m.name << " " << w->name;
      }
      std::printf("%-12s %10zu %10zu %7.3f %10.5f %10.5f %10.6f\n", m.name, bytes, fp16_bytes,
                  static_cast<double>(bytes) / fp16_bytes, worst, sum / weights.size(), max_abs);
    }
  }
}

TEST(QuantRealWeights, Int8ErrorPerChannelIsAtMostHalfTheScale) {
  TAEC_REQUIRE_FIXTURES();
  auto model =
      taec::load_model(taec_test::model_path("taef2_decoder.safetensors"), taec::LoadRequest{});
  ASSERT_TRUE(model.ok()) << model.status().message();
  for (const taec::Weight* w : conv_weights(**model)) expect_int8_bound(w->data, w->shape, w->name);
}

TEST(QuantRealWeights, PerGroupErrorIsAtMostPerTensorError) {
  TAEC_REQUIRE_FIXTURES();
  auto model =
      taec::load_model(taec_test::model_path("taef2_decoder.safetensors"), taec::LoadRequest{});
  ASSERT_TRUE(model.ok()) << model.status().message();
  for (const taec::Weight* w : conv_weights(**model)) {
    for (int bits : {4, 8}) {
      const double per_tensor = palettize_ok(w->data, w->shape, bits, 0).error.rmse;
      for (int64_t group : {1, 2}) {
        if (w->shape[0] % group) continue;
        EXPECT_LE(palettize_ok(w->data, w->shape, bits, group).error.rmse, per_tensor)
            << w->name << " bits " << bits << " group " << group;
      }
    }
  }
}

}  // namespace

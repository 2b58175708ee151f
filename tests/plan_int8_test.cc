// The int8 precision: the VNNI kernels against the portable oracle (bit for bit: the sums are
// exact integers and the epilogue is one fma everywhere), the calibration's determinism, and
// int8 plans against the fp32 plan and the golden decoder outputs within the documented int8
// tolerance.
#include <cstring>
#include <random>

#include <filesystem>

#include "base/cpu.h"
#include "io/npy.h"
#include "quality/calibrate.h"
#include "graph/model.h"
#include "kernels/conv/conv_int8.h"
#include "plan/calibration.h"
#include "plan/plan.h"
#include "test_util.h"

namespace {

struct KernelCase {
  int kh, cin, cout, pixels;
  size_t out_px_step_factor;  // 2: an upsample phase writes every other output pixel
  bool bias, residual, relu;
  int zero_point = 0;
};

// Runs one row through both kernel sets on the same random data and compares bitwise.
void compare_kernels(const KernelCase& c, std::mt19937& rng) {
  const int kw = c.kh, taps = c.kh * kw;
  std::uniform_int_distribution<int> u8(0, 255), s8(-127, 127);
  std::uniform_real_distribution<float> f(-2.0f, 2.0f), pos(1e-5f, 1e-2f);
  std::vector<std::vector<uint8_t>> rows(c.kh, std::vector<uint8_t>(static_cast<size_t>(c.pixels + kw) * c.cin));
  for (auto& r : rows)
    for (auto& v : r) v = static_cast<uint8_t>(u8(rng));
  std::vector<int8_t> ohwi(static_cast<size_t>(c.cout) * taps * c.cin);
  for (auto& w : ohwi) w = static_cast<int8_t>(s8(rng));
  const std::vector<int8_t> packed = taec::pack_conv_weights_i8(ohwi.data(), c.cout, c.kh, kw, c.cin);
  std::vector<float> scale(c.cout), bias(c.cout);
  std::vector<int32_t> zp_sum(c.cout, 0);
  for (int i = 0; i < c.cout; ++i) {
    scale[i] = pos(rng);
    bias[i] = f(rng);
    for (int k = 0; k < taps * c.cin; ++k) zp_sum[i] += c.zero_point * ohwi[static_cast<size_t>(i) * taps * c.cin + k];
  }
  const size_t out_step = c.out_px_step_factor * c.cout;
  std::vector<float> residual(out_step * c.pixels);
  for (auto& v : residual) v = f(rng);
  taec::ConvRowI8Args a{};
  for (int k = 0; k < c.kh; ++k) a.rows[k] = rows[k].data();
  a.kh = c.kh;
  a.kw = kw;
  a.in_px_step = a.tap_step = c.cin;
  a.cin = c.cin;
  a.cout = c.cout;
  a.weights = packed.data();
  a.scale = scale.data();
  a.zero_point_sum = c.zero_point ? zp_sum.data() : nullptr;
  a.bias = c.bias ? bias.data() : nullptr;
  a.residual = c.residual ? residual.data() : nullptr;
  a.out_px_step = out_step;
  a.pixels = c.pixels;
  a.relu = c.relu;
  std::vector<float> fast(out_step * c.pixels, -7.0f), oracle(fast), plain(fast);
  a.out = fast.data();
  taec::avx512_vnni::kConvI8Kernels.conv_row(a);
  a.out = oracle.data();
  taec::portable::kConvI8Kernels.conv_row(a);
  ASSERT_EQ(std::memcmp(fast.data(), oracle.data(), fast.size() * sizeof(float)), 0)
      << "k" << c.kh << " cin " << c.cin << " cout " << c.cout << " pixels " << c.pixels;
  // And the oracle itself against a plain double sum of the unpacked weights.
  for (int j = 0; j < c.pixels; ++j) {
    for (int co = 0; co < c.cout; ++co) {
      long long acc = 0;
      for (int ky = 0; ky < c.kh; ++ky)
        for (int kx = 0; kx < kw; ++kx)
          for (int ci = 0; ci < c.cin; ++ci)
            acc += (static_cast<long long>(rows[ky][(j + kx) * c.cin + ci]) - c.zero_point) * ohwi[((static_cast<size_t>(co) * c.kh + ky) * kw + kx) * c.cin + ci];
      double want = static_cast<double>(acc) * scale[co] + (c.bias ? bias[co] : 0.0);
      if (c.residual) want += residual[j * out_step + co];
      if (c.relu && want < 0) want = 0;
      ASSERT_NEAR(oracle[j * out_step + co], want, 1e-4 * (1 + std::fabs(want)));
    }
  }
  // Pixels between an upsample phase's outputs are left alone.
  if (c.out_px_step_factor == 2) EXPECT_EQ(fast[c.cout], -7.0f);
}

TEST(Int8Kernels, VnniMatchesPortableBitwise) {
  if (!taec::has_avx512_vnni()) GTEST_SKIP() << "no AVX512_VNNI on this CPU";
  std::mt19937 rng(11);
  for (int pixels : {1, 5, 6, 7, 13}) {
    compare_kernels({3, 64, 64, pixels, 1, true, true, true}, rng);
    compare_kernels({2, 64, 64, pixels, 2, true, false, true}, rng);
    compare_kernels({1, 64, 256, pixels, 1, false, false, false}, rng);
    compare_kernels({3, 64, 3, pixels, 1, true, false, false}, rng);
    compare_kernels({3, 8, 48, pixels, 1, true, true, false}, rng);
    compare_kernels({3, 4, 16, pixels, 1, false, true, true}, rng);
    compare_kernels({3, 64, 64, pixels, 1, true, false, true, 128}, rng);
    compare_kernels({3, 64, 3, pixels, 1, true, false, false, 128}, rng);
  }
}

TEST(Int8Kernels, QuantizeRowMatchesPortable) {
  if (!taec::has_avx512_vnni()) GTEST_SKIP() << "no AVX512_VNNI on this CPU";
  std::vector<float> src = {0.0f, -1.0f, 0.5f, 1.5f, 2.5f, 254.49f, 254.5f, 255.5f, 1e30f, -1e30f, NAN, 3.7f, 100.25f, 7.5f, 8.5f, 0.49999997f};
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> f(-10.0f, 300.0f);
  for (int i = 0; i < 37; ++i) src.push_back(f(rng));  // a masked tail
  std::vector<uint8_t> fast(src.size()), oracle(src.size());
  taec::avx512_vnni::kConvI8Kernels.quantize_row(src.data(), src.size(), 1.0f, 0.0f, fast.data());
  taec::portable::kConvI8Kernels.quantize_row(src.data(), src.size(), 1.0f, 0.0f, oracle.data());
  EXPECT_EQ(fast, oracle);
  std::vector<uint8_t> fast128(src.size()), oracle128(src.size());
  taec::avx512_vnni::kConvI8Kernels.quantize_row(src.data(), src.size(), 0.37f, 128.0f, fast128.data());
  taec::portable::kConvI8Kernels.quantize_row(src.data(), src.size(), 0.37f, 128.0f, oracle128.data());
  EXPECT_EQ(fast128, oracle128);
  EXPECT_EQ(oracle128[0], 128);  // 0 is the zero point
  EXPECT_EQ(oracle[2], 0);    // 0.5 rounds to even
  EXPECT_EQ(oracle[3], 2);    // 1.5 too
  EXPECT_EQ(oracle[4], 2);
  EXPECT_EQ(oracle[8], 255);  // saturates
  EXPECT_EQ(oracle[9], 0);
  EXPECT_EQ(oracle[10], 0);   // NaN
}

std::shared_ptr<const taec::Model> load(const std::string& file) {
  auto model = taec::load_model(taec_test::model_path(file), {});
  EXPECT_TRUE(model.ok()) << model.status().message();
  return model.ok() ? model.value() : nullptr;
}

// Latents at the contract's typical scale, seeded.
std::vector<std::vector<float>> latents(const taec::Model& m, int h, int w, int count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 0.8f);
  std::vector<std::vector<float>> out(count, std::vector<float>(static_cast<size_t>(m.latent_channels) * (h / 8) * (w / 8)));
  for (auto& l : out)
    for (auto& v : l) v = n(rng);
  return out;
}

TEST(Int8Calibration, DeterministicAndThreadIndependent) {
  TAEC_REQUIRE_FIXTURES();
  auto model = load("taef2_decoder.safetensors");
  const auto inputs = latents(*model, 64, 96, 2, 5);
  auto a = taec::calibrate_activations(model, inputs, 64, 96, 2);
  auto b = taec::calibrate_activations(model, inputs, 64, 96, 1);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().message();
  EXPECT_EQ(a->input_absmax, b->input_absmax);
  EXPECT_GT(a->input_absmax.size(), 20u);  // every conv of the decoder
  for (const auto& [name, max] : a->input_absmax) EXPECT_GE(max, 0.0f) << name;
  // The max over two inputs is the max of each input's max.
  auto first = taec::calibrate_activations(model, {inputs[0]}, 64, 96, 2);
  auto second = taec::calibrate_activations(model, {inputs[1]}, 64, 96, 2);
  ASSERT_TRUE(first.ok() && second.ok());
  for (const auto& [name, max] : a->input_absmax) EXPECT_EQ(max, std::max(first->input_absmax.at(name), second->input_absmax.at(name))) << name;
}

TEST(Int8Plan, NeedsACalibrationThatCoversEveryConv) {
  TAEC_REQUIRE_FIXTURES();
  auto model = load("taef2_decoder.safetensors");
  taec::PlanOptions o;
  o.image_height = o.image_width = 64;
  o.precision = taec::Precision::int8;
  auto missing = taec::compile_plan(model, o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("calibration"), std::string::npos) << missing.status().message();
  auto partial = std::make_shared<taec::ActivationCalibration>();
  partial->input_absmax["18.conv.0"] = 1.0f;
  o.calibration = partial;
  auto incomplete = taec::compile_plan(model, o);
  ASSERT_FALSE(incomplete.ok());
  EXPECT_NE(incomplete.status().message().find("has no range for conv"), std::string::npos) << incomplete.status().message();
}

// Calibrated on the five shared photos at 128x128 (the product default is 512; the ranges move
// little and the test stays fast under the sanitizers), as a user's package would be.
std::shared_ptr<const taec::ActivationCalibration> photo_calibration(const std::shared_ptr<const taec::Model>& decoder,
                                                                     const std::string& encoder_file) {
  auto encoder = load(encoder_file);
  std::vector<std::string> photos;
  for (const auto& e : std::filesystem::directory_iterator(std::string(TAEC_TEST_SHARED_DIR) + "/images")) {
    const std::string ext = e.path().extension().string();
    if (ext == ".png" || ext == ".jpg") photos.push_back(e.path().string());
  }
  std::sort(photos.begin(), photos.end());
  auto cal = taec::calibrate_on_photos(decoder, *encoder, photos, 128, 2);
  EXPECT_TRUE(cal.ok()) << cal.status().message();
  return cal.ok() ? std::make_shared<const taec::ActivationCalibration>(std::move(cal).value()) : nullptr;
}

// The documented int8 tolerance (docs/QUANTIZATION.md): measured worst max |err| on the golden
// decoder cases with margin.
constexpr float kInt8GoldenTolerance = 0.25f;

TEST(Int8Plan, GoldenDecoderCasesWithinInt8Tolerance) {
  TAEC_REQUIRE_FIXTURES();
  for (const char* model_name : {"taef2", "taef1_synthetic"}) {
    auto model = load(std::string(model_name) + "_decoder.safetensors");
    auto cal = photo_calibration(model, std::string(model_name) + "_encoder.safetensors");
    ASSERT_TRUE(cal);
    const std::string dir = taec_test::golden_dir() + "/" + model_name;
    for (const char* name : {"dec_astronaut_32x32", "dec_rand_32x32", "dec_rand_24x40"}) {
      auto input = taec::read_npy(dir + "/" + name + ".input.npy");
      auto want = taec::read_npy(dir + "/" + name + ".output.npy");
      ASSERT_TRUE(input.ok() && want.ok());
      taec::PlanOptions o;
      o.image_height = static_cast<int>(input->shape[2]) * 8;
      o.image_width = static_cast<int>(input->shape[3]) * 8;
      o.precision = taec::Precision::int8;
      o.calibration = cal;
      o.threads = 2;
      auto plan = taec::compile_plan(model, o);
      ASSERT_TRUE(plan.ok()) << plan.status().message();
      std::vector<float> out((*plan)->shapes().output_elems());
      ASSERT_TRUE((*plan)->run(input->data.data(), out.data()).ok());
      const float err = taec_test::max_abs_diff(out.data(), want->data.data(), out.size());
      double sq = 0;
      for (size_t i = 0; i < out.size(); ++i) sq += double(out[i] - want->data[i]) * (out[i] - want->data[i]);
      std::printf("  int8 %s/%s: max |err| %.4f, RMSE %.4f\n", model_name, name, err, std::sqrt(sq / out.size()));
      EXPECT_LE(err, kInt8GoldenTolerance) << model_name << "/" << name;
      int int8_convs = 0;
      for (const auto& op : (*plan)->stats().ops) int8_convs += op.kind.find("_int8") != std::string::npos;
      EXPECT_GE(int8_convs, 20) << "most convolutions should run in int8";
      // Quantizing in the producers' epilogues (u8 shadows) changes nothing, bitwise.
      o.int8_no_shadows = true;
      auto plain = taec::compile_plan(model, o);
      ASSERT_TRUE(plain.ok());
      std::vector<float> plain_out(out.size());
      ASSERT_TRUE((*plain)->run(input->data.data(), plain_out.data()).ok());
      EXPECT_EQ(std::memcmp(out.data(), plain_out.data(), out.size() * sizeof(float)), 0) << model_name << "/" << name;
      // Rows only int8 convs read are held as u8 alone: a quarter of the memory.
      EXPECT_LT((*plan)->stats().arena_bytes, (*plain)->stats().arena_bytes * 3 / 4) << "the u8 rings should replace fp32 rows";
    }
  }
}

}  // namespace

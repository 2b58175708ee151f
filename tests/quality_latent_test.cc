// src/quality/latent_contract: the contract table, the FLUX.2 packed-latent adapter and the
// latent sanity warnings.
#include <gmock/gmock.h>

#include <cmath>
#include <limits>
#include <vector>

#include "io/npy.h"
#include "quality/latent_contract.h"
#include "test_util.h"

namespace {

using ::testing::HasSubstr;

TEST(LatentContract, TableDescribesEveryVariant) {
  struct Want {
    const char* variant;
    int channels;
    int packed;
  };
  for (const Want& w : {Want{"taesd", 4, 0}, Want{"taesdxl", 4, 0}, Want{"taesd3", 16, 0}, Want{"taef1", 16, 0},
                        Want{"taef2", 32, 128}}) {
    const taec::LatentContract* c = taec::find_latent_contract(w.variant);
    ASSERT_NE(c, nullptr) << w.variant;
    EXPECT_EQ(c->latent_channels, w.channels) << w.variant;
    EXPECT_EQ(c->spatial_factor, 8);
    EXPECT_EQ(c->scale, 1.0f);  // TAE latents: no VAE scaling, no shift
    EXPECT_EQ(c->shift, 0.0f);
    EXPECT_EQ(c->image_min, 0.0f);
    EXPECT_EQ(c->image_max, 1.0f);
    EXPECT_EQ(c->packed_channels, w.packed) << w.variant;
  }
  const taec::LatentContract* f2 = taec::find_latent_contract("taef2");
  EXPECT_EQ(f2->packed_factor, 16);
  EXPECT_EQ(f2->patch, 2);
  EXPECT_EQ(f2->packed_channels, 4 * f2->latent_channels);
  EXPECT_EQ(taec::find_latent_contract("sdxl-vae"), nullptr);
}

// Each packed value encodes where it must land: channel c, row Y, column X of the unpacked latent
// as c*10000 + Y*100 + X. The packed tensor is built by hand from the rule
// packed[4c + 2py + px][y][x] = latent[c][2y + py][2x + px].
TEST(LatentContract, UnpackPlacesEveryPackedValue) {
  constexpr int C = 3, h = 2, w = 3, PC = 4 * C;
  for (bool nhwc : {false, true}) {
    std::vector<float> packed(PC * h * w);
    for (int c = 0; c < C; ++c) {
      for (int py = 0; py < 2; ++py) {
        for (int px = 0; px < 2; ++px) {
          for (int y = 0; y < h; ++y) {
            for (int x = 0; x < w; ++x) {
              const int pc = 4 * c + 2 * py + px;
              const size_t at = nhwc ? (y * w + x) * PC + pc : (pc * h + y) * w + x;
              packed[at] = static_cast<float>(c * 10000 + (2 * y + py) * 100 + (2 * x + px));
            }
          }
        }
      }
    }
    std::vector<float> out(packed.size(), -1.0f);
    ASSERT_TRUE(taec::unpack_flux2_packed(packed.data(), PC, h, w, nhwc, out.data()).ok());
    for (int c = 0; c < C; ++c) {
      for (int Y = 0; Y < 2 * h; ++Y) {
        for (int X = 0; X < 2 * w; ++X) {
          const size_t at = nhwc ? (Y * 2 * w + X) * C + c : (c * 2 * h + Y) * 2 * w + X;
          EXPECT_EQ(out[at], c * 10000 + Y * 100 + X) << "nhwc " << nhwc << " c " << c << " y " << Y << " x " << X;
        }
      }
    }
  }
  // Spot check against the layout written out: packed channel 4*1 + 2*1 + 0 = 6 at (0, 1) holds
  // latent channel 1 at (1, 2).
  std::vector<float> packed(PC * h * w, 0.0f), out(PC * h * w);
  packed[(6 * h + 0) * w + 1] = 42.0f;
  ASSERT_TRUE(taec::unpack_flux2_packed(packed.data(), PC, h, w, false, out.data()).ok());
  EXPECT_EQ(out[(1 * 2 * h + 1) * 2 * w + 2], 42.0f);
}

TEST(LatentContract, PackThenUnpackIsTheIdentity) {
  constexpr int C = 32, H = 6, W = 10;
  std::vector<float> latent(C * H * W), packed(latent.size()), back(latent.size());
  for (size_t i = 0; i < latent.size(); ++i) latent[i] = static_cast<float>(i) * 0.5f - 7.0f;
  for (bool nhwc : {false, true}) {
    ASSERT_TRUE(taec::pack_flux2_latent(latent.data(), C, H, W, nhwc, packed.data()).ok());
    ASSERT_TRUE(taec::unpack_flux2_packed(packed.data(), 4 * C, H / 2, W / 2, nhwc, back.data()).ok());
    EXPECT_EQ(back, latent) << "nhwc " << nhwc;
  }
}

TEST(LatentContract, AdapterRefusesImpossibleShapes) {
  std::vector<float> buf(64);
  EXPECT_EQ(taec::unpack_flux2_packed(buf.data(), 6, 2, 2, false, buf.data()).code(), taec::Code::shape);
  EXPECT_EQ(taec::pack_flux2_latent(buf.data(), 4, 3, 2, false, buf.data()).code(), taec::Code::shape);
}

// A latent drawn like a real one (std 0.8, mean 0) raises nothing; each mistake raises the
// warning that names it.
class LatentSanity : public ::testing::Test {
 protected:
  static constexpr int C = 32, H = 8, W = 8;
  std::vector<float> plausible() const {
    std::vector<float> v(C * H * W);
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = (i % 2 ? 0.8f : -0.8f) * (1.0f + 0.1f * (static_cast<int>((i / 2) % 3) - 1));
    return v;
  }
  std::vector<std::string> check(const std::vector<float>& v, bool nhwc = false) const {
    return taec::latent_sanity(*taec::find_latent_contract("taef2"), v.data(), C, H, W, nhwc);
  }
};

TEST_F(LatentSanity, PlausibleLatentRaisesNothing) { EXPECT_TRUE(check(plausible()).empty()); }

TEST_F(LatentSanity, NanAndInfAreCountedAndLocated) {
  auto v = plausible();
  v[(5 * H + 2) * W + 3] = std::numeric_limits<float>::quiet_NaN();
  v[(7 * H + 0) * W + 0] = std::numeric_limits<float>::infinity();
  const auto w = check(v);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0], HasSubstr("1 NaN and 1 Inf"));
  EXPECT_THAT(w[0], HasSubstr("channel 5, y 2, x 3"));
  // The same position read as NHWC: index (y*W + x)*C + c.
  auto n = plausible();
  n[(2 * W + 3) * C + 5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THAT(check(n, true).at(0), HasSubstr("channel 5, y 2, x 3"));
}

TEST_F(LatentSanity, VaeScalingAppliedIsNamed) {
  auto v = plausible();
  for (float& x : v) x *= 0.3611f;  // FLUX.1's scaling_factor applied by mistake
  const auto w = check(v);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0], HasSubstr("implausibly small"));
  EXPECT_THAT(w[0], HasSubstr("scaling_factor"));
}

TEST_F(LatentSanity, HugeValuesAndOffsetsAreNamed) {
  auto v = plausible();
  for (float& x : v) x = x * 40 + 3;  // pixels-like scale, offset mean
  const auto w = check(v);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_THAT(w[0], HasSubstr("implausibly large"));
  EXPECT_THAT(w[1], HasSubstr("mean 3"));
  EXPECT_THAT(w[2], HasSubstr("tanh"));
}

TEST_F(LatentSanity, ConstantLatentIsNamed) {
  std::vector<float> v(C * H * W, 0.0f);
  const auto w = check(v);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0], HasSubstr("constant"));
}

// `taec decode --input flux2-packed` on the packed form of a golden latent decodes to exactly the
// same output as the unpacked latent, in both layouts; without the flag, a packed-looking input
// gets a warning that names the flag.
TEST(LatentContractCli, DecodeUnpacksFlux2PackedInput) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  auto latent = taec::read_npy(taec_test::golden_dir() + "/taef2/dec_rand_24x40.input.npy");  // [1,32,24,40]
  ASSERT_TRUE(latent.ok()) << latent.status().message();
  ASSERT_EQ(latent->shape, (std::vector<int64_t>{1, 32, 24, 40}));
  std::vector<float> packed(latent->data.size());
  ASSERT_TRUE(taec::pack_flux2_latent(latent->data.data(), 32, 24, 40, false, packed.data()).ok());
  ASSERT_TRUE(taec::write_npy(dir + "/packed.npy", packed.data(), {1, 128, 12, 20}, false).ok());
  // The NHWC packed form [1,12,20,128].
  std::vector<float> packed_nhwc(packed.size());
  for (int c = 0; c < 128; ++c) {
    for (int i = 0; i < 12 * 20; ++i) packed_nhwc[i * 128 + c] = packed[c * 240 + i];
  }
  ASSERT_TRUE(taec::write_npy(dir + "/packed_nhwc.npy", packed_nhwc.data(), {1, 12, 20, 128}, false).ok());

  auto plain = taec_test::run_cli("decode taef2 " +
                                  taec_test::quote(taec_test::golden_dir() + "/taef2/dec_rand_24x40.input.npy") +
                                  " --layout nchw --npy " + dir + "/plain.npy");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  auto unpacked =
      taec_test::run_cli("decode taef2 " + dir + "/packed.npy --input flux2-packed --npy " + dir + "/unpacked.npy");
  ASSERT_EQ(unpacked.exit_code, 0) << unpacked.err;
  auto unpacked_nhwc =
      taec_test::run_cli("decode taef2 " + dir + "/packed_nhwc.npy --input flux2-packed --layout nhwc --npy " + dir +
                         "/unpacked_nhwc.npy");
  ASSERT_EQ(unpacked_nhwc.exit_code, 0) << unpacked_nhwc.err;
  auto a = taec::read_npy(dir + "/plain.npy"), b = taec::read_npy(dir + "/unpacked.npy");
  auto c = taec::read_npy(dir + "/unpacked_nhwc.npy");  // NHWC image [1,192,320,3]
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->shape, (std::vector<int64_t>{1, 3, 192, 320}));
  EXPECT_EQ(b->shape, a->shape);
  EXPECT_EQ(b->data, a->data);  // bit-identical: unpacking is a permutation
  ASSERT_EQ(c->shape, (std::vector<int64_t>{1, 192, 320, 3}));
  for (int ch = 0; ch < 3; ++ch) {
    for (int i = 0; i < 192 * 320; i += 97)
      ASSERT_EQ(c->data[i * 3 + ch], a->data[ch * 192 * 320 + i]) << ch << " " << i;
  }

  auto misread = taec_test::run_cli("decode taef2 " + dir + "/packed.npy --npy " + dir + "/x.npy");
  EXPECT_THAT(misread.err, HasSubstr("--input flux2-packed"));
  auto wrong_model =
      taec_test::run_cli("decode taef1_synthetic " + dir + "/packed.npy --input flux2-packed --npy " + dir + "/x.npy");
  EXPECT_EQ(wrong_model.exit_code, 2);
  EXPECT_THAT(wrong_model.err, HasSubstr("no packed latent form"));
}

}  // namespace

// Every conv row kernel set (portable, AVX2, AVX-512: those this CPU runs) against the reference
// convolution, over awkward channel counts, widths around the register tile, strides, 1x1, and
// the folded-upsample phases, with residual and ReLU epilogues.
#include <cmath>
#include <random>
#include <vector>

#include "base/cpu.h"
#include "kernels/conv/conv_nhwc.h"
#include "base/half.h"
#include "kernels/conv/winograd_bf16.h"
#include "kernels/reference/ops.h"
#include "test_util.h"

namespace {

struct Case {
  int cin, cout, h, w, k, stride;
  bool residual, relu;
};

std::vector<float> random_vector(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<taec::Isa> runnable_isas() {
  std::vector<taec::Isa> isas = {taec::Isa::reference};
  if (taec::detected_isa() >= taec::Isa::avx2) isas.push_back(taec::Isa::avx2);
  if (taec::detected_isa() >= taec::Isa::avx512) isas.push_back(taec::Isa::avx512);
  return isas;
}

// NCHW [cin, h, w] -> NHWC rows with one zero pixel left and `right_pad` right, row 0 being the
// zero row above the image and `rows` rows in all (zero below the image).
std::vector<float> padded_nhwc_rows(const std::vector<float>& in_nchw, int cin, int h, int w, int right_pad, int rows,
                                    size_t* row_stride) {
  *row_stride = static_cast<size_t>(w + 1 + right_pad) * cin;
  std::vector<float> padded(rows * *row_stride, 0.0f);
  for (int c = 0; c < cin; ++c)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) padded[(y + 1) * *row_stride + (x + 1) * cin + c] = in_nchw[(c * h + y) * w + x];
  return padded;
}

// out [pixels][cout] = in [pixels][cin] x weights (packed 1x1), through a kernel set's conv_row.
void gemm_1x1(const taec::ConvKernelSet& set, const float* in, const float* packed, float* out, int pixels, int cin,
              int cout) {
  taec::ConvRowArgs a{};
  a.rows[0] = in;
  a.kh = a.kw = 1;
  a.in_px_step = a.tap_step = cin;
  a.cin = cin;
  a.cout = cout;
  a.weights = packed;
  a.out = out;
  a.out_px_step = cout;
  a.pixels = pixels;
  set.conv_row(a);
}

// Runs a conv through a kernel set one output row at a time, on zero-padded NHWC rows.
std::vector<float> run_rows(const taec::ConvKernelSet& set, const Case& c, const std::vector<float>& in_nchw,
                            const std::vector<float>& w_oihw, const std::vector<float>& bias,
                            const std::vector<float>& residual_nhwc) {
  const int pad = c.k / 2;
  const int ho = (c.h + 2 * pad - c.k) / c.stride + 1, wo = (c.w + 2 * pad - c.k) / c.stride + 1;
  const size_t stride_px = c.w + 2;
  std::vector<float> padded(static_cast<size_t>(c.h + 2) * stride_px * c.cin, 0.0f);  // rows -1..h
  for (int ci = 0; ci < c.cin; ++ci)
    for (int y = 0; y < c.h; ++y)
      for (int x = 0; x < c.w; ++x) padded[((y + 1) * stride_px + x + 1) * c.cin + ci] = in_nchw[(ci * c.h + y) * c.w + x];
  std::vector<float> ohwi(w_oihw.size());
  for (int o = 0; o < c.cout; ++o)
    for (int i = 0; i < c.cin; ++i)
      for (int t = 0; t < c.k * c.k; ++t) ohwi[(o * c.k * c.k + t) * c.cin + i] = w_oihw[(o * c.cin + i) * c.k * c.k + t];
  const std::vector<float> packed = taec::pack_conv_weights(set, ohwi.data(), c.cout, c.k, c.k, c.cin);
  std::vector<float> out(static_cast<size_t>(ho) * wo * c.cout, NAN);
  for (int y = 0; y < ho; ++y) {
    taec::ConvRowArgs a{};
    for (int ky = 0; ky < c.k; ++ky) {
      const int iy = y * c.stride - pad + ky;  // -1 and h land on the zero rows
      a.rows[ky] = padded.data() + ((iy + 1) * stride_px + 1 - pad) * c.cin;
    }
    a.kh = a.kw = c.k;
    a.in_px_step = static_cast<size_t>(c.stride) * c.cin;
    a.tap_step = c.cin;
    a.cin = c.cin;
    a.cout = c.cout;
    a.weights = packed.data();
    a.bias = bias.data();
    a.residual = c.residual ? residual_nhwc.data() + static_cast<size_t>(y) * wo * c.cout : nullptr;
    a.out = out.data() + static_cast<size_t>(y) * wo * c.cout;
    a.out_px_step = c.cout;
    a.pixels = wo;
    a.relu = c.relu;
    set.conv_row(a);
  }
  return out;
}

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.cin << "->" << c.cout << " k" << c.k << " s" << c.stride << " " << c.h << "x" << c.w
      << (c.residual ? " +residual" : "") << (c.relu ? " relu" : "");
}

class ConvKernelTest : public ::testing::TestWithParam<Case> {};

TEST_P(ConvKernelTest, EveryIsaMatchesReference) {
  const Case c = GetParam();
  const uint32_t seed = 977 + c.cin * 31 + c.cout * 7 + c.w;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const int pad = c.k / 2;
  const int ho = (c.h + 2 * pad - c.k) / c.stride + 1, wo = (c.w + 2 * pad - c.k) / c.stride + 1;
  auto in = random_vector(static_cast<size_t>(c.cin) * c.h * c.w, rng);
  auto w = random_vector(static_cast<size_t>(c.cout) * c.cin * c.k * c.k, rng);
  auto bias = random_vector(c.cout, rng);
  auto residual = random_vector(static_cast<size_t>(ho) * wo * c.cout, rng);
  std::vector<float> want(static_cast<size_t>(c.cout) * ho * wo);
  taec::conv2d_nchw_f32__reference(in.data(), c.cin, c.h, c.w, w.data(), bias.data(), c.cout, c.k, c.stride, pad, want.data());
  for (taec::Isa isa : runnable_isas()) {
    const taec::ConvKernelSet& set = taec::conv_kernels(isa);
    const std::vector<float> got = run_rows(set, c, in, w, bias, residual);
    double worst = 0;
    for (int co = 0; co < c.cout; ++co)
      for (int p = 0; p < ho * wo; ++p) {
        double v = want[static_cast<size_t>(co) * ho * wo + p] + (c.residual ? residual[p * c.cout + co] : 0.0f);
        if (c.relu && v < 0) v = 0;
        worst = std::max(worst, std::fabs(v - got[static_cast<size_t>(p) * c.cout + co]));
      }
    // fp32 sums of cin*k*k products of magnitude <= 1, in another order than the reference.
    EXPECT_LE(worst, 2e-6 * c.cin * c.k * c.k) << set.name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    AwkwardShapes, ConvKernelTest,
    ::testing::Values(Case{64, 64, 3, 13, 3, 1, true, true},   // the decoder's workhorse, odd width
                      Case{64, 64, 1, 1, 3, 1, false, true},   // one pixel
                      Case{64, 64, 2, 6, 3, 1, false, false},  // exactly one AVX-512 tile
                      Case{64, 64, 2, 7, 3, 1, true, false},   // tile + 1
                      Case{32, 64, 4, 5, 3, 1, false, true},   // taef2 first conv
                      Case{16, 64, 3, 11, 3, 1, false, true},  // taef1 first conv
                      Case{64, 3, 3, 9, 3, 1, false, false},   // to RGB (small cout path)
                      Case{64, 256, 2, 9, 1, 1, false, false}, // pool 1x1 up
                      Case{256, 64, 2, 9, 1, 1, true, false},  // pool 1x1 down + residual
                      Case{3, 64, 5, 7, 3, 1, false, false},   // encoder first conv (cin 3)
                      Case{64, 64, 7, 9, 3, 2, false, false},  // encoder stride 2, odd size
                      Case{64, 16, 3, 4, 3, 1, false, false},  // taef1 encoder last conv
                      Case{64, 4, 2, 3, 3, 1, false, false},   // taesd latent (4 channels)
                      Case{5, 24, 3, 4, 3, 1, true, true}));   // nothing a multiple of anything

}  // namespace

namespace {

// Winograd F(4x4, 3x3) and F(6x6, 3x3) through each ISA's transforms and conv_row GEMMs against
// the reference, on a width that leaves a partial tile and a height that leaves a partial tile row.
class WinogradKernelTest : public ::testing::TestWithParam<int> {};

TEST_P(WinogradKernelTest, EveryIsaMatchesReference) {
  const int mt = GetParam(), t = mt + 2, positions = t * t;
  const int cin = 32, cout = 48, h = 7, w = 10, tiles = (w + mt - 1) / mt;
  std::mt19937 rng(4242);
  auto in = random_vector(static_cast<size_t>(cin) * h * w, rng);
  auto wt = random_vector(static_cast<size_t>(cout) * cin * 9, rng);
  auto bias = random_vector(cout, rng);
  std::vector<float> want(static_cast<size_t>(cout) * h * w);
  taec::conv2d_nchw_f32__reference(in.data(), cin, h, w, wt.data(), bias.data(), cout, 3, 1, 1, want.data());
  size_t stride = 0;  // enough zero rows below for every tile row
  const std::vector<float> padded = padded_nhwc_rows(in, cin, h, w, mt, h + 2 * t, &stride);
  const auto u = taec::winograd_kernel_transform(wt.data(), cout, cin, mt);
  ASSERT_EQ(static_cast<int>(u.size()), positions);
  for (taec::Isa isa : runnable_isas()) {
    const taec::ConvKernelSet& set = taec::conv_kernels(isa);
    std::vector<std::vector<float>> packed;
    for (const auto& m : u) packed.push_back(taec::pack_conv_weights(set, m.data(), cout, 1, 1, cin));
    std::vector<float> out(static_cast<size_t>(h) * w * cout, NAN);
    std::vector<float> v(positions * tiles * cin), m(positions * tiles * cout);
    for (int y0 = 0; y0 < h; y0 += mt) {
      const float* rows[8];
      for (int r = 0; r < t; ++r) rows[r] = padded.data() + (y0 + r) * stride;  // input row y0-1+r, pixel -1
      set.winograd_for(mt).input(rows, tiles, cin, v.data(), static_cast<size_t>(tiles) * cin);
      for (int p = 0; p < positions; ++p) {
        gemm_1x1(set, v.data() + p * tiles * cin, packed[p].data(), m.data() + p * tiles * cout, tiles, cin, cout);
      }
      float* out_rows[6];
      for (int r = 0; r < mt; ++r) out_rows[r] = out.data() + static_cast<size_t>(std::min(y0 + r, h - 1)) * w * cout;
      set.winograd_for(mt).output({m.data(), static_cast<size_t>(tiles) * cout, static_cast<size_t>(cout), tiles, cout,
                                   bias.data(), nullptr, out_rows, static_cast<size_t>(cout), std::min(mt, h - y0), w, false});
    }
    double worst = 0;
    for (int co = 0; co < cout; ++co)
      for (int p = 0; p < h * w; ++p) worst = std::max(worst, std::fabs(want[co * h * w + p] - double(out[p * cout + co])));
    // The transforms add rounding steps of magnitude ~|sum| * 1e-7 times their coefficients.
    EXPECT_LE(worst, mt == 4 ? 2e-4 : 1e-3) << set.name;
    std::printf("F(%dx%d) %s: max |err| %.2g\n", mt, mt, set.name, worst);
  }
}

INSTANTIATE_TEST_SUITE_P(TileSizes, WinogradKernelTest, ::testing::Values(4, 6));

}  // namespace

namespace {

// The bf16 Winograd path (AVX512_BF16 CPUs only) against an fp32 emulation that rounds the same
// transformed tiles and weights to bf16: both then multiply the same numbers, so they agree to
// fp32 summation order, which proves packing, pairing and rounding. (Against the exact reference
// one layer differs by ~4% of its output range: the bf16 amplification docs/ENGINE.md measures.)
TEST(WinogradBf16KernelTest, MatchesFp32EmulationOfBf16Rounding) {
  const taec::WinogradBf16KernelSet* bf16 = taec::winograd_bf16_kernels(taec::detected_isa());
  if (bf16 == nullptr) GTEST_SKIP() << "this CPU has no AVX512_BF16";
  const taec::ConvKernelSet& fp32 = taec::conv_kernels(taec::Isa::avx512);
  const int cin = 64, cout = 64, h = 9, w = 13, tiles = (w + 3) / 4;
  std::mt19937 rng(99);
  auto in = random_vector(static_cast<size_t>(cin) * h * w, rng);
  auto wt = random_vector(static_cast<size_t>(cout) * cin * 9, rng);
  auto bias = random_vector(cout, rng);
  size_t stride = 0;
  const std::vector<float> padded = padded_nhwc_rows(in, cin, h, w, 4, h + 12, &stride);
  auto round_bf16 = [](float x) { return taec::bf16_to_float(taec::float_to_bf16(x)); };
  std::vector<std::vector<uint16_t>> packed16;
  std::vector<std::vector<float>> packed32;
  for (auto u : taec::winograd_kernel_transform(wt.data(), cout, cin, 4)) {
    packed16.push_back(taec::pack_gemm_bf16(u.data(), cout, cin));
    for (float& x : u) x = round_bf16(x);
    packed32.push_back(taec::pack_conv_weights(fp32, u.data(), cout, 1, 1, cin));
  }
  std::vector<float> got(static_cast<size_t>(h) * w * cout), want(got.size()), m(36 * tiles * cout), v32(36 * tiles * cin);
  std::vector<uint16_t> v16(36 * tiles * cin);
  for (int y0 = 0; y0 < h; y0 += 4) {
    const float* rows[6];
    for (int r = 0; r < 6; ++r) rows[r] = padded.data() + (y0 + r) * stride;
    for (bool emulate : {false, true}) {
      if (emulate) {
        fp32.winograd_for(4).input(rows, tiles, cin, v32.data(), static_cast<size_t>(tiles) * cin);
        for (float& x : v32) x = round_bf16(x);
      } else {
        bf16->winograd_input(rows, tiles, cin, v16.data(), static_cast<size_t>(tiles) * cin);
      }
      for (int p = 0; p < 36; ++p) {
        float* out = m.data() + p * tiles * cout;
        if (emulate) {
          gemm_1x1(fp32, v32.data() + p * tiles * cin, packed32[p].data(), out, tiles, cin, cout);
        } else {
          bf16->gemm({v16.data() + p * tiles * cin, static_cast<size_t>(cin), packed16[p].data(), out,
                      static_cast<size_t>(cout), tiles, cout, cin});
        }
      }
      float* out_rows[4];
      float* dst = emulate ? want.data() : got.data();
      for (int r = 0; r < 4; ++r) out_rows[r] = dst + static_cast<size_t>(std::min(y0 + r, h - 1)) * w * cout;
      fp32.winograd_for(4).output({m.data(), static_cast<size_t>(tiles) * cout, static_cast<size_t>(cout), tiles, cout,
                                   bias.data(), nullptr, out_rows, static_cast<size_t>(cout), std::min(4, h - y0), w, false});
    }
  }
  float scale = 0;
  for (float x : want) scale = std::max(scale, std::fabs(x));
  const float err = taec_test::max_abs_diff(got.data(), want.data(), got.size());
  std::printf("bf16 Winograd vs emulation: max |err| %.3g of max |out| %.3g\n", err, scale);
  EXPECT_LE(err, 1e-4f * scale);
}

}  // namespace

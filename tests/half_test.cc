#include <cmath>
#include <cstdint>

#include "base/half.h"
#include "test_util.h"

namespace {

TEST(Half, EveryFp16ValueRoundTripsThroughFloat) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = taec::fp16_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(taec::fp16_to_float(taec::float_to_fp16(f)))) << h;
      continue;
    }
    EXPECT_EQ(taec::float_to_fp16(f), h) << "fp16 bits " << h;
  }
}

TEST(Half, KnownValues) {
  EXPECT_EQ(taec::fp16_to_float(0x3c00), 1.0f);
  EXPECT_EQ(taec::fp16_to_float(0xc000), -2.0f);
  EXPECT_EQ(taec::fp16_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(taec::fp16_to_float(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_TRUE(std::isinf(taec::fp16_to_float(0x7c00)));
  EXPECT_EQ(taec::float_to_fp16(65520.0f), 0x7c00);  // rounds up to Inf
  EXPECT_EQ(taec::float_to_fp16(65519.0f), 0x7bff);
  EXPECT_EQ(taec::float_to_fp16(std::ldexp(1.0f, -25)), 0x0000);  // halfway to 0: ties to even
  EXPECT_EQ(taec::float_to_fp16(std::ldexp(3.0f, -26)), 0x0001);
}

TEST(Half, Fp32ToFp16RoundsToNearestEven) {
  // 1 + 2^-11 lies exactly between 1 and the next fp16 (1 + 2^-10): ties go to the even one.
  EXPECT_EQ(taec::float_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(taec::float_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(taec::float_to_fp16(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3c01);
}

TEST(Half, Bf16) {
  EXPECT_EQ(taec::bf16_to_float(0x3f80), 1.0f);
  EXPECT_EQ(taec::float_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(taec::float_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);  // tie to even
  EXPECT_EQ(taec::float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_TRUE(std::isnan(taec::bf16_to_float(taec::float_to_bf16(NAN))));
}

}  // namespace

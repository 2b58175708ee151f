#include "io/npy.h"

#include <gmock/gmock.h>

#include <cstring>

#include "test_util.h"

namespace {

using ::testing::HasSubstr;

std::vector<uint8_t> with_header(const std::string& header, size_t data_bytes, uint8_t major = 1) {
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', major, 0};
  if (major == 1) {
    out.push_back(static_cast<uint8_t>(header.size()));
    out.push_back(static_cast<uint8_t>(header.size() >> 8));
  } else {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(header.size() >> (8 * i)));
  }
  out.insert(out.end(), header.begin(), header.end());
  out.resize(out.size() + data_bytes, 0);
  return out;
}

TEST(Npy, Fp32RoundTripKeepsShapeAndBits) {
  std::vector<float> data = {1.5f, -2.0f, 3.25f, 0.0f, 1e-8f, 7.0f};
  auto bytes = taec::encode_npy(data.data(), {1, 2, 3}, false);
  auto back = taec::parse_npy("mem.npy", bytes);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->shape, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(back->data, data);
  EXPECT_EQ((bytes.size() - data.size() * 4) % 64, 0u);  // data aligned like NumPy writes it
}

TEST(Npy, Fp16RoundTripRoundsToHalf) {
  std::vector<float> data = {1.0f, 0.1f, -65504.0f};
  auto back = taec::parse_npy("mem.npy", taec::encode_npy(data.data(), {3}, true));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(back->data[0], 1.0f);
  EXPECT_NEAR(back->data[1], 0.1f, 1e-4);
  EXPECT_EQ(back->data[2], -65504.0f);
}

TEST(Npy, ScalarAndVersion2Headers) {
  auto v2 = with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 8, 2);
  auto r = taec::parse_npy("v2.npy", v2);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->shape, (std::vector<int64_t>{2}));
  auto scalar = taec::parse_npy("s.npy", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n", 4));
  ASSERT_TRUE(scalar.ok());
  EXPECT_EQ(scalar->data.size(), 1u);
}

struct BadNpy {
  const char* label;
  std::vector<uint8_t> bytes;
  const char* expect;
};

TEST(Npy, BadFilesSayWhatIsWrong) {
  const std::vector<BadNpy> cases = {
      {"magic", {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0}, "bad magic"},
      {"dtype", with_header("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }\n", 16), "'<i8'"},
      {"big endian", with_header("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", 8), "'>f4'"},
      {"fortran", with_header("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }\n", 8), "Fortran"},
      {"truncated data", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", 8), "truncated"},
      {"header past end", {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xff, 0x7f, '{'}, "past the end"},
      {"missing key", with_header("{'descr': '<f4', 'shape': (2,), }\n", 8), "lacks"},
      {"garbage shape", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (a,), }\n", 8), "non-integer"},
      {"huge dim", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999,), }\n", 8), "2^30"},
      {"huge product", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536), }\n", 8), "2^30"},
      {"version", with_header("{}", 0, 9), "version"},
  };
  for (const auto& c : cases) {
    auto r = taec::parse_npy("bad.npy", c.bytes);
    ASSERT_FALSE(r.ok()) << c.label;
    EXPECT_THAT(r.status().message(), HasSubstr("bad.npy")) << c.label;
    EXPECT_THAT(r.status().message(), HasSubstr(c.expect)) << c.label;
  }
}

TEST(Npy, MissingFileIsAnIoError) {
  auto r = taec::read_npy("/nonexistent/latent.npy");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), taec::Code::io);
  EXPECT_THAT(r.status().message(), HasSubstr("/nonexistent/latent.npy"));
}

}  // namespace

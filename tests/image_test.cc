// Image reading (src/io/image.h): every PNG kind to the right pixels, JPEG against the previous
// decoder on the shared photos, EXIF orientation, progressive scan limit, refusal of every other
// format by content, and the size caps. Test images are written here with libpng / libjpeg.
#include <gmock/gmock.h>
#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>
// clang-format off
#include <jpeglib.h>
// clang-format on
// The previous decoder, kept as the reference for the trusted shared photos only.
#include <stb_image.h>

#include "io/exif.h"
#include "io/image.h"
#include "test_util.h"

namespace {

using ::testing::HasSubstr;
using Bytes = std::vector<uint8_t>;

uint32_t lcg(uint32_t& state) {
  state = state * 1664525u + 1013904223u;
  return state >> 8;
}

// ---- writers ------------------------------------------------------------------------------

struct PngSpec {
  int width = 0, height = 0, color = PNG_COLOR_TYPE_RGB, depth = 8;
  bool interlaced = false;
  std::vector<uint32_t> samples;   // [height][width][channels], each < 2^depth
  std::vector<png_color> palette;  // PNG_COLOR_TYPE_PALETTE
  Bytes palette_alpha;             // tRNS for a palette
  bool gray_trns = false;          // tRNS naming gray/RGB level 0 transparent
  Bytes exif;                      // eXIf payload
  bool exif_after_image = false;
};

int png_channels(int color) {
  switch (color) {
    case PNG_COLOR_TYPE_GRAY:
    case PNG_COLOR_TYPE_PALETTE: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    default: return 4;
  }
}

void append_to(png_structp png, png_bytep data, size_t n) {
  auto* out = static_cast<Bytes*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + n);
}

Bytes write_png(const PngSpec& s) {
  const int channels = png_channels(s.color);
  // Pack each row as PNG stores it: big-endian bit fields below 8 bits, big-endian 16-bit words.
  std::vector<Bytes> rows(s.height);
  for (int y = 0; y < s.height; ++y) {
    Bytes& row = rows[y];
    uint32_t acc = 0;
    int bits = 0;
    for (int i = 0; i < s.width * channels; ++i) {
      const uint32_t v = s.samples[static_cast<size_t>(y) * s.width * channels + i];
      if (s.depth == 16) {
        row.push_back(v >> 8);
        row.push_back(v & 0xff);
        continue;
      }
      acc = (acc << s.depth) | v;
      bits += s.depth;
      if (bits == 8) row.push_back(acc), acc = 0, bits = 0;
    }
    if (bits > 0) row.push_back(acc << (8 - bits));
  }
  Bytes out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return {};
  }
  png_set_write_fn(png, &out, append_to, nullptr);
  png_set_IHDR(png, info, s.width, s.height, s.depth, s.color,
               s.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (!s.palette.empty()) png_set_PLTE(png, info, s.palette.data(), static_cast<int>(s.palette.size()));
  if (!s.palette_alpha.empty()) {
    png_set_tRNS(png, info, s.palette_alpha.data(), static_cast<int>(s.palette_alpha.size()), nullptr);
  }
  png_color_16 transparent{};
  if (s.gray_trns) png_set_tRNS(png, info, nullptr, 0, &transparent);
  if (!s.exif.empty() && !s.exif_after_image) png_set_eXIf_1(png, info, s.exif.size(), const_cast<png_bytep>(s.exif.data()));
  png_write_info(png, info);
  std::vector<png_bytep> pointers;
  for (Bytes& row : rows) pointers.push_back(row.data());
  png_write_image(png, pointers.data());
  // libpng 1.6.39's png_write_end writes an eXIf set on `info` again; drop one written already.
  if (!s.exif.empty() && !s.exif_after_image) png_free_data(png, info, PNG_FREE_EXIF, -1);
  if (!s.exif.empty() && s.exif_after_image) png_set_eXIf_1(png, info, s.exif.size(), const_cast<png_bytep>(s.exif.data()));
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

struct JpegSpec {
  int width = 0, height = 0, components = 3;
  J_COLOR_SPACE color = JCS_RGB;
  Bytes samples;  // [height][width][components]
  int quality = 100;
  bool progressive = false;
  Bytes app1;  // written as an APP1 segment when not empty
};

Bytes write_jpeg(const JpegSpec& s) {
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr err{};
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = s.width;
  cinfo.image_height = s.height;
  cinfo.input_components = s.components;
  cinfo.in_color_space = s.color;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, s.quality, TRUE);
  for (int c = 0; c < cinfo.num_components; ++c) cinfo.comp_info[c].h_samp_factor = cinfo.comp_info[c].v_samp_factor = 1;
  if (s.progressive) jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  if (!s.app1.empty()) jpeg_write_marker(&cinfo, JPEG_APP0 + 1, s.app1.data(), static_cast<unsigned>(s.app1.size()));
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(s.samples.data() + size_t{cinfo.next_scanline} * s.width * s.components);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  Bytes out(buffer, buffer + size);
  std::free(buffer);
  return out;
}

// An EXIF block (APP1 payload) holding only IFD0 with the orientation tag, in either byte order.
Bytes exif_block(int orientation, bool big_endian, bool with_prefix = true) {
  Bytes b;
  if (with_prefix) b = {'E', 'x', 'i', 'f', 0, 0};
  auto u16 = [&](uint32_t v) {
    if (big_endian) b.insert(b.end(), {uint8_t(v >> 8), uint8_t(v)});
    else b.insert(b.end(), {uint8_t(v), uint8_t(v >> 8)});
  };
  auto u32 = [&](uint32_t v) {
    if (big_endian) u16(v >> 16), u16(v & 0xffff);
    else u16(v & 0xffff), u16(v >> 16);
  };
  b.insert(b.end(), big_endian ? std::initializer_list<uint8_t>{'M', 'M'} : std::initializer_list<uint8_t>{'I', 'I'});
  u16(42);
  u32(8);  // IFD0 right after the header
  u16(2);  // two entries: an unrelated one first
  u16(0x010f), u16(2), u32(4), u32(0x41424300);  // Make, ASCII "ABC"
  u16(0x0112), u16(3), u32(1), u16(orientation), u16(0);
  u32(0);  // no next IFD
  return b;
}

// The hand-made smallest progressive JPEG: 8x8 grey, one DC scan, then `ac_scans` identical
// first-pass AC scans (Ss=1, Se=63, Ah=Al=0), each a lone end-of-band code. Repeating such a scan
// is a consistent progression, so only a scan limit stops it.
Bytes tiny_progressive_jpeg(int ac_scans) {
  Bytes b = {0xff, 0xd8};
  auto seg = [&](uint8_t marker, const Bytes& body) {
    b.insert(b.end(), {0xff, marker, uint8_t((body.size() + 2) >> 8), uint8_t(body.size() + 2)});
    b.insert(b.end(), body.begin(), body.end());
  };
  Bytes dqt = {0x00};
  dqt.resize(65, 1);
  seg(0xdb, dqt);
  seg(0xc2, {8, 0, 8, 0, 8, 1, 1, 0x11, 0});  // SOF2: 8 bits, 8x8, one component
  Bytes one_code = {0x00, 1};  // table class/id, then 16 code-length counts: one 1-bit code
  one_code.resize(17, 0);
  one_code.push_back(0x00);  // its symbol: DC category 0 / AC end of band
  seg(0xc4, one_code);
  seg(0xda, {1, 1, 0x00, 0, 0, 0x00});  // DC first scan
  b.push_back(0x7f);                    // one 0 bit (the code), then padding ones
  Bytes ac_table = one_code;
  ac_table[0] = 0x10;
  seg(0xc4, ac_table);
  for (int i = 0; i < ac_scans; ++i) {
    seg(0xda, {1, 1, 0x00, 1, 63, 0x00});
    b.push_back(0x7f);
  }
  b.insert(b.end(), {0xff, 0xd9});
  return b;
}

float level(const taec::RgbImage& img, int c, int y, int x) {
  return img.chw[(static_cast<size_t>(c) * img.height + y) * img.width + x] * 255.0f;
}

// Exact 8-bit comparison against an interleaved RGB reference.
void expect_pixels(const taec::RgbImage& img, const std::vector<uint8_t>& rgb, const std::string& what) {
  ASSERT_EQ(rgb.size(), size_t{3} * img.height * img.width) << what;
  int wrong = 0;
  for (int y = 0; y < img.height; ++y) {
    for (int x = 0; x < img.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        const float want = rgb[(static_cast<size_t>(y) * img.width + x) * 3 + c];
        if (level(img, c, y, x) != want && wrong++ < 5) {
          ADD_FAILURE() << what << ": pixel (" << y << "," << x << ") channel " << c << " is " << level(img, c, y, x)
                        << ", want " << want;
        }
      }
    }
  }
  EXPECT_EQ(wrong, 0) << what;
}

// ---- PNG kinds ------------------------------------------------------------------------------

struct PngKind {
  const char* name;
  int color, depth;
  bool interlaced = false;
  bool transparency = false;  // a tRNS chunk (palette alpha or a transparent grey level)
};

void PrintTo(const PngKind& k, std::ostream* os) { *os << k.name; }

class PngKindTest : public ::testing::TestWithParam<PngKind> {};

// Random samples of every kind, and the RGB each must decode to, computed from the PNG rules:
// low bit depths scale to 0..255, 16 bits keep the high byte, grey replicates, palettes expand,
// alpha and tRNS are ignored.
TEST_P(PngKindTest, DecodesToTheExpectedRgb) {
  const PngKind& k = GetParam();
  PngSpec s;
  s.width = 13;  // odd sizes: partial bytes at low depths, uneven Adam7 passes
  s.height = 11;
  s.color = k.color;
  s.depth = k.depth;
  s.interlaced = k.interlaced;
  const int channels = png_channels(k.color);
  const uint32_t max = (1u << k.depth) - 1;
  uint32_t state = 12345u + k.color * 31 + k.depth;
  if (k.color == PNG_COLOR_TYPE_PALETTE) {
    for (uint32_t i = 0; i <= max; ++i) {
      s.palette.push_back({uint8_t(lcg(state)), uint8_t(lcg(state)), uint8_t(lcg(state))});
      if (k.transparency) s.palette_alpha.push_back(uint8_t(lcg(state)));
    }
  } else {
    s.gray_trns = k.transparency;
  }
  for (int i = 0; i < s.width * s.height * channels; ++i) s.samples.push_back(lcg(state) & max);
  std::vector<uint8_t> want;
  for (int p = 0; p < s.width * s.height; ++p) {
    const uint32_t* v = &s.samples[static_cast<size_t>(p) * channels];
    auto to8 = [&](uint32_t x) -> uint8_t { return k.depth == 16 ? x >> 8 : k.depth == 8 ? x : x * 255 / max; };
    if (k.color == PNG_COLOR_TYPE_PALETTE) {
      want.insert(want.end(), {s.palette[v[0]].red, s.palette[v[0]].green, s.palette[v[0]].blue});
    } else if (channels <= 2) {
      want.insert(want.end(), 3, to8(v[0]));
    } else {
      want.insert(want.end(), {to8(v[0]), to8(v[1]), to8(v[2])});
    }
  }
  const Bytes png = write_png(s);
  ASSERT_FALSE(png.empty());
  auto img = taec::decode_image("kind.png", png);
  ASSERT_TRUE(img.ok()) << img.status().message();
  EXPECT_EQ(img->height, s.height);
  EXPECT_EQ(img->width, s.width);
  expect_pixels(*img, want, k.name);
}

INSTANTIATE_TEST_SUITE_P(
    AllKinds, PngKindTest,
    ::testing::Values(PngKind{"gray1", PNG_COLOR_TYPE_GRAY, 1}, PngKind{"gray2", PNG_COLOR_TYPE_GRAY, 2},
                      PngKind{"gray4", PNG_COLOR_TYPE_GRAY, 4}, PngKind{"gray8", PNG_COLOR_TYPE_GRAY, 8},
                      PngKind{"gray16", PNG_COLOR_TYPE_GRAY, 16},
                      PngKind{"gray8_trns", PNG_COLOR_TYPE_GRAY, 8, false, true},
                      PngKind{"gray_alpha8", PNG_COLOR_TYPE_GRAY_ALPHA, 8},
                      PngKind{"gray_alpha16", PNG_COLOR_TYPE_GRAY_ALPHA, 16}, PngKind{"rgb8", PNG_COLOR_TYPE_RGB, 8},
                      PngKind{"rgb16", PNG_COLOR_TYPE_RGB, 16},
                      PngKind{"rgb8_trns", PNG_COLOR_TYPE_RGB, 8, false, true},
                      PngKind{"rgba8", PNG_COLOR_TYPE_RGB_ALPHA, 8}, PngKind{"rgba16", PNG_COLOR_TYPE_RGB_ALPHA, 16},
                      PngKind{"palette1", PNG_COLOR_TYPE_PALETTE, 1}, PngKind{"palette2", PNG_COLOR_TYPE_PALETTE, 2},
                      PngKind{"palette4", PNG_COLOR_TYPE_PALETTE, 4}, PngKind{"palette8", PNG_COLOR_TYPE_PALETTE, 8},
                      PngKind{"palette8_trns", PNG_COLOR_TYPE_PALETTE, 8, false, true},
                      PngKind{"rgb8_interlaced", PNG_COLOR_TYPE_RGB, 8, true},
                      PngKind{"gray1_interlaced", PNG_COLOR_TYPE_GRAY, 1, true},
                      PngKind{"palette4_interlaced", PNG_COLOR_TYPE_PALETTE, 4, true},
                      PngKind{"rgba16_interlaced", PNG_COLOR_TYPE_RGB_ALPHA, 16, true}),
    [](const ::testing::TestParamInfo<PngKind>& info) { return std::string(info.param.name); });

// ---- the shared photos against the previous decoder (stb_image 2.27) --------------------------

TEST(ImagePhotos, MatchThePreviousDecoder) {
  const std::string dir = std::string(TAEC_TEST_SHARED_DIR) + "/images/";
  if (!std::ifstream(dir + "rocket.jpg")) {
    if (taec_test::fixtures_required()) FAIL() << "no photos in " << dir;
    GTEST_SKIP() << "no photos in " << dir;
  }
  for (const char* name : {"astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "hubble_deep_field.jpg"}) {
    const Bytes bytes = taec_test::read_bytes(dir + name);
    int w = 0, h = 0, n = 0;
    unsigned char* ref = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &n, 3);
    ASSERT_NE(ref, nullptr) << name;
    std::vector<uint8_t> want(ref, ref + size_t{3} * w * h);
    stbi_image_free(ref);
    auto img = taec::decode_image(name, bytes);
    ASSERT_TRUE(img.ok()) << img.status().message();
    ASSERT_EQ(img->height, h);
    ASSERT_EQ(img->width, w);
    if (std::string(name).find(".png") != std::string::npos) {
      expect_pixels(*img, want, name);  // lossless: the same bytes
      continue;
    }
    // JPEG: libjpeg-turbo's IDCT and upsampling differ from stb's in rounding only (measured:
    // mean 0.01 levels, max 3); a colour conversion or orientation error would be tens of levels.
    double sum = 0;
    float worst = 0;
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
          const float d = std::fabs(level(*img, c, y, x) - want[(static_cast<size_t>(y) * w + x) * 3 + c]);
          sum += d;
          worst = std::max(worst, d);
        }
      }
    }
    const double mean = sum / (3.0 * w * h);
    std::printf("  %s: libjpeg-turbo vs stb: mean |diff| %.3f levels, max %.0f\n", name, mean, worst);
    EXPECT_LT(mean, 0.1) << name;
    EXPECT_LE(worst, 8.0f) << name;
  }
}

// ---- JPEG -----------------------------------------------------------------------------------

// Solid 8x8 blocks (exact for the DCT at quality 100, 4:4:4), six colours in a 3x2 grid.
const uint8_t kBlockColors[6][3] = {{230, 30, 30}, {30, 200, 40}, {40, 60, 220}, {240, 220, 40}, {200, 40, 200}, {40, 210, 210}};

JpegSpec block_grid_jpeg() {
  JpegSpec s;
  s.width = 24;
  s.height = 16;
  for (int y = 0; y < s.height; ++y) {
    for (int x = 0; x < s.width; ++x) {
      const uint8_t* c = kBlockColors[(y / 8) * 3 + x / 8];
      s.samples.insert(s.samples.end(), c, c + 3);
    }
  }
  return s;
}

// The block (by its letter, A-F for kBlockColors) at each 8x8 cell of `img`, read at cell centres.
std::vector<std::string> block_letters(const taec::RgbImage& img) {
  std::vector<std::string> rows;
  for (int by = 0; by < img.height / 8; ++by) {
    std::string row;
    for (int bx = 0; bx < img.width / 8; ++bx) {
      char letter = '?';
      for (int i = 0; i < 6; ++i) {
        bool close = true;
        for (int c = 0; c < 3; ++c) close &= std::fabs(level(img, c, by * 8 + 4, bx * 8 + 4) - kBlockColors[i][c]) <= 4;
        if (close) letter = static_cast<char>('A' + i);
      }
      row += letter;
    }
    rows.push_back(row);
  }
  return rows;
}

struct Orientation {
  int tag;
  std::vector<std::string> shows;  // the stored grid ABC/DEF as viewers show it
};

class ExifOrientationTest : public ::testing::TestWithParam<Orientation> {};

TEST_P(ExifOrientationTest, JpegIsTurnedAsViewersShowIt) {
  const Orientation& o = GetParam();
  for (bool big_endian : {false, true}) {
    JpegSpec s = block_grid_jpeg();
    s.app1 = exif_block(o.tag, big_endian);
    auto img = taec::decode_image("oriented.jpg", write_jpeg(s));
    ASSERT_TRUE(img.ok()) << img.status().message();
    EXPECT_EQ(img->width, o.tag >= 5 ? 16 : 24);
    EXPECT_EQ(img->height, o.tag >= 5 ? 24 : 16);
    EXPECT_EQ(block_letters(*img), o.shows) << "orientation " << o.tag << (big_endian ? " (MM)" : " (II)");
  }
}

INSTANTIATE_TEST_SUITE_P(AllEight, ExifOrientationTest,
                         ::testing::Values(Orientation{1, {"ABC", "DEF"}}, Orientation{2, {"CBA", "FED"}},
                                           Orientation{3, {"FED", "CBA"}}, Orientation{4, {"DEF", "ABC"}},
                                           Orientation{5, {"AD", "BE", "CF"}}, Orientation{6, {"DA", "EB", "FC"}},
                                           Orientation{7, {"FC", "EB", "DA"}}, Orientation{8, {"CF", "BE", "AD"}}),
                         [](const ::testing::TestParamInfo<Orientation>& info) {
                           return "orientation" + std::to_string(info.param.tag);
                         });

TEST(ExifOrientation, PngEXIfChunkBeforeOrAfterTheImageData) {
  for (bool after : {false, true}) {
    PngSpec s;
    s.width = 3;
    s.height = 2;
    s.samples = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
    s.exif = exif_block(6, true, false);  // eXIf holds the TIFF block without "Exif\0\0"
    s.exif_after_image = after;
    const Bytes png = write_png(s);
    auto offset_of = [&](const char* type) { return std::search(png.begin(), png.end(), type, type + 4) - png.begin(); };
    ASSERT_LT(offset_of("eXIf"), static_cast<ptrdiff_t>(png.size()));
    ASSERT_EQ(offset_of("eXIf") > offset_of("IDAT"), after);
    auto img = taec::decode_image("oriented.png", png);
    ASSERT_TRUE(img.ok()) << img.status().message();
    // Rotated 90 clockwise: stored rows (p0 p1 p2) / (p3 p4 p5) show as (p3 p0) / (p4 p1) / (p5 p2).
    expect_pixels(*img, {10, 11, 12, 1, 2, 3, 13, 14, 15, 4, 5, 6, 16, 17, 18, 7, 8, 9},
                  after ? "eXIf after IDAT" : "eXIf before IDAT");
  }
}

TEST(ExifOrientation, MalformedOrOutOfRangeReadsAsUpright) {
  const Bytes good = exif_block(6, false, false);
  EXPECT_EQ(taec::exif_orientation(good.data(), good.size()), 6);
  EXPECT_EQ(taec::exif_orientation(nullptr, 0), 1);
  for (size_t cut = 0; cut < good.size() - 4; ++cut) {  // the tag's value sits 4 bytes from the end
    EXPECT_EQ(taec::exif_orientation(good.data(), cut), 1) << "cut at " << cut;
  }
  Bytes bad_offset = good;
  bad_offset[4] = 0xf0;  // IFD0 offset far past the block
  EXPECT_EQ(taec::exif_orientation(bad_offset.data(), bad_offset.size()), 1);
  Bytes many_entries = good;
  many_entries[8] = 0xff, many_entries[9] = 0xff;  // 65535 entries claimed
  EXPECT_EQ(taec::exif_orientation(many_entries.data(), many_entries.size()), 6);  // found before the end
  for (int value : {0, 9, 300}) {
    const Bytes b = exif_block(value, true, false);
    EXPECT_EQ(taec::exif_orientation(b.data(), b.size()), 1) << value;
  }
  Bytes not_tiff = good;
  not_tiff[2] = 43;
  EXPECT_EQ(taec::exif_orientation(not_tiff.data(), not_tiff.size()), 1);
}

TEST(Jpeg, GreyProgressiveAndCmykDecode) {
  JpegSpec grid = block_grid_jpeg();
  auto baseline = taec::decode_image("b.jpg", write_jpeg(grid));
  ASSERT_TRUE(baseline.ok()) << baseline.status().message();
  grid.progressive = true;
  auto progressive = taec::decode_image("p.jpg", write_jpeg(grid));
  ASSERT_TRUE(progressive.ok()) << progressive.status().message();
  EXPECT_EQ(block_letters(*progressive), (std::vector<std::string>{"ABC", "DEF"}));
  EXPECT_LE(taec_test::max_abs_diff(progressive->chw.data(), baseline->chw.data(), baseline->chw.size()), 2.0f / 255);

  JpegSpec grey;
  grey.width = 16, grey.height = 8, grey.components = 1, grey.color = JCS_GRAYSCALE;
  for (int i = 0; i < 128; ++i) grey.samples.push_back((i % 16) < 8 ? 60 : 200);
  auto g = taec::decode_image("g.jpg", write_jpeg(grey));
  ASSERT_TRUE(g.ok()) << g.status().message();
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(level(*g, c, 4, 4), 60, 2);
  EXPECT_NEAR(level(*g, 1, 4, 12), 200, 2);

  // CMYK as Adobe writes it (inverted); RGB = K - (255 - C) * K / 255.
  JpegSpec cmyk;
  cmyk.width = 8, cmyk.height = 8, cmyk.components = 4, cmyk.color = JCS_CMYK;
  for (int i = 0; i < 64; ++i) cmyk.samples.insert(cmyk.samples.end(), {255, 128, 0, 200});
  auto k = taec::decode_image("k.jpg", write_jpeg(cmyk));
  ASSERT_TRUE(k.ok()) << k.status().message();
  EXPECT_NEAR(level(*k, 0, 4, 4), 200, 2);
  EXPECT_NEAR(level(*k, 1, 4, 4), 200 - 127.0 * 200 / 255, 2);
  EXPECT_NEAR(level(*k, 2, 4, 4), 0, 2);
}

TEST(Jpeg, ScanCountIsCappedAtTheLimit) {
  auto at_limit = taec::decode_image("scans.jpg", tiny_progressive_jpeg(99));  // 1 DC + 99 AC = 100
  ASSERT_TRUE(at_limit.ok()) << at_limit.status().message();
  EXPECT_EQ(level(*at_limit, 0, 3, 3), 128);  // DC 0 after the level shift
  auto over = taec::decode_image("scans.jpg", tiny_progressive_jpeg(100));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), taec::Code::format);
  EXPECT_THAT(over.status().message(), HasSubstr("scans.jpg: JPEG has more than 100 scans"));
  auto bomb = taec::decode_image("scans.jpg", tiny_progressive_jpeg(20000));
  ASSERT_FALSE(bomb.ok());
  EXPECT_THAT(bomb.status().message(), HasSubstr("more than 100 scans"));
}

TEST(Jpeg, TruncatedOrCorruptDataIsRefused) {
  const Bytes whole = write_jpeg(block_grid_jpeg());
  ASSERT_TRUE(taec::decode_image("whole.jpg", whole).ok());
  for (size_t keep : {whole.size() - 2, whole.size() / 2, size_t{200}}) {  // - 2: only EOI missing
    auto r = taec::decode_image("cut.jpg", Bytes(whole.begin(), whole.begin() + keep));
    ASSERT_FALSE(r.ok()) << "cut at " << keep;
    EXPECT_THAT(r.status().message(), HasSubstr("cut.jpg: truncated JPEG"));
  }
  // An APP1 segment claiming 65533 bytes in a file that ends right after its header.
  Bytes app1 = {0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42};
  auto r = taec::decode_image("app1.jpg", app1);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("app1.jpg: truncated JPEG"));
  // Not a JPEG past its magic.
  Bytes garbage = {0xff, 0xd8, 0xff, 0xe0};
  for (int i = 0; i < 1000; ++i) garbage.push_back(static_cast<uint8_t>(i * 7));
  auto g = taec::decode_image("garbage.jpg", garbage);
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("garbage.jpg: "));
  EXPECT_EQ(g.status().code(), taec::Code::format);
}

// ---- PNG damage -----------------------------------------------------------------------------

PngSpec small_rgb() {
  PngSpec s;
  s.width = 16, s.height = 16;
  uint32_t state = 7;
  for (int i = 0; i < 16 * 16 * 3; ++i) s.samples.push_back(lcg(state) & 255);
  return s;
}

TEST(Png, TruncatedCorruptOrBombIsRefused) {
  const Bytes whole = write_png(small_rgb());
  ASSERT_TRUE(taec::decode_image("ok.png", whole).ok());
  for (size_t keep : {whole.size() - 12, whole.size() / 2, size_t{40}}) {  // 12: the IEND chunk
    auto r = taec::decode_image("cut.png", Bytes(whole.begin(), whole.begin() + keep));
    ASSERT_FALSE(r.ok()) << "cut at " << keep;
    EXPECT_THAT(r.status().message(), HasSubstr("cut.png: truncated PNG"));
  }
  Bytes bad_crc = whole;
  bad_crc[30] ^= 0x55;  // IHDR's CRC
  auto c = taec::decode_image("crc.png", bad_crc);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("crc.png: corrupt PNG (libpng: IHDR: CRC error)"));
}

// Image data that inflates far past a 16x16 image: libpng stops at the image's size.
TEST(Png, ZlibBombStopsAtTheDeclaredSize) {
  const Bytes bomb = taec_test::read_bytes(std::string(TAEC_TEST_CORPUS_DIR) + "/img_png_zlib_bomb.bad");
  ASSERT_FALSE(bomb.empty());
  auto r = taec::decode_image("bomb.png", bomb);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("bomb.png: corrupt PNG"));
}

// ---- other formats, by content ----------------------------------------------------------------

struct Refusal {
  const char* name;
  Bytes bytes;
  const char* says;
};

void PrintTo(const Refusal& r, std::ostream* os) { *os << r.name; }

Bytes with_tail(Bytes head, size_t total = 64) {
  head.resize(std::max(total, head.size()), 0);
  return head;
}

class RefusalTest : public ::testing::TestWithParam<Refusal> {};

TEST_P(RefusalTest, NamesWhatTheFileIs) {
  const Refusal& r = GetParam();
  auto img = taec::decode_image("x.png", r.bytes);
  ASSERT_FALSE(img.ok());
  EXPECT_THAT(img.status().message(), HasSubstr(std::string("x.png: ") + r.says));
  EXPECT_THAT(img.status().message(), HasSubstr("taec reads PNG and JPEG"));
  EXPECT_TRUE(img.status().code() == taec::Code::unsupported || img.status().code() == taec::Code::format);
}

template <size_t N>
Bytes lit(const char (&text)[N]) {  // the literal's bytes, NULs included, without the terminator
  return Bytes(text, text + N - 1);
}

INSTANTIATE_TEST_SUITE_P(
    OtherFormats, RefusalTest,
    ::testing::Values(
        Refusal{"pgm16", with_tail(lit("P5\n4096 4096\n65535\n")), "is a PGM (netpbm P5) image (by its content)"},
        Refusal{"pbm", with_tail(lit("P1 2 2\n0 1 1 0\n")), "is a PBM (netpbm P1) image"},
        Refusal{"ppm", with_tail(lit("P6\n2 2\n255\n")), "is a PPM (netpbm P6) image"},
        Refusal{"pam", with_tail(lit("P7\nWIDTH 2\n")), "is a PAM (netpbm P7) image"},
        Refusal{"hdr", with_tail(lit("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 8 +X 8\n")), "is a Radiance HDR image"},
        Refusal{"rgbe", with_tail(lit("#?RGBE\n")), "is a Radiance HDR image"},
        Refusal{"bmp", with_tail({'B', 'M', 0x46, 0, 0, 0, 0, 0, 0, 0, 0x36, 0, 0, 0, 40, 0, 0, 0}), "is a BMP image"},
        Refusal{"gif", with_tail(lit("GIF89a")), "is a GIF image"},
        Refusal{"psd", with_tail(lit("8BPS\x00\x01")), "is a PSD (Photoshop) image"},
        Refusal{"pic", with_tail({0x53, 0x80, 0xf6, 0x34}), "is a Softimage PIC image"},
        Refusal{"webp", with_tail(lit("RIFF\x24\x00\x00\x00WEBPVP8 ")), "is a WebP image"},
        Refusal{"tiff_le", with_tail({'I', 'I', 42, 0, 8, 0, 0, 0}), "is a TIFF image"},
        Refusal{"tiff_be", with_tail({'M', 'M', 0, 42, 0, 0, 0, 8}), "is a TIFF image"},
        Refusal{"avif", with_tail({0, 0, 0, 0x1c, 'f', 't', 'y', 'p', 'a', 'v', 'i', 'f'}), "is an AVIF image"},
        Refusal{"heic", with_tail({0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c'}), "is a HEIF image"},
        Refusal{"qoi", with_tail(lit("qoif")), "is a QOI image"},
        Refusal{"jxl", with_tail({0xff, 0x0a}), "is a JPEG XL image"},
        Refusal{"jp2", with_tail({0, 0, 0, 0x0c, 'j', 'P', ' ', ' ', '\r', '\n', 0x87, '\n'}), "is a JPEG 2000 image"},
        // TGA has no magic bytes: a type-2 (truecolour) header is just unknown content.
        Refusal{"tga", with_tail({0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 8, 0, 24, 0}),
                "is not a PNG or JPEG image (by its content)"},
        Refusal{"bm_text", with_tail(lit("BMW is a car maker")), "is not a PNG or JPEG image"},
        Refusal{"svg", lit("<svg xmlns='http://www.w3.org/2000/svg'/>"), "is not a PNG or JPEG image"},
        Refusal{"empty", {}, "is not a PNG or JPEG image (the file is empty)"}),
    [](const ::testing::TestParamInfo<Refusal>& info) { return std::string(info.param.name); });

TEST(ImageRefusal, RecognizedFormatsAreUnsupportedUnknownOnesFormatErrors) {
  EXPECT_EQ(taec::decode_image("a", with_tail(lit("GIF87a"))).status().code(), taec::Code::unsupported);
  EXPECT_EQ(taec::decode_image("a", lit("hello")).status().code(), taec::Code::format);
}

// ---- caps -----------------------------------------------------------------------------------

// A PNG header with no image data: the caps must refuse it from IHDR alone.
Bytes png_header_only(uint32_t width, uint32_t height) {
  PngSpec s;
  s.width = 1, s.height = 1, s.color = PNG_COLOR_TYPE_GRAY, s.depth = 1, s.samples = {0};
  Bytes png = write_png(s);
  for (int i = 0; i < 4; ++i) {
    png[16 + i] = uint8_t(width >> (24 - 8 * i));
    png[20 + i] = uint8_t(height >> (24 - 8 * i));
  }
  const uint32_t crc = crc32(0, png.data() + 12, 17);  // IHDR type + data
  for (int i = 0; i < 4; ++i) png[29 + i] = uint8_t(crc >> (24 - 8 * i));
  return png;
}

TEST(ImageCaps, SideAndPixelCountAreRefusedFromTheHeader) {
  for (auto [w, h] : {std::pair{16385u, 1u}, std::pair{1u, 16385u}, std::pair{8192u, 8193u}, std::pair{100000u, 100000u}}) {
    auto r = taec::decode_image("big.png", png_header_only(w, h));
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.status().message(), HasSubstr("big.png: image size " + std::to_string(w) + "x" + std::to_string(h) +
                                                " is outside what taec accepts (16384 px a side, 64 MP)"));
  }
  // Within the caps, but a few hundred bytes cannot inflate to a 4096x4096 image.
  auto r = taec::decode_image("small.png", png_header_only(4096, 4096));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("small.png: truncated PNG: a 4096x4096 image needs at least"));

  JpegSpec wide;
  wide.width = 16385, wide.height = 8, wide.components = 1, wide.color = JCS_GRAYSCALE, wide.quality = 50;
  wide.samples.assign(size_t{16385} * 8, 100);
  auto j = taec::decode_image("wide.jpg", write_jpeg(wide));
  ASSERT_FALSE(j.ok());
  EXPECT_THAT(j.status().message(), HasSubstr("wide.jpg: image size 16385x8 is outside"));
}

TEST(ImageCaps, ReadImageNamesAMissingFile) {
  auto r = taec::read_image("/nonexistent/taec/photo.png");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("/nonexistent/taec/photo.png"));
}

}  // namespace

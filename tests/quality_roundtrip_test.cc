// `taec roundtrip` end to end on two photos at a small size: PNGs per method, summary.json, the
// HTML report, and (where Debian's `chromium` is installed) that the report renders its images in
// a headless browser.
#include <gmock/gmock.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/image.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The number in ` name="123"` in `html`, or -1 if absent.
long attribute_number(const std::string& html, const std::string& name) {
  const size_t at = html.find(" " + name + "=\"");
  if (at == std::string::npos) return -1;
  return std::strtol(html.c_str() + at + name.size() + 3, nullptr, 10);
}

// One round trip shared by the tests below (it is the slow part).
class QualityRoundtrip : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!taec_test::fixtures_present()) return;
    out_ = (fs::temp_directory_path() / ("taec_roundtrip_test_" + std::to_string(::getpid()))).string();
    fs::remove_all(out_);
    const std::string images = out_ + "_in";
    fs::create_directories(images);
    const std::string shared = std::string(TAEC_TEST_SHARED_DIR) + "/images/";
    fs::copy_file(shared + "chelsea.png", images + "/chelsea.png", fs::copy_options::overwrite_existing);
    fs::copy_file(shared + "rocket.jpg", images + "/rocket.jpg", fs::copy_options::overwrite_existing);
    result_ = new taec_test::CliResult(taec_test::run_cli(
        "roundtrip --images " + taec_test::quote(images) +
        " --weights taef2 --methods fp32,bf16 --size 64 --timing-runs 1 --out " + taec_test::quote(out_)));
  }
  static void TearDownTestSuite() {
    delete result_;
    result_ = nullptr;
    if (!out_.empty()) {
      fs::remove_all(out_);
      fs::remove_all(out_ + "_in");
    }
  }
  void SetUp() override {
    TAEC_REQUIRE_FIXTURES();
    ASSERT_NE(result_, nullptr);
    ASSERT_EQ(result_->exit_code, 0) << result_->out << result_->err;
  }
  static std::string out_;
  static taec_test::CliResult* result_;
};

std::string QualityRoundtrip::out_;
taec_test::CliResult* QualityRoundtrip::result_ = nullptr;

TEST_F(QualityRoundtrip, WritesPngsPerMethodAndShowsProgress) {
  for (const char* method : {"original", "fp32", "bf16"}) {
    for (const char* name : {"chelsea", "rocket"}) {
      const std::string png = out_ + "/" + method + "/" + name + ".png";
      auto img = taec::read_image(png);
      ASSERT_TRUE(img.ok()) << png << ": " << img.status().message();
      EXPECT_EQ(img->height, 64);
      EXPECT_EQ(img->width, 64);
    }
  }
  EXPECT_THAT(result_->err, HasSubstr("[4/4] rocket bf16"));
  EXPECT_THAT(result_->out, HasSubstr("| chelsea | fp32 |"));
  EXPECT_THAT(result_->out, HasSubstr("| **mean** | **bf16** |"));
}

TEST_F(QualityRoundtrip, SummaryJsonHoldsMetricsAndTimings) {
  const auto j = nlohmann::json::parse(slurp(out_ + "/summary.json"));
  EXPECT_EQ(j["variant"], "taef2");
  EXPECT_EQ(j["size"], 64);
  ASSERT_EQ(j["methods"].size(), 2u);
  EXPECT_EQ(j["methods"][0]["name"], "fp32");
  EXPECT_THAT(j["methods"][1]["label"].get<std::string>(), HasSubstr("encoder kept fp32"));
  ASSERT_EQ(j["images"].size(), 2u);
  for (const auto& img : j["images"]) {
    for (const char* m : {"fp32", "bf16"}) {
      const auto& r = img["methods"][m];
      EXPECT_GT(r["vs_original"]["psnr_db"].get<double>(), 15.0) << img["name"] << " " << m;
      EXPECT_GT(r["vs_original"]["ssim"].get<double>(), 0.3);
      EXPECT_LE(r["vs_original"]["ssim"].get<double>(), 1.0);
      EXPECT_GT(r["decode_seconds"].get<double>(), 0.0);
      EXPECT_GT(r["encode_seconds"].get<double>(), 0.0);
    }
    EXPECT_EQ(img["methods"]["fp32"]["vs_fp32"]["psnr_db"], "inf");  // the baseline itself
    EXPECT_EQ(img["methods"]["fp32"]["vs_fp32"]["ssim"].get<double>(), 1.0);
    // FP16-class stays close to fp32 (well inside its 0.05 max |err| tolerance).
    EXPECT_LT(img["methods"]["bf16"]["vs_fp32"]["max_abs"].get<double>(), 0.05);
  }
}

TEST_F(QualityRoundtrip, ReportIsSelfContained) {
  const std::string html = slurp(out_ + "/report.html");
  // original + 2 methods previews, then 1 + 2 crops + 2 error maps, per image.
  EXPECT_EQ(count_of(html, "<img "), 2u * (3 + 5));
  EXPECT_EQ(count_of(html, "src=\"data:image/png;base64,"), count_of(html, "<img "));
  EXPECT_THAT(html, HasSubstr("<svg"));
  EXPECT_THAT(html, HasSubstr("<table"));
  EXPECT_EQ(count_of(html, "http://"), 1u);  // only the SVG namespace: nothing is fetched
  EXPECT_EQ(count_of(html, "https://"), 0u);
}

// Headless Chromium opens the report and its own script counts the <img> elements that decoded.
TEST_F(QualityRoundtrip, ReportRendersInHeadlessChromium) {
  if (std::system("command -v chromium >/dev/null 2>&1") != 0) {
    if (taec_test::fixtures_required()) FAIL() << "chromium is not installed (Debian package: chromium)";
    GTEST_SKIP() << "chromium is not installed (Debian package: chromium)";
  }
  const std::string html = slurp(out_ + "/report.html");
  const size_t images = count_of(html, "<img ");
  const std::string dom = out_ + "/dom.html";
  const std::string home = out_ + "/chromium-home";  // keeps the profile out of $HOME
  const std::string cmd =
      "HOME=" + taec_test::quote(home) +
      " timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run "
      "--user-data-dir=" +
      taec_test::quote(home + "/profile") + " --virtual-time-budget=5000 --dump-dom " +
      taec_test::quote("file://" + out_ + "/report.html") + " >" + taec_test::quote(dom) + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::string rendered = slurp(dom);
  EXPECT_EQ(attribute_number(rendered, "data-images-loaded"), static_cast<long>(images)) << rendered.substr(0, 2000);
  EXPECT_EQ(attribute_number(rendered, "data-images-total"), static_cast<long>(images));
}

// --methods quant: every quantized method next to fp32 and bf16, and the per-method table of
// speed-ups, weight.bin sizes and quality.
TEST(QualityRoundtripCli, QuantizedMethodsAndTheirTable) {
  TAEC_REQUIRE_FIXTURES();
  const std::string out = taec_test::temp_dir();
  const std::string img = taec_test::quote(std::string(TAEC_TEST_SHARED_DIR) + "/images/chelsea.png");
  const auto r = taec_test::run_cli("roundtrip --images " + img + " --weights taef2 --methods quant --size 64 --timing-runs 1 --out " +
                                    taec_test::quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("| method | decode s | speed-up vs fp32 | vs bf16 | weight.bin bytes |"));
  const auto j = nlohmann::json::parse(slurp(out + "/summary.json"));
  std::map<std::string, nlohmann::json> m;
  for (const auto& method : j["methods"]) m[method["name"].get<std::string>()] = method;
  ASSERT_EQ(m.size(), 6u);
  auto bytes = [&](const char* name) { return m[name]["weight_file_bytes"].get<uint64_t>(); };
  EXPECT_EQ(bytes("fp32"), bytes("bf16"));
  EXPECT_LT(bytes("palette8"), bytes("fp32") * 6 / 10);  // ~half: 8 of 16 bits per conv weight
  EXPECT_LT(bytes("palette4"), bytes("palette8") * 7 / 10);
  EXPECT_EQ(bytes("int8"), bytes("int8w"));
  EXPECT_EQ(m["int8"]["precision"], "int8");
  EXPECT_THAT(m["int8"]["decoder_kernel"].get<std::string>(), HasSubstr("i8"));
  EXPECT_THAT(m["int8"]["calibration"].get<std::string>(), HasSubstr("1 photos (image:chelsea)"));
  const auto& chelsea = j["images"][0]["methods"];
  // An identical image has PSNR "inf" (JSON has no infinity): bf16 on a CPU without bf16 kernels.
  auto psnr = [&](const char* name) {
    const auto& v = chelsea[name]["vs_fp32"]["psnr_db"];
    if (v.is_string()) {
      EXPECT_EQ(v, "inf");
      return std::numeric_limits<double>::infinity();
    }
    return v.get<double>();
  };
  // Quantized decoders stay near fp32; int8 activations add noise on top of int8 weights.
  EXPECT_GT(psnr("palette8"), 45.0);
  EXPECT_GT(psnr("int8w"), 40.0);
  EXPECT_GT(psnr("int8"), 35.0);
  EXPECT_LT(psnr("int8"), psnr("bf16"));
}

TEST(QualityRoundtripCli, UnknownMethodAndBadSizeAreUsageErrors) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const std::string img = taec_test::quote(std::string(TAEC_TEST_SHARED_DIR) + "/images/chelsea.png");
  auto r =
      taec_test::run_cli("roundtrip --images " + img + " --weights taef2 --methods fp32,int3 --size 64 --out " + dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown method 'int3'"));
  r = taec_test::run_cli("roundtrip --images " + img + " --weights taef2 --size 60 --out " + dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("multiple of 8"));
}

}  // namespace

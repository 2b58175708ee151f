// Video decoder packages (docs/PACKAGE.md "Video packages"): TAEHV checkpoints packed at two sizes
// sharing one weight.bin; verify passes; plans loaded from the package stream bitwise what a freshly
// compiled plan streams and match the golden taehv.py clips; manifests with wrong video fields are
// refused by verify and by loading; what a pack cannot validate is refused before anything is
// written.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/sha256.h"
#include "taec/taec.hpp"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using taec_test::quote;
using taec_test::run_cli;

std::string video_weights(const std::string& file) { return taec_test::model_path("taehv/" + file); }

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

struct VideoPack {
  std::string file;  // under models/taehv
  std::vector<std::pair<int, int>> sizes;
  taec_precision precision = TAEC_PRECISION_FP32;
  taec_layout layout = TAEC_LAYOUT_NCHW;
  taec_dtype io = TAEC_DTYPE_F32;
  int clip_latents = 4;
  double tolerance = 0;
  const char* weights = "none";
  const char* image_dir = nullptr;
};

taec_status pack(const VideoPack& p, const std::string& out) {
  std::vector<int> h, w;
  for (auto [a, b] : p.sizes) h.push_back(a), w.push_back(b);
  taec_pack_options o;
  taec_pack_options_init(&o);
  o.heights = h.data();
  o.widths = w.data();
  o.size_count = h.size();
  o.precision = p.precision;
  o.layout = p.layout;
  o.io_dtype = p.io;
  o.out_path = out.c_str();
  o.random_inputs = 1;
  o.clip_latents = p.clip_latents;
  o.tolerance = p.tolerance;
  o.weights = p.weights;
  o.image_dir = p.image_dir;
  return taec_pack(video_weights(p.file).c_str(), &o);
}

// A clip through a stream of `plan`, one latent at a time, every frame pulled as soon as it is
// ready; items are in the plan's layout and I/O type, `latents` back to back.
template <typename T>
std::vector<T> stream_clip(taec::Plan& plan, const T* latents, int count) {
  const taec_plan_io io = plan.io();
  taec::Stream stream(plan, count);
  std::vector<T> frames, frame(io.output_elems / io.frames_out);
  for (int t = 0; t < count; ++t) {
    stream.push(latents + t * io.input_elems);
    while (stream.pending() > 0) {
      stream.pull(frame.data());
      frames.insert(frames.end(), frame.begin(), frame.end());
    }
  }
  stream.flush();
  while (stream.pending() > 0) {
    stream.pull(frame.data());
    frames.insert(frames.end(), frame.begin(), frame.end());
  }
  return frames;
}

// Deterministic bytes standing in for latents (fp32 or fp16, N(0,1)-ish values).
template <typename T>
std::vector<T> test_latents(size_t elems) {
  std::vector<float> f(elems);
  for (size_t i = 0; i < elems; ++i) f[i] = 1.3f * std::sin(0.61f * static_cast<float>(i) + 0.2f);
  if constexpr (sizeof(T) == 4) {
    return f;
  } else {
    std::vector<uint16_t> h(elems);
    taec_f32_to_f16(f.data(), h.data(), elems);
    return h;
  }
}

// The package's plan at (h, w) and a plan compiled from the checkpoint with the same options
// stream the same clip to the same bits.
template <typename T>
void expect_loaded_equals_compiled(taec::Package& pkg, const std::string& file, int h, int w) {
  const taec_package_info info = pkg.info();
  taec::Plan loaded = pkg.load_plan(h, w);
  taec_load_options lo;
  taec_load_options_init(&lo);
  lo.role = TAEC_ROLE_DECODER;
  taec::Model model(video_weights(file), &lo);
  taec_plan_options po;
  taec_plan_options_init(&po);
  po.image_height = h;
  po.image_width = w;
  po.layout = info.layout;
  po.io_dtype = info.io_dtype;
  po.precision = info.precision;
  taec::Plan compiled(model, po);
  const int count = 4;
  const std::vector<T> latents = test_latents<T>(loaded.io().input_elems * count);
  const std::vector<T> a = stream_clip(loaded, latents.data(), count), b = stream_clip(compiled, latents.data(), count);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.size(), loaded.io().output_elems / 4 * 13) << "4 latents decode to 13 frames";
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(T)), 0) << file << " " << h << "x" << w;
}

// --- pack, verify, stream the golden clips -----------------------------------------------------

struct GoldenCase {
  std::string model, name;
  std::vector<int64_t> input_shape;  // NTCHW
};

std::vector<GoldenCase> golden_decoder_cases() {
  std::vector<GoldenCase> cases;
  std::ifstream in(taec_test::golden_dir() + "/taehv/MANIFEST.json");
  if (!in) return cases;
  const nlohmann::json manifest = nlohmann::json::parse(in);
  for (const auto& c : manifest["cases"]) {
    if (c["kind"] == "decoder") cases.push_back({c["model"], c["case"], c["input"].get<std::vector<int64_t>>()});
  }
  return cases;
}

struct GoldenPack {
  std::string file, model;
  std::vector<std::pair<int, int>> sizes;  // golden clip sizes
};

void PrintTo(const GoldenPack& g, std::ostream* os) { *os << g.file; }

class PackVideoGolden : public ::testing::TestWithParam<GoldenPack> {};

TEST_P(PackVideoGolden, VerifiesAndStreamsTheGoldenClips) {
  TAEC_REQUIRE_FIXTURES();
  const GoldenPack& g = GetParam();
  const std::string out = taec_test::temp_dir() + "/pkg";
  ASSERT_EQ(pack({g.file, g.sizes}, out), TAEC_OK) << taec_last_error();
  const auto verify = run_cli("verify " + quote(out));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("package verified"), std::string::npos);
  // One weight.bin, one plan file per size, nothing else.
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(out)) files += e.is_regular_file();
  EXPECT_EQ(files, 2 + g.sizes.size());

  taec::Package pkg(out);
  const taec_package_info info = pkg.info();
  EXPECT_EQ(info.is_video, 1);
  EXPECT_EQ(info.validation_clip_latents, 4);
  EXPECT_EQ(info.size_count, g.sizes.size());
  for (size_t i = 0; i < g.sizes.size(); ++i) {
    const taec::Package::Size s = pkg.size(i);
    EXPECT_GT(s.validated_max_abs, 0.0);
    EXPECT_LE(s.validated_max_abs, 1e-3) << "fp32 validation";
  }
  const taec_model_info model = pkg.model().info();
  EXPECT_EQ(model.is_video, 1);
  EXPECT_EQ(model.role, TAEC_ROLE_DECODER);

  int checked = 0;
  for (const GoldenCase& c : golden_decoder_cases()) {
    if (c.model != g.model) continue;
    const int h = static_cast<int>(c.input_shape[3]) * model.spatial_factor, w = static_cast<int>(c.input_shape[4]) * model.spatial_factor;
    if (std::find(g.sizes.begin(), g.sizes.end(), std::make_pair(h, w)) == g.sizes.end()) continue;
    const std::string base = taec_test::golden_dir() + "/taehv/" + c.model + "/" + c.name;
    const taec::Array input = taec::Array::load_npy(base + ".input.npy"), want = taec::Array::load_npy(base + ".output.npy");
    taec::Plan plan = pkg.load_plan(h, w);
    const int64_t clips = c.input_shape[0], latents = c.input_shape[1];
    const size_t per_clip = want.elems() / clips;
    for (int64_t n = 0; n < clips; ++n) {
      const std::vector<float> got = stream_clip(plan, input.data() + n * input.elems() / clips, static_cast<int>(latents));
      ASSERT_EQ(got.size(), per_clip) << c.name << ": frame count";
      const float err = taec_test::max_abs_diff(got.data(), want.data() + n * per_clip, per_clip);
      EXPECT_LE(err, 1e-3f) << c.name << " clip " << n;
      std::printf("%s %s clip %lld: max |err| %.3g\n", g.file.c_str(), c.name.c_str(), static_cast<long long>(n), err);
    }
    ++checked;
  }
  EXPECT_GT(checked, 0) << "no golden clip at the packed sizes";
  expect_loaded_equals_compiled<float>(pkg, g.file, g.sizes[0].first, g.sizes[0].second);
}

INSTANTIATE_TEST_SUITE_P(Models, PackVideoGolden,
                         ::testing::Values(GoldenPack{"taew2_1_synthetic.safetensors", "taew2_1", {{48, 64}, {40, 56}}},
                                           GoldenPack{"taew2_1_synthetic.pth", "taew2_1", {{48, 64}, {32, 32}}},
                                           GoldenPack{"taehv1_5_synthetic.safetensors", "taehv1_5", {{64, 96}, {96, 128}}},
                                           GoldenPack{"taew2_2_super_synthetic.safetensors", "taew2_2_super", {{64, 96}, {96, 128}}}),
                         [](const auto& info) {
                           std::string name = info.param.file;
                           for (char& ch : name) {
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

// The CLI's own example: bf16 (the default), NHWC fp16 I/O; two sizes whose plans share one
// arena stream what separately loaded plans stream.
TEST(PackVideo, CliPacksBf16AndSharedArenaPlansMatchBitwise) {
  TAEC_REQUIRE_FIXTURES();
  const std::string out = taec_test::temp_dir() + "/pkg";
  const auto r = run_cli("pack " + quote(video_weights("taew2_1_synthetic.safetensors")) + " --sizes 64x96,96x64 --random-inputs 1 --out " +
                         quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("over 1 clips; tolerance"), std::string::npos) << r.err;
  EXPECT_EQ(run_cli("verify " + quote(out)).exit_code, 0);
  const nlohmann::json m = nlohmann::json::parse(slurp(out + "/manifest.json"));
  EXPECT_EQ(m["format_version"], 2);
  EXPECT_EQ(m["video"]["frame_rule"], "standard");
  EXPECT_EQ(m["video"]["frames_out"], 4);
  EXPECT_EQ(m["validation"]["clip_latents"], 4);
  for (const auto& p : m["plans"]) {
    EXPECT_GT(p["state_bytes"].get<uint64_t>(), 0u);
    EXPECT_GT(p["validation"]["worst"]["max_abs"].get<double>(), 1e-4) << "bf16 should differ from fp32";
    EXPECT_LE(p["validation"]["worst"]["max_abs"].get<double>(), 0.06);
  }
  taec::Package pkg(out);
  expect_loaded_equals_compiled<uint16_t>(pkg, "taew2_1_synthetic.safetensors", 96, 64);

  taec_plan_options shared, own;
  taec_plan_options_init(&shared);
  taec_plan_options_init(&own);
  shared.memory = TAEC_MEMORY_PACKAGE_SHARED;
  taec::Plan a = pkg.load_plan(64, 96, &shared), b = pkg.load_plan(96, 64, &shared);
  taec::Plan a_own = pkg.load_plan(64, 96, &own), b_own = pkg.load_plan(96, 64, &own);
  const std::vector<uint16_t> latents = test_latents<uint16_t>(a.io().input_elems * 3);
  for (int round = 0; round < 2; ++round) {  // each clip starts from the other plan's leftovers
    EXPECT_EQ(stream_clip(a, latents.data(), 3), stream_clip(a_own, latents.data(), 3));
    EXPECT_EQ(stream_clip(b, latents.data(), 3), stream_clip(b_own, latents.data(), 3));
  }
}

// --- manifests with wrong video fields ----------------------------------------------------------

struct Mutation {
  const char* name;
  const char* from;
  const char* to;
  const char* flagged;  // the file verify fails
  bool fails_at_open;
};

void PrintTo(const Mutation& m, std::ostream* os) { *os << m.name; }

class VideoManifestMutation : public ::testing::TestWithParam<Mutation> {
 protected:
  static void SetUpTestSuite() {
    if (!taec_test::fixtures_present()) return;
    root_ = new std::string(taec_test::temp_dir());
    ASSERT_EQ(pack({"taew2_1_synthetic.safetensors", {{32, 32}}, TAEC_PRECISION_BF16, TAEC_LAYOUT_NHWC, TAEC_DTYPE_F16, 3},
                   *root_ + "/good"),
              TAEC_OK)
        << taec_last_error();
  }
  static void TearDownTestSuite() { delete root_; }
  static std::string* root_;
};
std::string* VideoManifestMutation::root_ = nullptr;

TEST_P(VideoManifestMutation, IsRefusedByVerifyAndByLoading) {
  TAEC_REQUIRE_FIXTURES();
  const Mutation& mu = GetParam();
  const std::string pkg = taec_test::temp_dir() + "/pkg";
  fs::copy(*root_ + "/good", pkg, fs::copy_options::recursive);
  ASSERT_EQ(run_cli("verify " + quote(pkg)).exit_code, 0);
  std::string manifest = slurp(pkg + "/manifest.json");
  const size_t at = manifest.find(mu.from);
  ASSERT_NE(at, std::string::npos) << mu.from << " in\n" << manifest;
  manifest.replace(at, std::strlen(mu.from), mu.to);
  std::ofstream(pkg + "/manifest.json", std::ios::binary) << manifest;

  const auto r = run_cli("verify " + quote(pkg));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  bool named = false;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("FAIL", 0) == 0 && line.find(mu.flagged) != std::string::npos) named = true;
  }
  EXPECT_TRUE(named) << "verify did not flag " << mu.flagged << ":\n" << r.out;
  if (r.out.find("FAIL") != std::string::npos) std::printf("%s: %s", mu.name, r.out.substr(r.out.find("FAIL")).c_str());
  try {
    taec::Package p(pkg);
    EXPECT_FALSE(mu.fails_at_open) << "opening should have failed";
    p.load_plan(32, 32);
    ADD_FAILURE() << "loading should have failed";
  } catch (const taec::Error& e) {
    EXPECT_NE(std::string(e.what()).find(mu.flagged), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fields, VideoManifestMutation,
    ::testing::Values(Mutation{"state_bytes", "\"state_bytes\": ", "\"state_bytes\": 1", "plans/32x32.json", false},
                      Mutation{"frames_out", "\"frames_out\": 4", "\"frames_out\": 5", "manifest.json", true},
                      Mutation{"frames_in", "\"frames_in\": 1", "\"frames_in\": 2", "manifest.json", true},
                      Mutation{"time_factor", "\"frames_out\": 4,\n    \"patch\": 1,\n    \"time_factor\": 4",
                               "\"frames_out\": 8,\n    \"patch\": 1,\n    \"time_factor\": 8", "weight.bin", true},
                      Mutation{"frame_rule", "\"frame_rule\": \"standard\"", "\"frame_rule\": \"cogvideox\"", "weight.bin", true},
                      Mutation{"patch", "\"patch\": 1", "\"patch\": 2", "weight.bin", true},
                      Mutation{"decoder", "\"decoder\": \"base\"", "\"decoder\": \"super\"", "weight.bin", true},
                      Mutation{"clip_latents", "\"clip_latents\": 3", "\"clip_latents\": 2", "manifest.json", true},
                      Mutation{"format_version", "\"format_version\": 2", "\"format_version\": 1", "manifest.json", true},
                      Mutation{"video_removed", "\"video\": {", "\"not_video\": {", "manifest.json", true}),
    [](const auto& info) { return std::string(info.param.name); });

// A plan file whose stream fields were edited, the manifest rehashed to match, is still caught:
// its state bytes are checked against the manifest and against the model.
TEST(PackVideo, PlanFileWithWrongStateIsCaughtEvenWithManifestRehashed) {
  TAEC_REQUIRE_FIXTURES();
  const std::string out = taec_test::temp_dir() + "/pkg";
  ASSERT_EQ(pack({"taew2_1_synthetic.safetensors", {{32, 32}}, TAEC_PRECISION_FP32, TAEC_LAYOUT_NCHW, TAEC_DTYPE_F32, 3}, out), TAEC_OK)
      << taec_last_error();
  const std::string plan_path = out + "/plans/32x32.json";
  nlohmann::json plan = nlohmann::json::parse(slurp(plan_path));
  plan["stream"]["state_bytes"] = plan["stream"]["state_bytes"].get<uint64_t>() * 2;
  const std::string text = plan.dump(2) + "\n";
  std::ofstream(plan_path, std::ios::binary) << text;
  nlohmann::json manifest = nlohmann::json::parse(slurp(out + "/manifest.json"));
  manifest["plans"][0]["state_bytes"] = plan["stream"]["state_bytes"];
  manifest["files"]["plans/32x32.json"]["bytes"] = text.size();
  manifest["files"]["plans/32x32.json"]["sha256"] = taec::sha256_hex(text.data(), text.size());
  std::ofstream(out + "/manifest.json", std::ios::binary) << manifest.dump(2) + "\n";
  const auto r = run_cli("verify " + quote(out));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("bytes of stream state"), std::string::npos) << r.out;
  taec::Package pkg(out);
  EXPECT_THROW(pkg.load_plan(32, 32), taec::Error);
}

// --- what a pack cannot validate ----------------------------------------------------------------

TEST(PackVideo, RefusesWhatItCannotValidateWithoutWriting) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const std::string out = dir + "/p";
  const std::string file = "taew2_1_synthetic.safetensors";
  auto expect_refused = [&](const VideoPack& p, taec_status status, const std::string& says) {
    EXPECT_EQ(pack(p, out), status) << says;
    EXPECT_NE(std::string(taec_last_error()).find(says), std::string::npos) << taec_last_error();
    EXPECT_FALSE(fs::exists(out));
  };
  expect_refused({file, {{32, 32}}, TAEC_PRECISION_INT8}, TAEC_ERR_UNSUPPORTED, "int8 precision is not supported for video");
  expect_refused({file, {{32, 32}}, TAEC_PRECISION_BF16, TAEC_LAYOUT_NCHW, TAEC_DTYPE_F32, 2}, TAEC_ERR_INVALID_ARGUMENT,
                 "at least 3");
  VideoPack quantized{file, {{32, 32}}};
  quantized.weights = "palette8";
  expect_refused(quantized, TAEC_ERR_INVALID_ARGUMENT, "no measured tolerance for video");
  VideoPack photos{file, {{32, 32}}};
  const std::string images = fs::path(taec_test::model_dir()).parent_path().string() + "/images";
  photos.image_dir = images.c_str();
  expect_refused(photos, TAEC_ERR_INVALID_ARGUMENT, "photos");
  expect_refused({"taehv1_5_synthetic.safetensors", {{72, 96}}}, TAEC_ERR_INVALID_ARGUMENT, "multiple of 16");
  // A tolerance the plan cannot meet: validation fails, nothing is written. Palettized weights,
  // not bf16, make the error: a CPU without bf16 kernels runs a bf16 plan exactly in fp32.
  VideoPack strict{file, {{32, 32}}, TAEC_PRECISION_BF16};
  strict.weights = "palette8";
  strict.tolerance = 1e-6;
  expect_refused(strict, TAEC_ERR_UNSUPPORTED, "exceeds the tolerance");
  // The CLI says why and exits 2.
  const auto r = run_cli("pack " + quote(video_weights(file)) + " --sizes 32 --clip-latents 2 --out " + quote(out));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("at least 3"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace

// The video reference engine (runtime/reference_engine.h) against the reference taehv.py on every
// case of ../shared/golden/taehv/MANIFEST.json, in both of its modes: frame by frame in steps (with
// the state carried between steps) and the whole clip at once; both weight formats for taew2_1.
#include <nlohmann/json.hpp>

#include <fstream>

#include "graph/model.h"
#include "io/npy.h"
#include "runtime/video_reference.h"
#include "test_util.h"

namespace {

struct VideoCase {
  std::string model, name, kind, file;
};

void PrintTo(const VideoCase& c, std::ostream* os) { *os << c.model << "/" << c.name << " (" << c.file << ")"; }

std::vector<VideoCase> load_cases() {
  std::vector<VideoCase> cases;
  std::ifstream in(taec_test::golden_dir() + "/taehv/MANIFEST.json");
  if (in) {
    const nlohmann::json manifest = nlohmann::json::parse(in);
    for (const auto& c : manifest["cases"]) {
      const std::string model = c["model"];
      for (const char* ext : {".safetensors", ".pth"}) {
        const std::string file = model + "_synthetic" + ext;
        if (std::string(ext) == ".pth" && model != "taew2_1") continue;
        cases.push_back({model, c["case"], c["kind"], file});
      }
    }
  }
  if (cases.empty()) cases.push_back({"", "fixtures_missing", "", ""});
  return cases;
}

// [N, T, C, H, W] item n, frame t.
const float* frame_at(const taec::NpyArray& a, int64_t n, int64_t t) {
  const int64_t frame = a.shape[2] * a.shape[3] * a.shape[4];
  return a.data.data() + (n * a.shape[1] + t) * frame;
}

class VideoReference : public ::testing::TestWithParam<VideoCase> {
 protected:
  void SetUp() override {
    TAEC_REQUIRE_FIXTURES();
    const VideoCase& c = GetParam();
    taec::LoadRequest request;
    request.role = static_cast<int>(c.kind == "decoder" ? taec::Role::decoder : taec::Role::encoder);
    auto model = taec::load_model(taec_test::model_dir() + "/taehv/" + c.file, request);
    ASSERT_TRUE(model.ok()) << model.status().message();
    model_ = *model;
    auto in = taec::read_npy(taec_test::golden_dir() + "/taehv/" + c.model + "/" + c.name + ".input.npy");
    auto out = taec::read_npy(taec_test::golden_dir() + "/taehv/" + c.model + "/" + c.name + ".output.npy");
    ASSERT_TRUE(in.ok() && out.ok());
    input_ = *in;
    want_ = *out;
    ASSERT_EQ(input_.shape.size(), 5u);
  }

  void expect_matches(const std::vector<float>& got, int64_t n, const char* mode) const {
    const int64_t per_item = want_.data.size() / want_.shape[0];
    ASSERT_EQ(static_cast<int64_t>(got.size()), per_item) << mode << ": frame count";
    const float err = taec_test::max_abs_diff(got.data(), want_.data.data() + n * per_item, got.size());
    EXPECT_LE(err, 1e-4f) << mode << " item " << n;
    std::printf("%s %s item %lld: max |err| %.3g\n", GetParam().name.c_str(), mode, static_cast<long long>(n), err);
  }

  void check(taec::ReferenceMode mode, const char* label) const {
    const int t = static_cast<int>(input_.shape[1]), h = static_cast<int>(input_.shape[3]), w = static_cast<int>(input_.shape[4]);
    for (int64_t n = 0; n < input_.shape[0]; ++n) {
      const float* clip = frame_at(input_, n, 0);
      const std::vector<float> got = model_->role == taec::Role::decoder ? taec::reference_decode_clip(*model_, clip, t, h, w, mode)
                                                                          : taec::reference_encode_clip(*model_, clip, t, h, w, mode);
      expect_matches(got, n, label);
    }
  }

  std::shared_ptr<const taec::Model> model_;
  taec::NpyArray input_, want_;
};

TEST_P(VideoReference, StepByStepMatchesTheReference) { check(taec::ReferenceMode::steps, "steps"); }
TEST_P(VideoReference, WholeClipMatchesTheReference) { check(taec::ReferenceMode::whole_clip, "clip"); }

INSTANTIATE_TEST_SUITE_P(Manifest, VideoReference, ::testing::ValuesIn(load_cases()), [](const auto& info) {
  std::string name = info.param.model + "_" + info.param.name + "_" + info.param.file.substr(info.param.file.find('.') + 1);
  for (char& ch : name) {
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
});

}  // namespace

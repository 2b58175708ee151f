// Video plans through streams (plan/stream.h), one latent or frame pushed at a time, against the
// reference taehv.py on every case of ../shared/golden/taehv/MANIFEST.json; a reset stream
// repeats a fresh one bitwise; 1 and 2 threads agree bitwise.
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>

#include "graph/model.h"
#include "io/npy.h"
#include "plan/plan.h"
#include "plan/stream.h"
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
      cases.push_back({model, c["case"], c["kind"], model + "_synthetic.safetensors"});
      if (model == "taew2_1") cases.push_back({model, c["case"], c["kind"], model + "_synthetic.pth"});
    }
  }
  if (cases.empty()) cases.push_back({"", "fixtures_missing", "", ""});
  return cases;
}

struct Loaded {
  std::shared_ptr<const taec::Model> model;
  taec::NpyArray input, want;  // NTCHW
};

Loaded load(const VideoCase& c) {
  Loaded l;
  taec::LoadRequest request;
  request.role = static_cast<int>(c.kind == "decoder" ? taec::Role::decoder : taec::Role::encoder);
  auto model = taec::load_model(taec_test::model_dir() + "/taehv/" + c.file, request);
  EXPECT_TRUE(model.ok()) << model.status().message();
  if (model.ok()) l.model = *model;
  l.input = taec::read_npy(taec_test::golden_dir() + "/taehv/" + c.model + "/" + c.name + ".input.npy").value();
  l.want = taec::read_npy(taec_test::golden_dir() + "/taehv/" + c.model + "/" + c.name + ".output.npy").value();
  return l;
}

std::unique_ptr<taec::Plan> compile(const Loaded& l, taec::Precision precision, int threads) {
  taec::PlanOptions o;
  const int factor = l.model->role == taec::Role::decoder ? l.model->spatial_factor : 1;
  o.image_height = static_cast<int>(l.input.shape[3]) * factor;
  o.image_width = static_cast<int>(l.input.shape[4]) * factor;
  o.precision = precision;
  o.threads = threads;
  o.layout = taec::Layout::nchw;
  auto plan = taec::compile_plan(l.model, o);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  return plan.ok() ? std::move(*plan) : nullptr;
}

// Batch item n pushed one frame at a time, everything pulled as soon as it is ready.
std::vector<float> stream_clip(taec::Plan& plan, const Loaded& l, int64_t n, taec::Stream* reuse = nullptr) {
  const int64_t t = l.input.shape[1];
  const size_t frame = static_cast<size_t>(l.input.shape[2] * l.input.shape[3] * l.input.shape[4]);
  std::unique_ptr<taec::Stream> own;
  taec::Stream* stream = reuse;
  if (stream == nullptr) {
    taec::StreamOptions so;
    if (l.model->role == taec::Role::decoder) so.clip_latents = static_cast<int>(t);
    auto made = taec::Stream::create(&plan, so);
    EXPECT_TRUE(made.ok()) << made.status().message();
    own = std::move(*made);
    stream = own.get();
  }
  std::vector<float> got, item(stream->output_bytes() / sizeof(float));
  auto drain = [&] {
    while (stream->pending() > 0) {
      EXPECT_TRUE(stream->pull(item.data()).ok());
      got.insert(got.end(), item.begin(), item.end());
    }
  };
  for (int64_t f = 0; f < t; ++f) {
    const taec::Status s = stream->push(l.input.data.data() + (n * t + f) * frame);
    EXPECT_TRUE(s.ok()) << s.message();
    drain();
  }
  EXPECT_TRUE(stream->flush().ok());
  drain();
  return got;
}

class VideoStream : public ::testing::TestWithParam<VideoCase> {
 protected:
  void SetUp() override {
    TAEC_REQUIRE_FIXTURES();
    l_ = load(GetParam());
    ASSERT_TRUE(l_.model);
  }
  void expect_golden(taec::Precision precision, float tolerance) {
    auto plan = compile(l_, precision, 0);
    ASSERT_TRUE(plan);
    const int64_t per_item = l_.want.data.size() / l_.want.shape[0];
    for (int64_t n = 0; n < l_.input.shape[0]; ++n) {
      const std::vector<float> got = stream_clip(*plan, l_, n);
      ASSERT_EQ(static_cast<int64_t>(got.size()), per_item) << "frame count";
      const float err = taec_test::max_abs_diff(got.data(), l_.want.data.data() + n * per_item, got.size());
      EXPECT_LE(err, tolerance) << "item " << n;
      std::printf("%s/%s item %lld: max |err| %.3g\n", GetParam().model.c_str(), GetParam().name.c_str(), static_cast<long long>(n), err);
    }
  }
  Loaded l_;
};

TEST_P(VideoStream, CompiledFp32MatchesTheReference) { expect_golden(taec::Precision::fp32, 1e-3f); }

TEST_P(VideoStream, ResetRepeatsAFreshStreamAndThreadsAgreeBitwise) {
  auto two = compile(l_, taec::Precision::fp32, 2), one = compile(l_, taec::Precision::fp32, 1);
  ASSERT_TRUE(two && one);
  taec::StreamOptions so;
  if (l_.model->role == taec::Role::decoder) so.clip_latents = static_cast<int>(l_.input.shape[1]);
  auto stream = taec::Stream::create(two.get(), so);
  ASSERT_TRUE(stream.ok());
  const std::vector<float> first = stream_clip(*two, l_, 0, stream->get());
  (*stream)->reset();
  const std::vector<float> again = stream_clip(*two, l_, 0, stream->get());
  const std::vector<float> single = stream_clip(*one, l_, 0);
  ASSERT_EQ(first.size(), again.size());
  EXPECT_EQ(std::memcmp(first.data(), again.data(), first.size() * sizeof(float)), 0) << "reset";
  ASSERT_EQ(first.size(), single.size());
  EXPECT_EQ(std::memcmp(first.data(), single.data(), first.size() * sizeof(float)), 0) << "1 vs 2 threads";
}

INSTANTIATE_TEST_SUITE_P(Manifest, VideoStream, ::testing::ValuesIn(load_cases()), [](const auto& info) {
  std::string name = info.param.model + "_" + info.param.name + "_" + info.param.file.substr(info.param.file.find('.') + 1);
  for (char& ch : name) {
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
});

}  // namespace

// The C API of streams (taec.h "Streams"): what a host sees when it pushes latents one at a time,
// including the mistakes it can make.
#include <gmock/gmock.h>

#include <cmath>
#include <string>
#include <vector>

#include "taec/taec.h"
#include "test_util.h"

namespace {

using ::testing::HasSubstr;

struct Fixture {
  taec_model* model = nullptr;
  taec_plan* plan = nullptr;
  taec_stream* stream = nullptr;
  taec_plan_io io{};
  ~Fixture() {
    taec_stream_free(stream);
    taec_plan_free(plan);
    taec_model_free(model);
  }
};

// taew2_1 decoder at 48x64 frames: 6x8 latents, NCHW.
void open(Fixture& f, int clip_latents) {
  taec_load_options lo;
  taec_load_options_init(&lo);
  lo.role = TAEC_ROLE_DECODER;
  const std::string path = taec_test::model_dir() + "/taehv/taew2_1_synthetic.safetensors";
  ASSERT_EQ(taec_model_load(path.c_str(), &lo, &f.model), TAEC_OK) << taec_last_error();
  taec_plan_options po;
  taec_plan_options_init(&po);
  po.image_height = 48;
  po.image_width = 64;
  po.layout = TAEC_LAYOUT_NCHW;
  ASSERT_EQ(taec_plan_compile(f.model, &po, &f.plan), TAEC_OK) << taec_last_error();
  ASSERT_EQ(taec_plan_get_io(f.plan, &f.io), TAEC_OK);
  taec_stream_options so;
  taec_stream_options_init(&so);
  so.clip_latents = clip_latents;
  ASSERT_EQ(taec_stream_create(f.plan, &so, &f.stream), TAEC_OK) << taec_last_error();
}

TEST(StreamApi, FramesAsTheyExistAndStateBytes) {
  TAEC_REQUIRE_FIXTURES();
  Fixture f;
  open(f, 3);
  EXPECT_EQ(f.io.frames_in, 1);
  EXPECT_EQ(f.io.frames_out, 4);
  taec_stream_info info;
  ASSERT_EQ(taec_stream_get_info(f.stream, &info), TAEC_OK);
  EXPECT_EQ(info.state_bytes, f.io.state_bytes);
  EXPECT_GT(info.state_bytes, 0u);
  EXPECT_EQ(info.output_bytes, 3u * 48 * 64 * sizeof(float));
  std::vector<float> latent(f.io.input_elems, 0.5f), frame(3 * 48 * 64);
  const int64_t shape[4] = {1, 16, 6, 8};
  int64_t frames = 0;
  for (int t = 0; t < 3; ++t) {
    ASSERT_EQ(taec_stream_push_shaped(f.stream, latent.data(), 4, shape), TAEC_OK) << taec_last_error();
    EXPECT_EQ(taec_stream_pending(f.stream), t == 0 ? 1u : 4u);  // the first latent gives 1 frame
    while (taec_stream_pending(f.stream) > 0) {
      ASSERT_EQ(taec_stream_pull(f.stream, frame.data()), TAEC_OK);
      ++frames;
    }
  }
  ASSERT_EQ(taec_stream_flush(f.stream), TAEC_OK);
  EXPECT_EQ(taec_stream_pending(f.stream), 0u);
  int64_t want = 0;
  ASSERT_EQ(taec_model_clip_length(f.model, 3, &want), TAEC_OK);
  EXPECT_EQ(frames, want);
  EXPECT_EQ(want, 9);
}

TEST(StreamApi, MistakesAreRefusedWithAMessage) {
  TAEC_REQUIRE_FIXTURES();
  Fixture f;
  open(f, 2);
  std::vector<float> latent(f.io.input_elems, 0.5f), frame(3 * 48 * 64);
  // A latent of another size (the host compiled for 48x64 frames, pushes a 480x832 one's shape).
  const int64_t other[4] = {1, 16, 60, 104};
  EXPECT_EQ(taec_stream_push_shaped(f.stream, latent.data(), 4, other), TAEC_ERR_SHAPE);
  EXPECT_THAT(taec_last_error(), HasSubstr("[1,16,60,104]"));
  EXPECT_THAT(taec_last_error(), HasSubstr("[1,16,6,8]"));
  const int64_t nhwc[4] = {1, 6, 8, 16};
  EXPECT_EQ(taec_stream_push_shaped(f.stream, latent.data(), 4, nhwc), TAEC_ERR_SHAPE);
  const int64_t unbatched[3] = {16, 6, 8};
  // Nothing pending yet: pulling is an error, not a stale frame.
  EXPECT_NE(taec_stream_pull(f.stream, frame.data()), TAEC_OK);
  // NaN latents are refused by default.
  std::vector<float> nan_latent = latent;
  nan_latent[7] = NAN;
  EXPECT_EQ(taec_stream_push_shaped(f.stream, nan_latent.data(), 3, unbatched), TAEC_ERR_NONFINITE) << taec_last_error();
  ASSERT_EQ(taec_stream_push_shaped(f.stream, latent.data(), 3, unbatched), TAEC_OK) << taec_last_error();
  // Pushing before pulling what is pending would lose frames.
  EXPECT_EQ(taec_stream_push(f.stream, latent.data()), TAEC_ERR_INVALID_ARGUMENT);
  while (taec_stream_pending(f.stream) > 0) ASSERT_EQ(taec_stream_pull(f.stream, frame.data()), TAEC_OK);
  ASSERT_EQ(taec_stream_push(f.stream, latent.data()), TAEC_OK);
  while (taec_stream_pending(f.stream) > 0) ASSERT_EQ(taec_stream_pull(f.stream, frame.data()), TAEC_OK);
  // Past the declared clip length, and after flush.
  EXPECT_EQ(taec_stream_push(f.stream, latent.data()), TAEC_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(taec_last_error(), HasSubstr("2 latents"));
  ASSERT_EQ(taec_stream_flush(f.stream), TAEC_OK);
  EXPECT_EQ(taec_stream_push(f.stream, latent.data()), TAEC_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(taec_last_error(), HasSubstr("after flush"));
  // A reset starts a new clip.
  ASSERT_EQ(taec_stream_reset(f.stream), TAEC_OK);
  EXPECT_EQ(taec_stream_push(f.stream, latent.data()), TAEC_OK) << taec_last_error();
  // An image model's plan runs without a stream; clip lengths of 0 are refused.
  int64_t n = 0;
  EXPECT_EQ(taec_model_clip_length(f.model, 0, &n), TAEC_ERR_INVALID_ARGUMENT);
}

}  // namespace

// A clip through a plan, one latent (decoder) or one frame (encoder) at a time.
//
// The plan is compiled once and stays immutable; a stream owns what one clip needs on top of it:
// the state (the previous frame of every MemBlock input, plan.state_floats()), its position in the
// clip, and the variant's frame rules (frame_rules.h), so frames come out exactly as the reference
// decode_video / encode_video makes them, as soon as they exist:
//   decoder: push(latent) runs one step (time_factor raw frames); the frames the rules keep are
//     then ready to pull (the first latent gives 1 frame, each later one time_factor);
//   encoder: push(frame) gathers frames until a step's worth (time_factor) is there, then runs it:
//     one latent ready. flush() pads the clip's end with copies of its last frame.
// Memory is fixed when the stream is made: the state, one step's input and one step's output.
// A decoder's ready frames must be pulled before its next push. Streams of one plan share its arena: run them
// one at a time (each push is one step of the plan).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "base/status.h"
#include "graph/frame_rules.h"
#include "plan/plan.h"

namespace taec {

struct StreamOptions {
  // Decoder: the clip's latent count when known (0: open-ended). Only the rules that look at the
  // clip's end need it: CogVideoX keeps every frame of an even-length clip, H3 drops the clip's
  // last 12 frames. Open-ended streams of those variants emit what the start rules keep.
  int clip_latents = 0;
};

class Stream {
 public:
  static Result<std::unique_ptr<Stream>> create(Plan* plan, const StreamOptions& options);

  // One latent (decoder) or RGB frame (encoder), in the plan's layout and I/O type.
  Status push(const void* input);
  // End of the clip: encoders pad to a whole step (H3: whole chunks) and drop what the rules drop;
  // H3 decoders add the padded frames their rule keeps. Then nothing more may be pushed until reset().
  Status flush();
  // Frames (decoder) or latents (encoder) ready to pull.
  size_t pending() const { return ready_.size() + released_.size(); }
  // Copies the oldest ready one into `output` (the plan's layout and I/O type).
  Status pull(void* output);
  // Back to the start of a clip, state zeroed: the same pushes give bitwise the same outputs.
  void reset();

  size_t state_bytes() const { return state_.size() * sizeof(float); }
  // Bytes of one pulled item.
  size_t output_bytes() const { return out_item_bytes_; }
  long pushed() const { return pushed_; }
  long pulled() const { return pulled_; }

 private:
  Stream(Plan* plan, const StreamOptions& options);
  Status run_step();
  Status feed(const void* frame);  // encoder: one frame into the step being gathered
  void feed_zero_frames(int count);

  Plan* plan_;
  StreamOptions options_;
  bool decoder_;
  DecodeTrim trim_;
  EncodeChunking chunking_;
  std::vector<float> state_;
  std::vector<uint8_t> in_, out_;  // one step's input and output
  std::vector<uint8_t> last_input_;
  size_t in_item_bytes_ = 0, out_item_bytes_ = 0;
  int gathered_ = 0;   // encoder: frames in in_ so far
  long pushed_ = 0, pulled_ = 0;
  long raw_ = 0;       // decoder: raw frames made so far
  long chunk_pos_ = 0; // encoder with chunks: real frames in the current chunk
  long steps_ = 0;
  bool flushed_ = false;
  // Decoder: ready frames as indices into out_ (valid until the next push). Encoder: latents
  // copied out, held back while they may still be among the clip's last dropped ones.
  std::deque<int> ready_;
  std::deque<std::vector<uint8_t>> held_, released_;
};

}  // namespace taec

#include "plan/stream.h"

#include <cstring>

namespace taec {

Stream::Stream(Plan* plan, const StreamOptions& options)
    : plan_(plan), options_(options), decoder_(plan->model().role == Role::decoder) {
  const PlanShapes& s = plan->shapes();
  const size_t dtype_bytes = plan->options().io_dtype == IoDtype::f16 ? 2 : 4;
  in_item_bytes_ = s.input_frame_elems() * dtype_bytes;
  out_item_bytes_ = s.output_frame_elems() * dtype_bytes;
  in_.resize(in_item_bytes_ * s.frames_in);
  out_.resize(out_item_bytes_ * s.frames_out);
  state_.assign(plan->state_floats(), 0.0f);
  trim_ = decode_trim(plan->model(), options.clip_latents);
  chunking_ = encode_chunking(plan->model());
}

Result<std::unique_ptr<Stream>> Stream::create(Plan* plan, const StreamOptions& options) {
  if (plan == nullptr) return Status(Code::invalid_argument, "stream: no plan");
  if (!plan->model().is_video()) return Status(Code::invalid_argument, "stream: " + plan->model().variant + " is an image model; run its plan directly");
  if (options.clip_latents < 0) return Status(Code::invalid_argument, "stream: negative clip length");
  try {
    return std::unique_ptr<Stream>(new Stream(plan, options));
  } catch (const std::bad_alloc&) {
    return Status(Code::out_of_memory, "stream: cannot allocate its state and buffers");
  }
}

void Stream::reset() {
  std::fill(state_.begin(), state_.end(), 0.0f);
  ready_.clear();
  held_.clear();
  released_.clear();
  gathered_ = 0;
  pushed_ = pulled_ = raw_ = chunk_pos_ = steps_ = 0;
  flushed_ = false;
}

Status Stream::run_step() {
  TAEC_RETURN_IF_ERROR(plan_->run_step(in_.data(), out_.data(), state_.empty() ? nullptr : state_.data()));
  ++steps_;
  const int frames_out = plan_->shapes().frames_out;
  if (decoder_) {
    for (int f = 0; f < frames_out; ++f, ++raw_) {
      if (trim_.keep(raw_)) ready_.push_back(f);
    }
    return ok_status();
  }
  for (int f = 0; f < frames_out; ++f) {
    held_.emplace_back(out_.begin() + f * out_item_bytes_, out_.begin() + (f + 1) * out_item_bytes_);
    if (static_cast<int>(held_.size()) > chunking_.drop_last_latents) {
      released_.push_back(std::move(held_.front()));
      held_.pop_front();
    }
  }
  return ok_status();
}

// Zero frames before an encoder chunk; zero bytes are 0.0 in both fp32 and fp16.
void Stream::feed_zero_frames(int count) {
  for (int i = 0; i < count; ++i) {
    std::memset(in_.data() + gathered_ * in_item_bytes_, 0, in_item_bytes_);
    ++gathered_;  // a chunk's lead plus its frames fill whole steps, so this never completes one
  }
}

Status Stream::push(const void* input) {
  if (input == nullptr) return Status(Code::invalid_argument, "stream push: no input");
  if (flushed_) return Status(Code::invalid_argument, "stream push after flush: reset the stream to start a new clip");
  if (!decoder_) {
    last_input_.assign(static_cast<const uint8_t*>(input), static_cast<const uint8_t*>(input) + in_item_bytes_);
    ++pushed_;
    return feed(input);
  }
  // A decoder's ready frames live in the step's output buffer, which the next step overwrites.
  if (!ready_.empty()) return Status(Code::invalid_argument, "stream push: " + std::to_string(ready_.size()) + " frames are still pending; pull them first");
  if (options_.clip_latents > 0 && pushed_ >= options_.clip_latents) {
    return Status(Code::invalid_argument, "stream push: the clip was declared " + std::to_string(options_.clip_latents) + " latents long");
  }
  std::memcpy(in_.data(), input, in_item_bytes_);
  // A refused latent (NaN) leaves the stream as it was: not counted, state untouched (the plan
  // checks its input before running anything).
  TAEC_RETURN_IF_ERROR(run_step());
  ++pushed_;
  return ok_status();
}

Status Stream::feed(const void* frame) {
  if (chunking_.chunk_frames > 0 && chunk_pos_ == 0) {  // a new chunk: fresh memory, lead frames
    std::fill(state_.begin(), state_.end(), 0.0f);
    feed_zero_frames(chunking_.lead_zero_frames);
  }
  std::memcpy(in_.data() + gathered_ * in_item_bytes_, frame, in_item_bytes_);
  ++gathered_;
  if (chunking_.chunk_frames > 0) chunk_pos_ = (chunk_pos_ + 1) % chunking_.chunk_frames;
  if (gathered_ < plan_->shapes().frames_in) return ok_status();
  gathered_ = 0;
  return run_step();
}

Status Stream::flush() {
  if (flushed_) return ok_status();
  if (!ready_.empty()) return Status(Code::invalid_argument, "stream flush: pull the pending frames first");
  flushed_ = true;
  if (decoder_) {
    // H3: raw frames padded to whole groups with copies of the last one, where the rule keeps them.
    const DecodeTrim whole = decode_trim(plan_->model(), static_cast<int>(pushed_));
    const int last = plan_->shapes().frames_out - 1;
    for (long r = raw_; r < whole.raw_frames(); ++r) {
      if (whole.keep(r)) ready_.push_back(last);
    }
    return ok_status();
  }
  if (pushed_ == 0) return ok_status();
  for (long f = pushed_; f < padded_frames(plan_->model(), pushed_); ++f) TAEC_RETURN_IF_ERROR(feed(last_input_.data()));
  held_.clear();  // the clip's last drop_last_latents latents
  return ok_status();
}

Status Stream::pull(void* output) {
  if (output == nullptr) return Status(Code::invalid_argument, "stream pull: no output buffer");
  if (!ready_.empty()) {
    std::memcpy(output, out_.data() + ready_.front() * out_item_bytes_, out_item_bytes_);
    ready_.pop_front();
  } else if (!released_.empty()) {
    std::memcpy(output, released_.front().data(), out_item_bytes_);
    released_.pop_front();
  } else {
    return Status(Code::invalid_argument, "stream pull: nothing is pending");
  }
  ++pulled_;
  return ok_status();
}

}  // namespace taec

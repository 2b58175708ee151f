// The C ABI of streams (taec.h "Streams"): video clips through a plan.
#include "api/c_handles.h"
#include "taec/taec.h"

#include <algorithm>
#include <string>

using taec::c_api::guarded;
using taec::c_api::invalid;
using taec::c_api::report;

extern "C" {

void taec_stream_options_init(taec_stream_options* options) {
  if (options) *options = taec_stream_options{0};
}

taec_status taec_stream_create(taec_plan* plan, const taec_stream_options* options, taec_stream** out) {
  if (plan == nullptr || out == nullptr) return invalid("taec_stream_create: NULL argument");
  *out = nullptr;
  taec_stream_options defaults;
  taec_stream_options_init(&defaults);
  const taec_stream_options& o = options ? *options : defaults;
  return guarded("creating a stream", [&] {
    taec::StreamOptions so;
    so.clip_latents = o.clip_latents;
    auto stream = taec::Stream::create(plan->plan.get(), so);
    if (!stream.ok()) return report(stream.status());
    *out = new taec_stream{std::move(*stream), plan};
    return report(taec::ok_status());
  });
}

taec_status taec_stream_push(taec_stream* stream, const void* input) {
  if (stream == nullptr || input == nullptr) return invalid("taec_stream_push: NULL argument");
  return guarded("pushing into a stream", [&] { return report(stream->stream->push(input)); });
}

taec_status taec_stream_push_shaped(taec_stream* stream, const void* input, int rank, const int64_t* shape) {
  if (stream == nullptr || input == nullptr || shape == nullptr) return invalid("taec_stream_push_shaped: NULL argument");
  taec_plan_io io;
  if (taec_plan_get_io(stream->plan, &io) != TAEC_OK) return TAEC_ERR_INTERNAL;
  auto text = [](const int64_t* dims, int n) {
    std::string t = "[";
    for (int i = 0; i < n; ++i) t += (i ? "," : "") + std::to_string(dims[i]);
    return t + "]";
  };
  // [1,C,H,W] or the same without its batch axis, in the plan's layout.
  const int64_t* want = io.input_shape;
  const bool fits = (rank == 4 && std::equal(shape, shape + 4, want)) || (rank == 3 && std::equal(shape, shape + 3, want + 1));
  if (rank < 0 || rank > 8) return invalid("taec_stream_push_shaped: rank must be 0..8");
  if (!fits) {
    return report(taec::Status(taec::Code::shape, "stream push: the input is " + text(shape, rank) + "; this stream's plan takes " +
                                                      text(want, 4) + " per push (compile a plan for that size)"));
  }
  return taec_stream_push(stream, input);
}

taec_status taec_stream_flush(taec_stream* stream) {
  if (stream == nullptr) return invalid("taec_stream_flush: NULL argument");
  return guarded("flushing a stream", [&] { return report(stream->stream->flush()); });
}

size_t taec_stream_pending(const taec_stream* stream) { return stream ? stream->stream->pending() : 0; }

taec_status taec_stream_pull(taec_stream* stream, void* output) {
  if (stream == nullptr || output == nullptr) return invalid("taec_stream_pull: NULL argument");
  return report(stream->stream->pull(output));
}

taec_status taec_stream_reset(taec_stream* stream) {
  if (stream == nullptr) return invalid("taec_stream_reset: NULL argument");
  stream->stream->reset();
  return report(taec::ok_status());
}

taec_status taec_stream_get_info(const taec_stream* stream, taec_stream_info* out) {
  if (stream == nullptr || out == nullptr) return invalid("taec_stream_get_info: NULL argument");
  const taec::Stream& s = *stream->stream;
  *out = taec_stream_info{s.state_bytes(), s.output_bytes(), s.pushed(), s.pulled()};
  return report(taec::ok_status());
}

void taec_stream_free(taec_stream* stream) { delete stream; }

}  // extern "C"

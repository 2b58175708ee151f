// The C ABI of streams (taec.h "Streams"): video clips through a plan.
#include "api/c_handles.h"
#include "taec/taec.h"

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
    *out = new taec_stream{std::move(*stream)};
    return report(taec::ok_status());
  });
}

taec_status taec_stream_push(taec_stream* stream, const void* input) {
  if (stream == nullptr || input == nullptr) return invalid("taec_stream_push: NULL argument");
  return guarded("pushing into a stream", [&] { return report(stream->stream->push(input)); });
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

#include "runtime/video_reference.h"

#include <algorithm>

#include "graph/frame_rules.h"
#include "runtime/reference_engine.h"

namespace taec {
namespace {

size_t frame_elems(const ValueShape& s) { return static_cast<size_t>(s.channels) * s.height * s.width; }

// `count` input frames (a multiple of frames_in) through the graph from a zero state.
std::vector<float> run_frames(const Graph& g, const float* frames, int count, int h, int w, ReferenceMode mode) {
  if (mode == ReferenceMode::whole_clip) return run_graph_reference_clip(g, h, w, frames, count);
  const TemporalInfo t = g.temporal();
  const auto shapes = g.infer_shapes(h, w);
  const size_t in = frame_elems(shapes.front()) * t.frames_in, out = frame_elems(shapes.back()) * t.frames_out;
  std::vector<float> state(reference_state_floats(g, h, w), 0.0f), result(count / t.frames_in * out);
  for (int s = 0; s < count / t.frames_in; ++s) run_graph_reference_step(g, h, w, frames + s * in, result.data() + s * out, state.data());
  return result;
}

}  // namespace

std::vector<float> reference_decode_clip(const Model& model, const float* latents, int count, int h, int w, ReferenceMode mode) {
  const std::vector<float> raw = run_frames(model.graph, latents, count, h, w, mode);
  const size_t frame = frame_elems(model.graph.infer_shapes(h, w).back());
  const DecodeTrim trim = decode_trim(model, count);
  const long last = static_cast<long>(raw.size() / frame) - 1;
  std::vector<float> kept;
  for (long r = 0; r < trim.raw_frames(); ++r) {
    const auto from = raw.begin() + std::min(r, last) * static_cast<long>(frame);
    if (trim.keep(r)) kept.insert(kept.end(), from, from + static_cast<long>(frame));
  }
  return kept;
}

std::vector<float> reference_encode_clip(const Model& model, const float* frames, int count, int height, int width,
                                         ReferenceMode mode) {
  const EncodeChunking c = encode_chunking(model);
  const long padded = padded_frames(model, count);
  const long chunk = c.chunk_frames > 0 ? c.chunk_frames : padded;
  const size_t frame = static_cast<size_t>(model.image_channels) * height * width;
  const size_t latent = frame_elems(model.graph.infer_shapes(height, width).back());
  std::vector<float> latents;
  for (long begin = 0; begin < padded; begin += chunk) {
    std::vector<float> input(static_cast<size_t>(c.lead_zero_frames) * frame, 0.0f);
    for (long f = begin; f < begin + chunk; ++f) {
      const float* p = frames + std::min<long>(f, count - 1) * frame;
      input.insert(input.end(), p, p + frame);
    }
    const std::vector<float> z = run_frames(model.graph, input.data(), static_cast<int>(input.size() / frame), height, width, mode);
    latents.insert(latents.end(), z.begin(), z.end());
  }
  latents.resize(std::max<long>(0, static_cast<long>(latents.size() / latent) - c.drop_last_latents) * latent);
  return latents;
}

}  // namespace taec

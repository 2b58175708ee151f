#include "graph/frame_rules.h"

#include <algorithm>

namespace taec {
namespace {

// MiniMax H3 decodes in groups of 20 raw frames whose first 3 belong to the 3 zero frames its
// encoder puts before every 17-frame chunk.
constexpr int kH3Group = 20, kH3Lead = 3, kH3Tail = 12;
constexpr int kH3Chunk = kH3Group - kH3Lead;  // real frames per encoder chunk
constexpr int kH3DroppedLatents = 3;

}  // namespace

const char* frame_rule_name(FrameRule rule) {
  switch (rule) {
    case FrameRule::image: return "image";
    case FrameRule::standard: return "standard";
    case FrameRule::cogvideox: return "cogvideox";
    case FrameRule::h3: return "h3";
  }
  return "?";
}

bool DecodeTrim::keep(long raw) const {
  switch (rule) {
    case FrameRule::image: return raw == 0;
    case FrameRule::cogvideox:
      if (latents > 0 && latents % 2 == 0) return true;
      return raw >= time_factor - 1;
    case FrameRule::standard: return raw >= time_factor - 1;
    case FrameRule::h3: {
      if (raw % kH3Group < kH3Lead) return false;
      if (latents <= 0) return true;
      // The last kH3Tail frames of the clip padded to whole groups are dropped.
      const long padded = (long{latents} * time_factor + kH3Group - 1) / kH3Group * kH3Group;
      const long kept_before = raw / kH3Group * (kH3Group - kH3Lead) + raw % kH3Group - kH3Lead;
      return kept_before < padded / kH3Group * (kH3Group - kH3Lead) - kH3Tail;
    }
  }
  return true;
}

long DecodeTrim::raw_frames() const {
  const long raw = long{latents} * time_factor;
  return rule == FrameRule::h3 ? (raw + kH3Group - 1) / kH3Group * kH3Group : raw;
}

long DecodeTrim::frames() const {
  long n = 0;
  for (long raw = 0; raw < raw_frames(); ++raw) n += keep(raw);
  return n;
}

DecodeTrim decode_trim(const Model& model, int latents) {
  DecodeTrim t;
  t.rule = model.video.rule;
  t.time_factor = model.video.time_factor;
  t.latents = latents;
  return t;
}

EncodeChunking encode_chunking(const Model& model) {
  if (model.video.rule == FrameRule::h3) return {kH3Chunk, kH3Lead, kH3DroppedLatents};
  return {};
}

long padded_frames(const Model& model, long frames) {
  const EncodeChunking c = encode_chunking(model);
  const long unit = c.chunk_frames > 0 ? c.chunk_frames : model.video.time_factor;
  return (frames + unit - 1) / unit * unit;
}

long encoded_latents(const Model& model, long frames) {
  const EncodeChunking c = encode_chunking(model);
  const long padded = padded_frames(model, frames);
  const long chunks = c.chunk_frames > 0 ? padded / c.chunk_frames : 1;
  const long per_chunk = ((c.chunk_frames > 0 ? c.chunk_frames : padded) + c.lead_zero_frames) / model.video.time_factor;
  return std::max(0L, chunks * per_chunk - c.drop_last_latents);
}

}  // namespace taec

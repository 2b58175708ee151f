// Which frames a video TAE's clip is made of, as the reference taehv.py decides (docs/VIDEO.md):
// the decoder's raw frames (time_factor per latent) are trimmed, and the encoder's input is padded.
// Streams apply these frame by frame; whole-clip decodes apply them at once.
#pragma once

#include <vector>

#include "graph/model.h"

namespace taec {

// "image", "standard", "cogvideox", "h3".
const char* frame_rule_name(FrameRule rule);

// Decoder. `latents`: the clip's latent count, or 0 when a stream does not know it (open-ended):
// then the rules that need the clip's end (cogvideox's even-length case, H3's final frames) are
// not applied and every frame the start rule keeps is emitted.
struct DecodeTrim {
  FrameRule rule = FrameRule::standard;
  int time_factor = 4;
  int latents = 0;

  // Whether raw frame `raw` (0-based over the clip) is part of the clip.
  bool keep(long raw) const;
  // Raw frames the rules look at: latents x time_factor, except H3, whose raw frames are padded to
  // whole groups of 20 with copies of the last one (which reach the clip only when latents % 5 == 1).
  long raw_frames() const;
  // Frames a clip of `latents` latents decodes to.
  long frames() const;
};

DecodeTrim decode_trim(const Model& model, int latents);

// Encoder: a clip is padded at its end with copies of its last frame to whole chunks, and each
// chunk is encoded with fresh memory after `lead_zero_frames` zero frames; the last
// `drop_last_latents` latents of the clip are dropped. Every variant but H3 is one chunk of any
// multiple of the time factor; H3 encodes 17-frame chunks after 3 zero frames each and drops 3.
struct EncodeChunking {
  int chunk_frames = 0;  // 0: the whole clip is one chunk
  int lead_zero_frames = 0;
  int drop_last_latents = 0;
};

EncodeChunking encode_chunking(const Model& model);
// Frames a clip of `frames` frames is padded to.
long padded_frames(const Model& model, long frames);
// Latents a clip of `frames` frames encodes to.
long encoded_latents(const Model& model, long frames);

}  // namespace taec

// Whole clips through the reference engine with the variant's frame rules applied: what taehv.py's
// decode_video / encode_video return (decoder output unclamped). The oracle for video streams,
// packages and the CLI's --precision reference.
#pragma once

#include <vector>

#include "graph/model.h"

namespace taec {

enum class ReferenceMode {
  steps,       // frame by frame, state carried between steps (taehv.py parallel=False)
  whole_clip,  // every op over all frames at once (parallel=True)
};

// latents: `count` frames [latent_channels, h, w]; returns the clip's frames [3, h*f, w*f].
std::vector<float> reference_decode_clip(const Model& model, const float* latents, int count, int h, int w, ReferenceMode mode);

// frames: `count` RGB frames [3, height, width] in [0, 1]; returns the latents.
std::vector<float> reference_encode_clip(const Model& model, const float* frames, int count, int height, int width,
                                         ReferenceMode mode);

}  // namespace taec

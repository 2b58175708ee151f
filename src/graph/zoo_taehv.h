// The video TAEs (TAEHV family) built from a checkpoint's tensors; see zoo_taehv.cc for the
// architecture and variants.h for the variants.
#pragma once

#include <memory>

#include "base/status.h"
#include "graph/model.h"
#include "io/checkpoint.h"

namespace taec {

// True when the tensor names are the TAEHV family's (TGrow / TPool weights are present).
bool looks_like_taehv(const Checkpoint& ckpt);

// Strict like the image builder: every tensor of the chosen half used, every shape checked,
// including the time strides the variant implies.
Result<std::shared_ptr<Model>> build_taehv_model(const Checkpoint& ckpt, const LoadRequest& request);

}  // namespace taec

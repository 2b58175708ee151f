// Finds a weight file from a path or a model name (see taec_resolve_weights in taec.h).
#pragma once

#include <string>

#include "base/status.h"
#include "graph/model.h"

namespace taec {

// Directories searched for names, in order: $TAEC_MODEL_DIR, then the cache directory.
std::string cache_dir();

Result<std::string> resolve_weights(const std::string& name_or_path, int role);

}  // namespace taec

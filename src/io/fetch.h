// Downloading the official weight files into taec's cache, verified by size and SHA-256.
//
// Only files whose checksum taec knows are fetched (official_weight()): a download that does not
// match is discarded, never used. The source is the upstream URL, or $TAEC_WEIGHTS_URL/<file>
// (a mirror, or a local server in tests). $TAEC_OFFLINE=1 disables fetching.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "graph/model.h"

namespace taec {

struct OfficialWeight {
  const char* name;  // "taef2"
  Role role;
  const char* file;  // file name in the cache, and under a mirror base URL
  const char* url;   // upstream
  uint64_t bytes;
  const char* sha256;
};

// The official file for a model name and role, or nullptr if taec knows no checksum for it.
const OfficialWeight* official_weight(const std::string& name, Role role);

// The whole download's time limit: $TAEC_FETCH_TIMEOUT_S (1..86400), else 300 seconds.
long fetch_timeout_seconds();

// Downloads `w` into `dir` (created if missing) atomically; returns the file's path. Errors name
// the URL and what went wrong (HTTP status, size, checksum).
Result<std::string> fetch_weight(const OfficialWeight& w, const std::string& dir);

}  // namespace taec

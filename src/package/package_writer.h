// Writes a package's files so that readers only ever see a complete package (see pack.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace taec {

struct PackageFile {
  std::string name;  // relative, '/'-separated
  std::vector<uint8_t> bytes;
};

// Says whether an existing `out` may be replaced (ok) or why not; see check_replaceable_package.
using ReplaceCheck = std::function<Status(const std::string& out, bool zip)>;

struct PackageChecks {
  ReplaceCheck may_replace;
  // Run on the complete temporary package before it replaces anything: a pack never installs
  // what its own verify would refuse.
  std::function<Status(const std::string& written)> verify;
};

// `files` are written in order (put manifest.json last). `out` is a directory, or with `zip` an
// uncompressed zip file. An existing `out` is replaced only if `checks.may_replace` accepts it,
// asked up front and again right before the swap (the pack may have taken minutes).
Status write_package(const std::string& out, bool zip, const std::vector<PackageFile>& files, const PackageChecks& checks);

// Marker file inside a temporary package directory while it is being written: a stale
// `<out>.partial-<pid>` is deleted only if it is empty, holds the marker or verifies as a
// package, so a user's file that happens to have such a name is never removed.
inline constexpr const char* kPartialMarker = ".taec-partial";

}  // namespace taec

// Writes a package's files so that readers only ever see a complete package (see pack.h).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace taec {

struct PackageFile {
  std::string name;  // relative, '/'-separated
  std::vector<uint8_t> bytes;
};

// `files` are written in order (put manifest.json last). `out` is a directory, or with `zip` an
// uncompressed zip file. An existing `out` is replaced only if it is a taec package (a
// directory holding manifest.json, or a file) — never an unrelated directory.
Status write_package(const std::string& out, bool zip, const std::vector<PackageFile>& files);

}  // namespace taec

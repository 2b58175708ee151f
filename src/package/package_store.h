// Where a package's files live: a directory, or an uncompressed zip holding the same layout.
// Readers go through this so verify and load treat both alike.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace taec {

// Read-only bytes of one package file: memory-mapped from a directory, or held in memory when
// extracted from a zip.
class FileBytes {
 public:
  virtual ~FileBytes() = default;
  virtual const uint8_t* data() const = 0;
  virtual size_t size() const = 0;
};

class PackageStore {
 public:
  virtual ~PackageStore() = default;
  // A directory, or a file holding a zip archive (told apart by content, not name).
  static Result<std::unique_ptr<PackageStore>> open(const std::string& path);

  const std::string& path() const { return path_; }
  // Every entry, relative to the package root with '/' separators. Anything that is not a
  // regular file (a link, a device) is listed with `regular == false` so verify can reject it.
  struct Entry {
    std::string name;
    bool regular = true;
  };
  virtual std::vector<Entry> list() const = 0;
  // Files larger than max_bytes are refused before anything is read.
  virtual Result<std::shared_ptr<const FileBytes>> read(const std::string& name, uint64_t max_bytes) const = 0;

 protected:
  explicit PackageStore(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace taec

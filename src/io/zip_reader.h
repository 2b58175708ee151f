// Read-only zip access over bytes in memory, hardened for hostile archives: every record's
// claimed sizes are checked against caps and the archive size before anything is allocated,
// expansion ratios beyond a zip bomb's are refused, and reads verify CRC and length.
// Used by .pth checkpoints and zipped packages.
#pragma once

#include <zip.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace taec {

struct ZipLimits {
  uint64_t max_record_bytes = 2ull << 30;
  uint64_t max_total_bytes = 4ull << 30;  // summed over the reads of one reader
  uint64_t max_compression_ratio = 64;    // deflated records beyond this are zip bombs
};

class ZipReader {
 public:
  // `bytes` must outlive the reader; `path` names the archive in messages.
  static Result<ZipReader> open(const std::string& path, std::span<const uint8_t> bytes, ZipLimits limits = {});

  int64_t entries() const;
  std::string name(int64_t index) const;
  bool stored(int64_t index) const;  // kept uncompressed
  // Flagged by its Unix attributes as something other than a regular file (a symlink, a
  // device): zip tools would extract it as that. Entries without Unix attributes are files.
  bool special(int64_t index) const;
  Result<std::vector<uint8_t>> read(int64_t index);

 private:
  struct Closer {
    void operator()(zip_t* z) const { zip_discard(z); }
  };
  std::string path_;
  std::span<const uint8_t> bytes_;
  ZipLimits limits_;
  uint64_t total_ = 0;
  std::unique_ptr<zip_t, Closer> zip_;
};

}  // namespace taec

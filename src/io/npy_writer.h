// A .npy written piece by piece, for outputs too large to hold (a long clip's frames): the header
// first, then the data as it is produced, in order or (seekable files) at element offsets, so a
// channel-major layout can be filled frame by frame. Atomic like every output (OutputFile): the
// file appears only when every element has been written and commit() succeeds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "base/status.h"

namespace taec {

class NpyWriter {
 public:
  static Result<NpyWriter> open(const std::string& path, const std::vector<int64_t>& shape, bool fp16);

  // `count` elements at element `offset`. A stream (pipe, terminal) takes them in order only.
  Status write(uint64_t offset, const float* data, size_t count);
  // Fails, leaving nothing, unless every element was written.
  Status commit();

  uint64_t elements() const { return elements_; }
  const std::string& path() const { return file_.path(); }
  bool seekable() const { return file_.seekable(); }

 private:
  explicit NpyWriter(OutputFile file) : file_(std::move(file)) {}

  OutputFile file_;
  bool fp16_ = false;
  uint64_t header_bytes_ = 0;
  uint64_t elements_ = 0;
  uint64_t written_ = 0;  // elements
  uint64_t next_ = 0;     // a stream's next offset
  std::vector<uint8_t> buffer_;
};

}  // namespace taec

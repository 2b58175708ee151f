// Reading inputs and writing outputs safely.
//
// Inputs: whole-file reads with a size cap; the path must name a regular file (links are
// followed). A FIFO, device, socket or directory is refused by its type before anything could
// block on it or read it endlessly.
//
// Outputs (what the README promises under "What taec writes"):
//   - a path that does not exist, or an existing regular file: written atomically — a temporary
//     file in the same directory, fsync, rename over the path — so a failed or interrupted write
//     never leaves a half-written file. A new file gets 0666 minus the umask; a replaced file
//     keeps its mode (and, when running as root, its owner);
//   - a symbolic link, a character device (/dev/null, a terminal) or a FIFO: written through
//     (opened for writing, never replaced), so the link or node stays what it was; a FIFO with
//     no reader is refused rather than waited on;
//   - a directory, a block device or a socket: refused, naming the path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace taec {

// Files larger than max_bytes are refused before anything is allocated.
Result<std::vector<uint8_t>> read_file(const std::string& path, uint64_t max_bytes);

// An input read piece by piece (a video), opened and type-checked as read_file does.
class InputFile {
 public:
  static Result<InputFile> open(const std::string& path);
  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&& other) noexcept;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  uint64_t size_bytes() const { return size_bytes_; }  // when opened

 private:
  InputFile() = default;
  std::string path_;
  int fd_ = -1;
  uint64_t size_bytes_ = 0;
};

// "a FIFO", "a character device", … for st_mode (messages).
const char* file_type_name(unsigned mode);

// One output being written. Destroying it without commit() removes the temporary file (a
// write-through output is left as far as it got: a device or FIFO cannot be taken back).
class OutputFile {
 public:
  static Result<OutputFile> open(const std::string& path);
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&& other) noexcept;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // False when writing through to a FIFO, terminal or other stream that cannot seek.
  bool seekable() const { return seekable_; }
  Status write(const void* data, size_t size);
  // At a byte offset (pwrite); seekable outputs only. Does not move the write() position.
  Status write_at(uint64_t offset, const void* data, size_t size);
  // Atomic outputs: fsync, set the mode, rename into place, fsync the directory.
  Status commit();

 private:
  OutputFile() = default;
  void discard();

  std::string path_;
  std::string tmp_;  // empty for write-through outputs
  int fd_ = -1;
  bool seekable_ = true;
  unsigned mode_ = 0;     // for a replaced regular file: its mode and owner
  long uid_ = -1, gid_ = -1;
};

// OutputFile::open + write + commit.
Status write_output_file(const std::string& path, const void* data, size_t size);

}  // namespace taec

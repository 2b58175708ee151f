#include "base/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace taec {
namespace {

std::string errno_text() { return std::strerror(errno); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string parent_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string name_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A hidden name beside the destination, so the rename stays on one filesystem.
std::string temporary_beside(const std::string& path) {
  static thread_local std::mt19937_64 rng(std::random_device{}() ^ (uint64_t(::getpid()) << 32));
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, ".tmp-%016llx", static_cast<unsigned long long>(rng()));
  return parent_of(path) + "/." + name_of(path).substr(0, 200) + suffix;
}

Status fsync_directory(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) return Status(Code::io, dir + ": cannot sync the directory: " + errno_text());
  return ok_status();
}

}  // namespace

const char* file_type_name(unsigned mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

Result<InputFile> InputFile::open(const std::string& path) {
  InputFile in;
  in.path_ = path;
  // O_NONBLOCK: opening a FIFO must not wait for a writer before its type can be checked.
  in.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (in.fd_ < 0) return Status(Code::io, path + ": cannot open: " + errno_text());
  struct stat st {};
  if (::fstat(in.fd_, &st) != 0) return Status(Code::io, path + ": cannot stat: " + errno_text());
  if (!S_ISREG(st.st_mode)) {
    return Status(Code::io, path + ": is " + file_type_name(st.st_mode) + ", not a regular file");
  }
  const int flags = ::fcntl(in.fd_, F_GETFL);
  if (flags >= 0) ::fcntl(in.fd_, F_SETFL, flags & ~O_NONBLOCK);
  in.size_bytes_ = static_cast<uint64_t>(st.st_size);
  return in;
}

InputFile::InputFile(InputFile&& other) noexcept { *this = std::move(other); }

InputFile& InputFile::operator=(InputFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    size_bytes_ = other.size_bytes_;
    other.fd_ = -1;
  }
  return *this;
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::vector<uint8_t>> read_file(const std::string& path, uint64_t max_bytes) {
  TAEC_ASSIGN_OR_RETURN(InputFile in, InputFile::open(path));
  if (in.size_bytes() > max_bytes) {
    return Status(Code::format, path + ": file is " + std::to_string(in.size_bytes()) + " bytes, more than the " +
                                    std::to_string(max_bytes) + " this kind of file may have");
  }
  std::vector<uint8_t> bytes;
  try {
    bytes.resize(static_cast<size_t>(in.size_bytes()));
  } catch (const std::bad_alloc&) {
    return Status(Code::out_of_memory, path + ": out of memory reading " + std::to_string(in.size_bytes()) + " bytes");
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(in.fd(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status(Code::io, path + ": read failed: " + errno_text());
    if (n == 0) break;  // file shrank while reading
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

Result<OutputFile> OutputFile::open(const std::string& path) {
  if (path.empty()) return Status(Code::invalid_argument, "empty output path");
  OutputFile out;
  out.path_ = path;
  struct stat st {};
  const bool exists = ::lstat(path.c_str(), &st) == 0;
  if (!exists && errno != ENOENT) return Status(Code::io, path + ": cannot stat: " + errno_text());
  bool write_through = false;
  if (exists && S_ISLNK(st.st_mode)) {
    struct stat target {};
    if (::stat(path.c_str(), &target) == 0 && (S_ISDIR(target.st_mode) || S_ISBLK(target.st_mode) || S_ISSOCK(target.st_mode))) {
      return Status(Code::invalid_argument, path + ": links to " + file_type_name(target.st_mode) + "; refusing to write to it");
    }
    write_through = true;
  } else if (exists && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
    write_through = true;
  } else if (exists && !S_ISREG(st.st_mode)) {
    return Status(Code::invalid_argument, path + ": is " + std::string(file_type_name(st.st_mode)) + "; refusing to write to it");
  }
  if (write_through) {
    // O_NONBLOCK so that a FIFO nobody reads fails (ENXIO) instead of blocking forever.
    out.fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0666);
    if (out.fd_ < 0) {
      if (errno == ENXIO) return Status(Code::io, path + ": is a FIFO that nobody reads; refusing to wait for a reader");
      return Status(Code::io, path + ": cannot open for writing: " + errno_text());
    }
    const int flags = ::fcntl(out.fd_, F_GETFL);
    if (flags >= 0) ::fcntl(out.fd_, F_SETFL, flags & ~O_NONBLOCK);
    out.seekable_ = ::lseek(out.fd_, 0, SEEK_CUR) >= 0;
    return out;
  }
  if (exists) {
    out.mode_ = st.st_mode & 07777;
    out.uid_ = st.st_uid;
    out.gid_ = st.st_gid;
  }
  for (int attempt = 0; attempt < 8 && out.fd_ < 0; ++attempt) {
    out.tmp_ = temporary_beside(path);
    // 0666: the umask decides a new file's mode, as for any program's output.
    out.fd_ = ::open(out.tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (out.fd_ < 0 && errno != EEXIST) break;
  }
  if (out.fd_ < 0) {
    const std::string why = errno_text();
    out.tmp_.clear();
    return Status(Code::io, path + ": cannot create a temporary file beside it: " + why);
  }
  return out;
}

OutputFile::OutputFile(OutputFile&& other) noexcept { *this = std::move(other); }

OutputFile& OutputFile::operator=(OutputFile&& other) noexcept {
  if (this != &other) {
    discard();
    path_ = std::move(other.path_);
    tmp_ = std::move(other.tmp_);
    fd_ = other.fd_;
    seekable_ = other.seekable_;
    mode_ = other.mode_;
    uid_ = other.uid_;
    gid_ = other.gid_;
    other.fd_ = -1;
    other.tmp_.clear();
  }
  return *this;
}

OutputFile::~OutputFile() { discard(); }

void OutputFile::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
  tmp_.clear();
}

Status OutputFile::write(const void* data, size_t size) {
  if (fd_ < 0) return Status(Code::internal, path_ + ": write after commit");
  const auto* bytes = static_cast<const uint8_t*>(data);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd_, bytes + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status(Code::io, path_ + ": write failed: " + errno_text());
    done += static_cast<size_t>(n);
  }
  return ok_status();
}

Status OutputFile::write_at(uint64_t offset, const void* data, size_t size) {
  if (fd_ < 0) return Status(Code::internal, path_ + ": write after commit");
  if (!seekable_) return Status(Code::internal, path_ + ": positioned write to a stream");
  const auto* bytes = static_cast<const uint8_t*>(data);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd_, bytes + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status(Code::io, path_ + ": write failed: " + errno_text());
    done += static_cast<size_t>(n);
  }
  return ok_status();
}

Status OutputFile::commit() {
  if (fd_ < 0) return Status(Code::internal, path_ + ": committed twice");
  auto fail = [&](const std::string& what) {
    const Status s(Code::io, path_ + ": " + what + ": " + errno_text());
    discard();
    return s;
  };
  if (tmp_.empty()) {  // write-through: nothing to rename; a pipe or device cannot be synced
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return Status(Code::io, path_ + ": close failed: " + errno_text());
    return ok_status();
  }
  if (mode_ != 0 && ::fchmod(fd_, mode_) != 0) return fail("cannot keep the replaced file's mode");
  if (uid_ >= 0 && ::geteuid() == 0) (void)!::fchown(fd_, static_cast<uid_t>(uid_), static_cast<gid_t>(gid_));
  if (::fsync(fd_) != 0) return fail("fsync failed");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return fail("close failed");
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) return fail("cannot move the new file into place");
  tmp_.clear();
  return fsync_directory(parent_of(path_));
}

Status write_output_file(const std::string& path, const void* data, size_t size) {
  TAEC_ASSIGN_OR_RETURN(OutputFile out, OutputFile::open(path));
  TAEC_RETURN_IF_ERROR(out.write(data, size));
  return out.commit();
}

}  // namespace taec

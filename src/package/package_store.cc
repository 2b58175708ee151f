#include "package/package_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include "base/file_util.h"
#include "base/text.h"
#include "io/zip_reader.h"

namespace taec {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxZipBytes = 2ull << 30;

class MappedFile final : public FileBytes {
 public:
  MappedFile(void* p, size_t n) : p_(p), n_(n) {}
  ~MappedFile() override {
    if (n_) munmap(p_, n_);
  }
  const uint8_t* data() const override { return n_ ? static_cast<const uint8_t*>(p_) : nullptr; }
  size_t size() const override { return n_; }

 private:
  void* p_;
  size_t n_;
};

class HeapFile final : public FileBytes {
 public:
  explicit HeapFile(std::vector<uint8_t> b) : b_(std::move(b)) {}
  const uint8_t* data() const override { return b_.data(); }
  size_t size() const override { return b_.size(); }

 private:
  std::vector<uint8_t> b_;
};

class DirectoryStore final : public PackageStore {
 public:
  explicit DirectoryStore(std::string path) : PackageStore(std::move(path)) {}

  // Opens `name` below the package root one component at a time with O_NOFOLLOW, so neither the
  // file nor a directory on the way (a symlinked plans/) can lead outside the package, and with
  // O_NONBLOCK, so a FIFO put in a file's place cannot make the reader wait forever.
  Result<int> open_member(const std::string& name) const {
    const std::string file = path_ + "/" + name;
    int dir = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return Status(Code::io, path_ + ": " + std::strerror(errno));
    size_t begin = 0;
    for (size_t slash = name.find('/'); slash != std::string::npos; begin = slash + 1, slash = name.find('/', begin)) {
      const int next = ::openat(dir, name.substr(begin, slash - begin).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      const int err = errno;
      ::close(dir);
      if (next < 0) {
        return Status(Code::io, file + ": " + (err == ELOOP || err == ENOTDIR ? "a directory on the way is a link or not a directory"
                                                                              : std::strerror(err)));
      }
      dir = next;
    }
    const int fd = ::openat(dir, name.substr(begin).c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    const int err = errno;
    ::close(dir);
    if (fd < 0) return Status(Code::io, file + ": " + (err == ELOOP ? "is a symbolic link, not a file" : std::strerror(err)));
    return fd;
  }

  std::vector<Entry> list() const override {
    std::vector<Entry> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const auto status = it->symlink_status(ec);
      if (ec) break;
      if (fs::is_directory(status)) continue;
      out.push_back({fs::relative(it->path(), path_, ec).generic_string(), fs::is_regular_file(status)});
    }
    return out;
  }

  Result<std::shared_ptr<const FileBytes>> read(const std::string& name, uint64_t max_bytes) const override {
    const std::string file = path_ + "/" + name;
    TAEC_ASSIGN_OR_RETURN(const int fd, open_member(name));
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return Status(Code::format, file + ": is " + std::string(file_type_name(st.st_mode)) + ", not a regular file");
    }
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size > max_bytes) {
      ::close(fd);
      return Status(Code::format, file + ": " + std::to_string(size) + " bytes, more than the " + std::to_string(max_bytes) + " allowed");
    }
    void* p = size ? mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0) : nullptr;
    ::close(fd);
    if (p == MAP_FAILED) return Status(Code::io, file + ": cannot map: " + std::strerror(errno));
    return std::shared_ptr<const FileBytes>(std::make_shared<MappedFile>(p, size));
  }
};

class ZipStore final : public PackageStore {
 public:
  static Result<std::unique_ptr<PackageStore>> open(const std::string& path) {
    auto store = std::unique_ptr<ZipStore>(new ZipStore(path));
    TAEC_ASSIGN_OR_RETURN(store->bytes_, read_file(path, kMaxZipBytes));
    ZipLimits limits;
    limits.max_record_bytes = kMaxZipBytes;
    limits.max_total_bytes = 4 * kMaxZipBytes;
    limits.max_compression_ratio = 1;  // package zips are stored uncompressed
    TAEC_ASSIGN_OR_RETURN(ZipReader reader, ZipReader::open(path, store->bytes_, limits));
    store->reader_ = std::make_unique<ZipReader>(std::move(reader));
    for (int64_t i = 0; i < store->reader_->entries(); ++i) {
      const std::string name = store->reader_->name(i);
      if (name.empty() || name.back() == '/') continue;
      if (!store->index_.emplace(name, i).second) return Status(Code::format, path + ": zip holds \"" + printable(name) + "\" twice");
    }
    return std::unique_ptr<PackageStore>(std::move(store));
  }

  std::vector<Entry> list() const override {
    std::vector<Entry> out;
    for (const auto& [name, index] : index_) out.push_back({name, reader_->stored(index) && !reader_->special(index)});
    return out;
  }

  Result<std::shared_ptr<const FileBytes>> read(const std::string& name, uint64_t max_bytes) const override {
    auto it = index_.find(name);
    if (it == index_.end()) return Status(Code::io, path_ + ": no " + name + " in the archive");
    if (!reader_->stored(it->second)) return Status(Code::format, path_ + ": " + name + " is compressed; package zips are stored uncompressed");
    if (reader_->special(it->second)) return Status(Code::format, path_ + ": " + name + " is flagged as a link or device, not a file");
    TAEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, reader_->read(it->second));
    if (bytes.size() > max_bytes) return Status(Code::format, path_ + ": " + name + " is larger than allowed");
    return std::shared_ptr<const FileBytes>(std::make_shared<HeapFile>(std::move(bytes)));
  }

 private:
  explicit ZipStore(std::string path) : PackageStore(std::move(path)) {}
  std::vector<uint8_t> bytes_;
  std::unique_ptr<ZipReader> reader_;  // mutable state (read totals) behind a const interface
  std::map<std::string, int64_t> index_;
};

}  // namespace

Result<std::unique_ptr<PackageStore>> PackageStore::open(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return Status(Code::io, path + ": no such package (directory or .zip)");
  if (fs::is_directory(status)) return std::unique_ptr<PackageStore>(std::make_unique<DirectoryStore>(path));
  return ZipStore::open(path);
}

}  // namespace taec

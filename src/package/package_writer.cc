#include "package/package_writer.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zip.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "base/file_util.h"

namespace taec {
namespace {

namespace fs = std::filesystem;

std::string errno_text() { return std::strerror(errno); }

Status fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status(Code::io, path + ": " + errno_text());
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok ? ok_status() : Status(Code::io, path + ": fsync failed: " + errno_text());
}

// Deletes a package directory manifest first, so a deletion cut short (a kill) never leaves a
// directory whose manifest lists files that are gone.
void remove_package(const fs::path& dir) {
  std::error_code ec;
  fs::remove(dir / "manifest.json", ec);
  fs::remove_all(dir, ec);
}

// Removes temporaries of earlier packs to the same destination whose process is gone (killed).
void remove_stale_partials(const fs::path& out) {
  std::error_code ec;
  const fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  const std::string prefix = out.filename().string() + ".partial-";
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) remove_package(entry.path());
  }
}

Status write_directory(const fs::path& tmp, const std::vector<PackageFile>& files) {
  std::error_code ec;
  if (!fs::create_directory(tmp, ec)) return Status(Code::io, tmp.string() + ": cannot create: " + ec.message());
  for (const PackageFile& f : files) {
    const fs::path path = tmp / f.name;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return Status(Code::io, path.parent_path().string() + ": cannot create: " + ec.message());
    TAEC_RETURN_IF_ERROR(write_file_atomic(path.string(), f.bytes.data(), f.bytes.size()));
  }
  for (const PackageFile& f : files) {
    const fs::path parent = (tmp / f.name).parent_path();
    if (parent != tmp) TAEC_RETURN_IF_ERROR(fsync_path(parent.string()));
  }
  return fsync_path(tmp.string());
}

Status write_zip(const fs::path& tmp, const std::vector<PackageFile>& files) {
  int err = 0;
  zip_t* z = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_EXCL, &err);
  if (z == nullptr) return Status(Code::io, tmp.string() + ": cannot create zip (libzip error " + std::to_string(err) + ")");
  for (const PackageFile& f : files) {
    zip_source_t* src = zip_source_buffer(z, f.bytes.data(), f.bytes.size(), 0);
    const zip_int64_t index = src ? zip_file_add(z, f.name.c_str(), src, ZIP_FL_ENC_UTF_8) : -1;
    if (index < 0) {
      if (src) zip_source_free(src);
      const std::string msg = zip_strerror(z);
      zip_discard(z);
      return Status(Code::io, tmp.string() + ": " + f.name + ": " + msg);
    }
    zip_set_file_compression(z, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
    zip_file_set_mtime(z, static_cast<zip_uint64_t>(index), 0, 0);  // reproducible bytes
  }
  // zip_close writes everything (to its own temporary, renamed onto tmp) and fails cleanly on a
  // full disk.
  if (zip_close(z) != 0) {
    const std::string msg = zip_strerror(z);
    zip_discard(z);
    return Status(Code::io, tmp.string() + ": writing the zip failed: " + msg);
  }
  return fsync_path(tmp.string());
}

// Atomically swaps two paths (Linux renameat2 RENAME_EXCHANGE).
bool exchange(const fs::path& a, const fs::path& b) {
#ifdef SYS_renameat2
  return ::syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), 2 /* RENAME_EXCHANGE */) == 0;
#else
  (void)a;
  (void)b;
  errno = ENOSYS;
  return false;
#endif
}

}  // namespace

Status write_package(const std::string& out_str, bool zip, const std::vector<PackageFile>& files) {
  const fs::path out(out_str);
  std::error_code ec;
  const auto status = fs::symlink_status(out, ec);
  const bool exists = fs::exists(status);
  if (exists) {
    if (zip && !fs::is_regular_file(status)) return Status(Code::invalid_argument, out_str + ": exists and is not a file");
    if (!zip && !(fs::is_directory(status) && fs::exists(out / "manifest.json"))) {
      if (!(fs::is_directory(status) && fs::is_empty(out, ec))) {
        return Status(Code::invalid_argument, out_str + ": exists and is not a taec package; refusing to replace it");
      }
    }
  }
  remove_stale_partials(out);
  const fs::path tmp = out.string() + ".partial-" + std::to_string(::getpid());
  remove_package(tmp);
  Status written = zip ? write_zip(tmp, files) : write_directory(tmp, files);
  if (!written.ok()) {
    remove_package(tmp);
    return written;
  }
  const std::string parent = out.parent_path().empty() ? "." : out.parent_path().string();
  if (!exists || zip) {
    // A file (zip) is replaced atomically by rename; a new directory appears atomically.
    if (::rename(tmp.c_str(), out.c_str()) != 0) {
      const std::string why = errno_text();
      remove_package(tmp);
      return Status(Code::io, out_str + ": cannot move the new package into place: " + why);
    }
  } else if (exchange(tmp, out)) {
    remove_package(tmp);  // now the previous package
  } else {
    // No atomic exchange (old kernel or filesystem): move the old one aside first. A crash
    // between the two renames leaves the old package complete under the .partial name.
    const fs::path old = out.string() + ".partial-" + std::to_string(::getpid()) + "-old";
    if (::rename(out.c_str(), old.c_str()) != 0 || ::rename(tmp.c_str(), out.c_str()) != 0) {
      const std::string why = errno_text();
      if (!fs::exists(out) && fs::exists(old)) ::rename(old.c_str(), out.c_str());
      remove_package(tmp);
      return Status(Code::io, out_str + ": cannot replace the previous package: " + why);
    }
    remove_package(old);
  }
  return fsync_path(parent);
}

}  // namespace taec

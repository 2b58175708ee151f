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
#include <vector>

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

// Deletes a package directory so that a deletion cut short (a kill) leaves neither a manifest
// listing files that are gone nor an unmarked directory: it is marked first, the manifest goes
// next, the marker last, so the next pack recognises what is left as its own and clears it.
void remove_package(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dir, ec))) {
    fs::remove(dir, ec);
    return;
  }
  const fs::path marker = dir / kPartialMarker;
  const int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) ::close(fd);
  fs::remove(dir / "manifest.json", ec);
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename() != kPartialMarker) entries.push_back(entry.path());
  }
  for (const fs::path& p : entries) fs::remove_all(p, ec);
  fs::remove(marker, ec);
  fs::remove(dir, ec);
}

// What a pack left at a temporary path: removable only if it provably came from a pack (empty,
// the marker, or a package that verifies), so a user's file that happens to have the name stays.
bool is_pack_partial(const fs::path& path, bool zip, const ReplaceCheck& is_package) {
  std::error_code ec;
  const auto status = fs::symlink_status(path, ec);
  if (fs::is_directory(status)) {
    return fs::is_empty(path, ec) || fs::is_regular_file(path / kPartialMarker, ec) || is_package(path.string(), false).ok();
  }
  return fs::is_regular_file(status) && zip && is_package(path.string(), true).ok();
}

// Removes temporaries of earlier packs to the same destination whose process is gone (killed).
void remove_stale_partials(const fs::path& out, bool zip, const ReplaceCheck& is_package) {
  std::error_code ec;
  const fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  const std::string prefix = out.filename().string() + ".partial-";
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
    if (pid <= 0 || (*end != 0 && std::strcmp(end, "-old") != 0)) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    if (is_pack_partial(entry.path(), zip, is_package)) remove_package(entry.path());
  }
}

Status write_directory(const fs::path& tmp, const std::vector<PackageFile>& files) {
  std::error_code ec;
  if (!fs::create_directory(tmp, ec)) return Status(Code::io, tmp.string() + ": cannot create: " + ec.message());
  // Created in one step (no temporary of its own): a kill leaves the directory empty or marked.
  const fs::path marker = tmp / kPartialMarker;
  const int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status(Code::io, marker.string() + ": cannot create: " + errno_text());
  ::close(fd);
  for (const PackageFile& f : files) {
    const fs::path path = tmp / f.name;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return Status(Code::io, path.parent_path().string() + ": cannot create: " + ec.message());
    TAEC_RETURN_IF_ERROR(write_output_file(path.string(), f.bytes.data(), f.bytes.size()));
  }
  for (const PackageFile& f : files) {
    const fs::path parent = (tmp / f.name).parent_path();
    if (parent != tmp) TAEC_RETURN_IF_ERROR(fsync_path(parent.string()));
  }
  if (!fs::remove(marker, ec)) return Status(Code::io, marker.string() + ": cannot remove: " + ec.message());
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

Status write_package(const std::string& out_str, bool zip, const std::vector<PackageFile>& files, const PackageChecks& checks) {
  const ReplaceCheck& may_replace = checks.may_replace;
  const fs::path out(out_str);
  TAEC_RETURN_IF_ERROR(may_replace(out_str, zip));
  remove_stale_partials(out, zip, may_replace);
  const fs::path tmp = out.string() + ".partial-" + std::to_string(::getpid());
  std::error_code ec;
  if (fs::exists(fs::symlink_status(tmp, ec))) {
    if (!is_pack_partial(tmp, zip, may_replace)) return Status(Code::io, tmp.string() + ": exists and is not taec's; refusing to replace it");
    remove_package(tmp);
  }
  Status written = zip ? write_zip(tmp, files) : write_directory(tmp, files);
  if (written.ok()) written = checks.verify(tmp.string());
  if (!written.ok()) {
    remove_package(tmp);
    return written;
  }
  const std::string parent = out.parent_path().empty() ? "." : out.parent_path().string();
  // Asked again: minutes may have passed, and something else may have appeared at `out`.
  Status replaceable = may_replace(out_str, zip);
  if (!replaceable.ok()) {
    remove_package(tmp);
    return replaceable;
  }
  const bool exists = fs::exists(fs::symlink_status(out, ec));
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

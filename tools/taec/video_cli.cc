#include "video_cli.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace taec_cli {

const char* clip_layout_name(ClipLayout layout) { return layout == ClipLayout::ntchw ? "NTCHW" : "NCTHW"; }

ClipShape clip_shape(const std::string& layout_option, std::vector<int64_t> shape, int channels, const std::string& what) {
  if (shape.size() == 4) shape.insert(shape.begin(), 1);
  if (shape.size() != 5) {
    throw taec::Error(TAEC_ERR_SHAPE, what + ": a video latent has rank 5 ([N,T,C,H,W] or [N,C,T,H,W]) or 4 (one clip), not " +
                                          std::to_string(shape.size()));
  }
  ClipShape s;
  const bool t_first = shape[2] == channels, c_first = shape[1] == channels;
  if (layout_option == "ntchw") {
    s.layout = ClipLayout::ntchw;
  } else if (layout_option == "ncthw") {
    s.layout = ClipLayout::ncthw;
  } else if (t_first && c_first) {
    throw taec::Error(TAEC_ERR_INVALID_ARGUMENT, what + ": both NTCHW and NCTHW readings have " + std::to_string(channels) +
                                                     " channels (and as many latent frames); pass --layout ntchw or --layout ncthw "
                                                     "(Wan and diffusers write NCTHW)");
  } else {
    s.layout = c_first ? ClipLayout::ncthw : ClipLayout::ntchw;
  }
  const bool ntchw = s.layout == ClipLayout::ntchw;
  s.batch = shape[0];
  s.time = ntchw ? shape[1] : shape[2];
  s.channels = ntchw ? shape[2] : shape[1];
  s.height = shape[3];
  s.width = shape[4];
  if (s.channels != channels) {
    throw taec::Error(TAEC_ERR_SHAPE, what + ": has " + std::to_string(s.channels) + " channels in its " + clip_layout_name(s.layout) +
                                          " reading, but the model takes " + std::to_string(channels));
  }
  if (s.batch < 1 || s.time < 1 || s.height < 1 || s.width < 1) {
    throw taec::Error(TAEC_ERR_SHAPE, what + ": empty clip (" + std::to_string(s.batch) + " clips of " + std::to_string(s.time) +
                                          " frames, " + std::to_string(s.height) + "x" + std::to_string(s.width) + ")");
  }
  return s;
}

uint64_t clip_offset(const ClipShape& s, int64_t n, int64_t t, int64_t c) {
  const uint64_t plane = static_cast<uint64_t>(s.height) * s.width;
  const uint64_t clip = plane * s.channels * s.time;
  const uint64_t at = s.layout == ClipLayout::ntchw ? static_cast<uint64_t>(t) * s.channels + c : static_cast<uint64_t>(c) * s.time + t;
  return n * clip + at * plane;
}

void gather_item(const ClipShape& s, const float* clip, int64_t n, int64_t t, float* item) {
  const size_t plane = static_cast<size_t>(s.height) * s.width;
  for (int64_t c = 0; c < s.channels; ++c) std::memcpy(item + c * plane, clip + clip_offset(s, n, t, c), plane * sizeof(float));
}

namespace {

std::string errno_text() { return std::strerror(errno); }

bool is_empty_dir(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return false;
  bool empty = true;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  closedir(d);
  return empty;
}

}  // namespace

FrameFolder::FrameFolder(const std::string& dir) : dir_(dir) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  struct stat st;
  if (lstat(dir_.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      throw taec::Error(TAEC_ERR_IO, dir_ + ": exists and is not a folder; --png of a clip names a new or empty folder for its frames");
    }
    if (!is_empty_dir(dir_)) {
      throw taec::Error(TAEC_ERR_IO, dir_ + ": folder is not empty; taec writes a clip's frames only into a new or empty folder");
    }
    replace_empty_ = true;
  } else if (errno != ENOENT) {
    throw taec::Error(TAEC_ERR_IO, dir_ + ": " + errno_text());
  }
  tmp_ = dir_ + ".taec-partial-" + std::to_string(getpid());
  if (mkdir(tmp_.c_str(), 0777) != 0) throw taec::Error(TAEC_ERR_IO, tmp_ + ": cannot create: " + errno_text());
}

FrameFolder::~FrameFolder() {
  if (tmp_.empty()) return;
  for (const std::string& f : written_) unlink(f.c_str());
  rmdir(tmp_.c_str());
}

void FrameFolder::write(int64_t index, const float* chw, int height, int width) {
  char name[32];
  std::snprintf(name, sizeof name, "/frame_%05lld.png", static_cast<long long>(index));
  written_.push_back(tmp_ + name);
  taec::save_png(written_.back(), chw, height, width, TAEC_LAYOUT_NCHW);
}

void FrameFolder::commit() {
  if (replace_empty_ && rmdir(dir_.c_str()) != 0) {
    throw taec::Error(TAEC_ERR_IO, dir_ + ": cannot replace the empty folder: " + errno_text());
  }
  if (rename(tmp_.c_str(), dir_.c_str()) != 0) throw taec::Error(TAEC_ERR_IO, dir_ + ": cannot move the frames into place: " + errno_text());
  tmp_.clear();
}

std::vector<std::string> list_frames(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) throw taec::Error(TAEC_ERR_IO, dir + ": cannot read folder: " + errno_text());
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    const size_t dot = name.find_last_of('.');
    if (dot == std::string::npos || name[0] == '.') continue;
    std::string ext = name.substr(dot + 1);
    for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ext == "png" || ext == "jpg" || ext == "jpeg") names.push_back(name);
  }
  closedir(d);
  // Natural order: runs of digits compare as numbers, so frame9 < frame10 without zero padding.
  auto natural_less = [](const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
      if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
        size_t ie = i, je = j;
        while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
        while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
        std::string na = a.substr(i, ie - i), nb = b.substr(j, je - j);
        na.erase(0, std::min(na.find_first_not_of('0'), na.size()));
        nb.erase(0, std::min(nb.find_first_not_of('0'), nb.size()));
        if (na.size() != nb.size()) return na.size() < nb.size();
        if (na != nb) return na < nb;
        i = ie, j = je;
      } else {
        if (a[i] != b[j]) return a[i] < b[j];
        ++i, ++j;
      }
    }
    return a.size() - i < b.size() - j || (a.size() - i == b.size() - j && a < b);
  };
  std::sort(names.begin(), names.end(), natural_less);
  for (std::string& n : names) n = dir + "/" + n;
  return names;
}

Progress::Progress(std::string what, int64_t total_in, int64_t total_out, bool quiet)
    : what_(std::move(what)), total_in_(total_in), total_out_(total_out), quiet_(quiet), tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()), last_(start_) {}

void Progress::update(int64_t done_in, int64_t done_out) {
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  if (since_last < (tty_ ? 0.2 : 5.0) && done_in < total_in_) return;
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  std::fprintf(stderr, "%s%s: %lld/%lld in, %lld/%lld out, %.1f/s%s", tty_ ? "\r" : "", what_.c_str(), static_cast<long long>(done_in),
               static_cast<long long>(total_in_), static_cast<long long>(done_out), static_cast<long long>(total_out_),
               elapsed > 0 ? done_out / elapsed : 0.0, tty_ ? "   " : "\n");
  std::fflush(stderr);
}

void Progress::finish(int64_t done_out) {
  if (quiet_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "%s%s: %lld out in %.2f s (%.1f ms each)\n", tty_ ? "\r" : "", what_.c_str(), static_cast<long long>(done_out),
               elapsed, done_out > 0 ? elapsed * 1e3 / done_out : 0.0);
}

int default_fps(const std::string& variant) {
  if (variant.rfind("taew", 0) == 0) return 16;
  if (variant == "taecvx") return 8;
  return 24;
}

}  // namespace taec_cli

#include "io/weights_locator.h"

#include <sys/stat.h>

#include <cstdlib>
#include <vector>

#include "base/file_util.h"
#include "io/fetch.h"

namespace taec {
namespace {

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// What sits at `path` when it is not a regular file, for the message ("" when nothing does).
std::string what_is_at(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return std::string("is ") + file_type_name(st.st_mode) + ", not a regular file";
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

std::string cache_dir() {
  if (!env("TAEC_CACHE_DIR").empty()) return env("TAEC_CACHE_DIR");
  if (!env("XDG_CACHE_HOME").empty()) return env("XDG_CACHE_HOME") + "/taec";
  if (!env("HOME").empty()) return env("HOME") + "/.cache/taec";
  return "";
}

Result<std::string> resolve_weights(const std::string& name_or_path, int role) {
  if (name_or_path.empty()) return Status(Code::invalid_argument, "no weights given");
  if (is_file(name_or_path)) return name_or_path;
  const bool looks_like_path = name_or_path.find('/') != std::string::npos ||
                               name_or_path.find('.') != std::string::npos;
  if (looks_like_path) {
    const std::string what = what_is_at(name_or_path);
    return Status(Code::io, name_or_path + ": " + (what.empty() ? "no such file" : what));
  }
  if (role == 0) {
    return Status(Code::invalid_argument, "model name \"" + name_or_path +
                                              "\" needs a role (decoder or encoder) to find its file");
  }
  std::vector<std::string> dirs;
  if (!env("TAEC_MODEL_DIR").empty()) dirs.push_back(env("TAEC_MODEL_DIR"));
  if (!cache_dir().empty()) dirs.push_back(cache_dir());
  const std::string stem = name_or_path + "_" + role_name(static_cast<Role>(role));
  std::string tried;
  for (const auto& dir : dirs) {
    for (const char* ext : {".safetensors", ".pth"}) {
      std::string candidate = dir + "/" + stem + ext;
      if (is_file(candidate)) return candidate;
      tried += (tried.empty() ? "" : ", ") + candidate;
    }
  }
  // Not found locally: the official file, downloaded into the cache and checked by SHA-256.
  const OfficialWeight* official = official_weight(name_or_path, static_cast<Role>(role));
  if (official != nullptr && env("TAEC_OFFLINE") != "1" && !cache_dir().empty()) {
    auto fetched = fetch_weight(*official, cache_dir());
    if (fetched.ok()) return fetched;
    return fetched.status().with_context("model \"" + name_or_path + "\": not found locally (tried " + tried +
                                         "), and fetching it failed");
  }
  if (dirs.empty()) {
    return Status(Code::io, "model \"" + name_or_path + "\": set TAEC_MODEL_DIR or pass a path to the weights");
  }
  return Status(Code::io, "model \"" + name_or_path + "\": no weight file found (tried " + tried + ")" +
                              (official ? "" : "; taec knows no checksummed download for it"));
}

}  // namespace taec

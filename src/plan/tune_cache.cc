#include "plan/tune_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "io/json_strict.h"
#include "io/weights_locator.h"

namespace taec {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "taec-tune-cache";
constexpr int kVersion = 1;
constexpr uint64_t kMaxBytes = 8u << 20;

// What this process already decided, per cache file and machine, so every plan it compiles
// agrees even without a file.
std::mutex& memo_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, TuneEntries>& memo() {
  static std::map<std::string, TuneEntries> m;
  return m;
}

bool parse_entry(const json& j, TuneEntry* out) {
  if (!j.is_object() || !j.contains("algo") || !j["algo"].is_string() || !j.contains("mode") || !j["mode"].is_string()) return false;
  if (!parse_conv_algo(j["algo"].get<std::string>(), &out->algo)) return false;
  if (!parse_tune_mode(j["mode"].get<std::string>(), &out->mode) || out->mode == TuneMode::off) return false;
  if (j.contains("ms") && j["ms"].is_object()) {
    for (const auto& [name, v] : j["ms"].items()) {
      ConvAlgo a;
      if (parse_conv_algo(name, &a) && v.is_number()) out->ms[name] = v.get<double>();
    }
  }
  return true;
}

json entry_json(const TuneEntry& e) {
  json ms = json::object();
  for (const auto& [name, v] : e.ms) ms[name] = v;
  return {{"algo", conv_algo_name(e.algo)}, {"mode", tune_mode_name(e.mode)}, {"ms", ms}};
}

// The file's document: {} when it does not exist; an error when it exists but is not ours.
Result<json> read_document(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return json{{"format", kFormat}, {"version", kVersion}, {"machines", json::object()}};
    return Status(Code::io, path + ": " + std::strerror(errno));
  }
  TAEC_ASSIGN_OR_RETURN(auto bytes, read_file(path, kMaxBytes));
  TAEC_ASSIGN_OR_RETURN(json j, parse_json_object(path, bytes.data(), bytes.size(), kMaxBytes));
  if (!j.contains("format") || j["format"] != kFormat) return Status(Code::format, path + ": not a taec tune cache");
  if (!j.contains("version") || j["version"] != kVersion || !j.contains("machines") || !j["machines"].is_object()) {
    return Status(Code::format, path + ": a tune cache of another format version");
  }
  return j;
}

TuneEntries entries_of(const json& doc, const std::string& machine) {
  TuneEntries out;
  const json& machines = doc["machines"];
  if (!machines.contains(machine) || !machines[machine].is_object()) return out;
  for (const auto& [key, v] : machines[machine].items()) {
    TuneEntry e;
    if (parse_entry(v, &e)) out[key] = e;
  }
  return out;
}

// Fast entries give way to full ones; otherwise the first recorded stays.
bool replaces(const TuneEntry& incoming, const TuneEntry& existing) {
  return incoming.mode == TuneMode::full && existing.mode == TuneMode::fast;
}

void merge_into(TuneEntries& into, const TuneEntries& from) {
  for (const auto& [key, e] : from) {
    const auto it = into.find(key);
    if (it == into.end() || replaces(e, it->second)) into[key] = e;
  }
}

}  // namespace

std::string tune_cache_path() {
  if (const char* p = std::getenv("TAEC_TUNE_CACHE"); p != nullptr && *p != 0) return p;
  const std::string dir = cache_dir();
  return dir.empty() ? "" : dir + "/tune-cache.json";
}

TuneEntries tune_cache_lookup(const std::string& machine, std::string* note) {
  TuneEntries found;
  const std::string path = tune_cache_path();
  if (!path.empty()) {
    Result<json> doc = read_document(path);
    if (doc.ok()) {
      found = entries_of(*doc, machine);
    } else {
      *note = doc.status().message() + " (ignored)";
    }
  }
  std::lock_guard<std::mutex> lock(memo_mutex());
  TuneEntries& mine = memo()[path + "\n" + machine];
  // What this process used before stays in force for it, whatever the file says now.
  for (const auto& [key, e] : mine) found[key] = e;
  return found;
}

TuneEntries tune_cache_record(const std::string& machine, const TuneEntries& measured, std::string* note) {
  TuneEntries in_force = measured;
  const std::string path = tune_cache_path();
  if (!path.empty()) {
    const std::string dir = path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
    if (!dir.empty()) ::mkdir(dir.c_str(), 0777);  // one level: the cache directory itself
    const std::string lock_path = path + ".lock";
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) {
      *note = lock_path + ": " + std::strerror(errno) + "; measured choices kept in memory only";
    } else {
      Result<json> doc = read_document(path);
      if (!doc.ok()) {
        *note = doc.status().message() + "; measured choices kept in memory only";
      } else {
        TuneEntries file = entries_of(*doc, machine);
        for (auto& [key, e] : in_force) {
          const auto it = file.find(key);
          if (it != file.end() && !replaces(e, it->second)) e = it->second;
        }
        merge_into(file, in_force);
        json entries = json::object();
        for (const auto& [key, e] : file) entries[key] = entry_json(e);
        (*doc)["machines"][machine] = entries;
        const std::string text = doc->dump(1) + "\n";
        const Status written = write_output_file(path, text.data(), text.size());
        if (!written.ok()) *note = written.message() + "; measured choices kept in memory only";
      }
    }
    if (fd >= 0) ::close(fd);
  }
  std::lock_guard<std::mutex> lock(memo_mutex());
  TuneEntries& mine = memo()[path + "\n" + machine];
  for (auto& [key, e] : in_force) {
    const auto it = mine.find(key);
    if (it != mine.end() && !replaces(e, it->second)) e = it->second;
    mine[key] = e;
  }
  return in_force;
}

}  // namespace taec

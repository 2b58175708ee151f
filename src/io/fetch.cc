#include "io/fetch.h"

#include <curl/curl.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

#include "base/file_util.h"
#include "base/sha256.h"

namespace taec {
namespace {

// The official TAEF2 weights, madebyollin/taesd commit 5cccb12dc720 ("Add support for FLUX.2
// VAE"); sizes and hashes of those files. TAEF1 and the older TAESD files are not listed: their
// checksums could not be taken from a copy here, and an unverified download is never used.
const OfficialWeight kOfficial[] = {
    {"taef2", Role::decoder, "taef2_decoder.pth", "https://raw.githubusercontent.com/madebyollin/taesd/5cccb12dc72074a4be35680c3b108548a7c69978/taef2_decoder.pth",
     2704756, "0a44a31e1ae59eb9dbf9359d24942fd3ef5928162c1800d97a28c61d51be0ab5"},
    {"taef2", Role::encoder, "taef2_encoder.pth", "https://raw.githubusercontent.com/madebyollin/taesd/5cccb12dc72074a4be35680c3b108548a7c69978/taef2_encoder.pth",
     2704692, "10a4e1021e89d7551eaf161352da8dbd0b1aa83872ae28b150c1df1ce2f147b6"},
};

struct Download {
  std::vector<uint8_t> bytes;
  uint64_t limit = 0;
  bool too_big = false;
};

size_t on_data(char* data, size_t size, size_t count, void* user) {
  auto* d = static_cast<Download*>(user);
  const size_t n = size * count;
  if (d->bytes.size() + n > d->limit) {
    d->too_big = true;
    return 0;  // aborts the transfer
  }
  d->bytes.insert(d->bytes.end(), data, data + n);
  return n;
}

std::once_flag g_curl_init;

}  // namespace

long fetch_timeout_seconds() {
  const char* v = std::getenv("TAEC_FETCH_TIMEOUT_S");
  char* end = nullptr;
  const long s = v ? std::strtol(v, &end, 10) : 0;
  return v && *v && *end == 0 && s > 0 && s <= 86400 ? s : 300;
}

const OfficialWeight* official_weight(const std::string& name, Role role) {
  for (const OfficialWeight& w : kOfficial) {
    if (name == w.name && role == w.role) return &w;
  }
  return nullptr;
}

Result<std::string> fetch_weight(const OfficialWeight& w, const std::string& dir) {
  const char* mirror = std::getenv("TAEC_WEIGHTS_URL");
  const std::string url = mirror && *mirror ? std::string(mirror) + "/" + w.file : w.url;
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Status(Code::internal, "cannot initialise libcurl");
  Download d;
  d.limit = w.bytes;
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 20L);
  // A stalled transfer (under 4 KB/s for 30 s) is given up, and so is one that drips just fast
  // enough: the whole download has fetch_timeout_seconds() (a few MB need seconds, not minutes).
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 4096L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 30L);
  const long timeout = fetch_timeout_seconds();
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &d);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "taec");
  const CURLcode rc = curl_easy_perform(curl);
  long http = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
  curl_easy_cleanup(curl);
  if (d.too_big) return Status(Code::format, url + ": longer than the " + std::to_string(w.bytes) + " bytes expected; discarded");
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return Status(Code::io, url + ": download took longer than " + std::to_string(timeout) +
                                " s (or stalled); given up (TAEC_FETCH_TIMEOUT_S sets the limit)");
  }
  if (rc != CURLE_OK) {
    return Status(Code::io, url + ": download failed (" + (error[0] ? std::string(error) : curl_easy_strerror(rc)) +
                                (http ? ", HTTP " + std::to_string(http) : "") + ")");
  }
  if (d.bytes.size() != w.bytes) {
    return Status(Code::format, url + ": " + std::to_string(d.bytes.size()) + " bytes, expected " + std::to_string(w.bytes) +
                                    " (truncated download?); discarded");
  }
  const std::string sha = sha256_hex(d.bytes.data(), d.bytes.size());
  if (sha != w.sha256) {
    return Status(Code::format, url + ": SHA-256 " + sha + " is not the official " + w.sha256 + "; discarded");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status(Code::io, dir + ": cannot create the cache directory: " + ec.message());
  const std::string path = dir + "/" + w.file;
  TAEC_RETURN_IF_ERROR(write_output_file(path, d.bytes.data(), d.bytes.size()));
  return path;
}

}  // namespace taec

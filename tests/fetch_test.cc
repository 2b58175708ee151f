// Fetching the official weights: a local HTTP server stands in for upstream ($TAEC_WEIGHTS_URL);
// the download must match the known size and SHA-256 to be used, and nothing else may land in
// the cache.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "taec/taec.hpp"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;

// Serves one body for every request (HTTP/1.0, connection closed after each response); with a
// drip interval, one 2 KB chunk per interval, like a mirror that is just fast enough to not stall.
class TinyHttpServer {
 public:
  TinyHttpServer(std::string status, std::vector<uint8_t> body, size_t claimed_length,
                 std::chrono::milliseconds drip = std::chrono::milliseconds(0))
      : status_(std::move(status)), body_(std::move(body)), claimed_(claimed_length), drip_(drip) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 4);
    thread_ = std::thread([this] { serve(); });
  }
  ~TinyHttpServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_; }

 private:
  void serve() {
    while (!stop_) {
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      (void)!read(c, buf, sizeof buf);  // the request line and headers; every path gets the body
      ++requests_;
      const std::string head = "HTTP/1.0 " + status_ + "\r\nContent-Length: " + std::to_string(claimed_) + "\r\n\r\n";
      (void)!write(c, head.data(), head.size());
      for (size_t sent = 0; sent < body_.size() && !stop_;) {
        const size_t chunk = drip_.count() ? std::min<size_t>(2048, body_.size() - sent) : body_.size() - sent;
        const ssize_t n = write(c, body_.data() + sent, chunk);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
        if (drip_.count()) std::this_thread::sleep_for(drip_);
      }
      close(c);
    }
  }
  std::string status_;
  std::vector<uint8_t> body_;
  size_t claimed_;
  std::chrono::milliseconds drip_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

class Fetch : public ::testing::Test {
 protected:
  void SetUp() override {
    TAEC_REQUIRE_FIXTURES();
    saved_model_dir_ = taec_test::model_dir();
    official_ = taec_test::read_bytes(taec_test::model_path("taef2_decoder.pth"));
    const std::string dir = taec_test::temp_dir();
    cache_ = dir + "/cache";
    setenv("TAEC_CACHE_DIR", cache_.c_str(), 1);
    setenv("TAEC_MODEL_DIR", (dir + "/empty").c_str(), 1);  // nothing local
    unsetenv("TAEC_OFFLINE");
  }
  taec_status resolve(std::string* path) {
    char buf[4096];
    const taec_status s = taec_resolve_weights("taef2", TAEC_ROLE_DECODER, buf, sizeof buf);
    if (s == TAEC_OK) *path = buf;
    return s;
  }
  void TearDown() override {
    if (!saved_model_dir_.empty()) setenv("TAEC_MODEL_DIR", saved_model_dir_.c_str(), 1);
    unsetenv("TAEC_WEIGHTS_URL");
    unsetenv("TAEC_OFFLINE");
  }
  bool cache_is_empty() const { return !fs::exists(cache_) || fs::is_empty(cache_); }

  std::vector<uint8_t> official_;
  std::string cache_;
  std::string saved_model_dir_;
};

TEST_F(Fetch, DownloadsTheOfficialFileOnceAndUsesIt) {
  TinyHttpServer server("200 OK", official_, official_.size());
  setenv("TAEC_WEIGHTS_URL", server.base_url().c_str(), 1);
  std::string path;
  ASSERT_EQ(resolve(&path), TAEC_OK) << taec_last_error();
  EXPECT_EQ(path, cache_ + "/taef2_decoder.pth");
  EXPECT_EQ(taec_test::read_bytes(path), official_);
  taec::Model model(path);
  EXPECT_STREQ(model.info().variant, "taef2");
  // Found in the cache from now on: no second request.
  ASSERT_EQ(resolve(&path), TAEC_OK);
  EXPECT_EQ(server.requests(), 1);
  // The CLI resolves names the same way.
  const auto r = taec_test::run_cli("info taef2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(Fetch, TamperedDownloadIsDiscarded) {
  std::vector<uint8_t> evil = official_;
  evil[evil.size() / 2] ^= 0x40;
  TinyHttpServer server("200 OK", evil, evil.size());
  setenv("TAEC_WEIGHTS_URL", server.base_url().c_str(), 1);
  std::string path;
  EXPECT_EQ(resolve(&path), TAEC_ERR_FORMAT);
  EXPECT_NE(std::string(taec_last_error()).find("SHA-256"), std::string::npos) << taec_last_error();
  EXPECT_TRUE(cache_is_empty());
}

TEST_F(Fetch, TruncatedOrOversizedOrMissingDownloadsFail) {
  std::string path;
  {
    // The connection drops half way through the announced length.
    TinyHttpServer server("200 OK", std::vector<uint8_t>(official_.begin(), official_.begin() + official_.size() / 2), official_.size());
    setenv("TAEC_WEIGHTS_URL", server.base_url().c_str(), 1);
    EXPECT_NE(resolve(&path), TAEC_OK);
    EXPECT_NE(std::string(taec_last_error()).find(server.base_url()), std::string::npos) << taec_last_error();
  }
  {
    std::vector<uint8_t> longer = official_;
    longer.resize(official_.size() * 2, 0);
    TinyHttpServer server("200 OK", longer, longer.size());
    setenv("TAEC_WEIGHTS_URL", server.base_url().c_str(), 1);
    EXPECT_EQ(resolve(&path), TAEC_ERR_FORMAT);
    EXPECT_NE(std::string(taec_last_error()).find("longer than"), std::string::npos) << taec_last_error();
  }
  {
    TinyHttpServer server("404 Not Found", {}, 0);
    setenv("TAEC_WEIGHTS_URL", server.base_url().c_str(), 1);
    EXPECT_EQ(resolve(&path), TAEC_ERR_IO);
    EXPECT_NE(std::string(taec_last_error()).find("404"), std::string::npos) << taec_last_error();
  }
  EXPECT_TRUE(cache_is_empty());
}

TEST_F(Fetch, DownloadThatDripsIsGivenUpAtTheTimeLimit) {
  TinyHttpServer server("200 OK", official_, official_.size(), std::chrono::milliseconds(100));  // ~20 KB/s
  setenv("TAEC_WEIGHTS_URL", server.base_url().c_str(), 1);
  setenv("TAEC_FETCH_TIMEOUT_S", "2", 1);
  std::string path;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(resolve(&path), TAEC_ERR_IO);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  unsetenv("TAEC_FETCH_TIMEOUT_S");
  EXPECT_NE(std::string(taec_last_error()).find("longer than 2 s"), std::string::npos) << taec_last_error();
  EXPECT_LT(seconds, 30.0) << "the whole download is bounded, not only a stall";
  EXPECT_TRUE(cache_is_empty());
}

TEST_F(Fetch, OfflineModeNeverDownloads) {
  TinyHttpServer server("200 OK", official_, official_.size());
  setenv("TAEC_WEIGHTS_URL", server.base_url().c_str(), 1);
  setenv("TAEC_OFFLINE", "1", 1);
  std::string path;
  EXPECT_EQ(resolve(&path), TAEC_ERR_IO);
  EXPECT_EQ(server.requests(), 0);
}

}  // namespace

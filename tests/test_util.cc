#include "test_util.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace taec_test {
namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// The library and the CLI find models by name through $TAEC_MODEL_DIR: point it at the fixtures
// for every test process and the CLI processes they start.
const bool kModelDirSet = [] {
  if (std::getenv("TAEC_MODEL_DIR") == nullptr) {
    ::setenv("TAEC_MODEL_DIR", (std::string(TAEC_TEST_SHARED_DIR) + "/models").c_str(), 1);
  }
  return true;
}();

}  // namespace

std::string model_dir() { return env_or("TAEC_MODEL_DIR", std::string(TAEC_TEST_SHARED_DIR) + "/models"); }
std::string golden_dir() { return env_or("TAEC_GOLDEN_DIR", std::string(TAEC_TEST_SHARED_DIR) + "/golden"); }
std::string model_path(const std::string& file) { return model_dir() + "/" + file; }

bool fixtures_present() {
  struct stat st {};
  return ::stat((model_dir() + "/taef2_decoder.pth").c_str(), &st) == 0 &&
         ::stat((golden_dir() + "/taef2/MANIFEST.json").c_str(), &st) == 0;
}

bool fixtures_required() { return env_or("TAEC_REQUIRE_FIXTURES", "0") == "1"; }

std::string temp_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "taec";
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("taec_test_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

CliResult run_cli(const std::string& args, const std::string& shell_prefix) {
  static int counter = 0;
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("taec_cli_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::create_directories(dir);
  const std::string cmd = shell_prefix + std::string(TAEC_TEST_CLI) + " " + args + " >" + (dir / "out").string() + " 2>" +
                          (dir / "err").string();
  const int status = std::system(cmd.c_str());
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  CliResult result{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir / "out"), slurp(dir / "err")};
  std::filesystem::remove_all(dir);
  return result;
}

float max_abs_diff(const float* a, const float* b, size_t n) {
  float worst = 0;
  for (size_t i = 0; i < n; ++i) {
    const float d = std::fabs(a[i] - b[i]);
    if (!(d <= worst)) worst = d;  // also catches NaN
  }
  return worst;
}

}  // namespace taec_test

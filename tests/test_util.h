// Fixture locations and comparison helpers shared by the tests.
//
// Fixtures (../shared/models, ../shared/golden) are found through $TAEC_MODEL_DIR and
// $TAEC_GOLDEN_DIR, else the CMake cache's TAEC_SHARED_DIR. Where they are absent the tests that
// need them skip, unless TAEC_REQUIRE_FIXTURES=1 (CI) makes that a failure.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace taec_test {

std::string model_dir();
std::string golden_dir();
std::string model_path(const std::string& file);  // model_dir() + "/" + file
bool fixtures_present();

// Skips (or fails under TAEC_REQUIRE_FIXTURES=1) when the shared fixtures are missing.
#define TAEC_REQUIRE_FIXTURES()                                                                 \
  do {                                                                                          \
    if (!::taec_test::fixtures_present()) {                                                     \
      if (::taec_test::fixtures_required()) FAIL() << "fixtures missing: " << ::taec_test::model_dir(); \
      GTEST_SKIP() << "fixtures missing: " << ::taec_test::model_dir();                         \
    }                                                                                           \
  } while (0)
bool fixtures_required();

// A fresh, empty directory under the system temp dir for this test.
std::string temp_dir();

std::vector<uint8_t> read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);

float max_abs_diff(const float* a, const float* b, size_t n);

// Runs the built taec CLI with `args` (a shell fragment), capturing exit code, stdout, stderr.
struct CliResult {
  int exit_code;
  std::string out, err;
};
// `shell_prefix` runs first in the same shell (e.g. "ulimit -v 102400; ").
CliResult run_cli(const std::string& args, const std::string& shell_prefix = "");
std::string quote(const std::string& s);  // single-quoted for the shell

}  // namespace taec_test

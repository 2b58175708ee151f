// The committed corpus of bad inputs (tests/corpus/bad, written by make_bad_corpus.py): every
// file, fed to the CLI command EXPECT.tsv names, must fail with exit code 2 and a message that
// contains the expected text — never a crash, a hang or another code.
#include <gmock/gmock.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "test_util.h"

namespace {

struct BadInput {
  std::string file, command, expect;
};

void PrintTo(const BadInput& b, std::ostream* os) { *os << b.file; }

std::vector<BadInput> load_expectations() {
  std::vector<BadInput> rows;
  std::ifstream in(std::string(TAEC_TEST_CORPUS_DIR) + "/EXPECT.tsv");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    BadInput b;
    std::getline(fields, b.file, '\t');
    std::getline(fields, b.command, '\t');
    std::getline(fields, b.expect);
    rows.push_back(b);
  }
  return rows;
}

class BadCorpusTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadCorpusTest, FailsWithExitCode2AndSaysWhy) {
  const BadInput& b = GetParam();
  const std::string path = taec_test::quote(std::string(TAEC_TEST_CORPUS_DIR) + "/" + b.file);
  const std::string out = taec_test::temp_dir();
  std::string args;
  if (b.command == "info") {
    args = "info " + path;
  } else {
    TAEC_REQUIRE_FIXTURES();  // decode/encode need real weights to get as far as the input
    args = b.command == "decode" ? "decode taef2 " + path + " --png " + out + "/x.png"
                                 : "encode taef2 " + path + " -o " + out + "/x.npy";
  }
  const taec_test::CliResult r = taec_test::run_cli(args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, ::testing::HasSubstr(b.expect));
  EXPECT_THAT(r.err, ::testing::HasSubstr("taec: error:"));
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadCorpusTest, ::testing::ValuesIn(load_expectations()),
                         [](const ::testing::TestParamInfo<BadInput>& info) {
                           std::string name = info.param.file.substr(0, info.param.file.find('.'));
                           return name;
                         });

// A file added without an expectation (or a row left for a deleted file) would go untested.
TEST(BadCorpus, EveryFileHasExactlyOneExpectation) {
  std::set<std::string> files, listed;
  for (const auto& entry : std::filesystem::directory_iterator(TAEC_TEST_CORPUS_DIR)) {
    if (entry.path().extension() == ".bad") files.insert(entry.path().filename().string());
  }
  for (const auto& b : load_expectations()) EXPECT_TRUE(listed.insert(b.file).second) << b.file << " listed twice";
  EXPECT_EQ(files, listed);
  EXPECT_GE(files.size(), 35u);
}

}  // namespace

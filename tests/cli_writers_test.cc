// Every writer of the CLI pointed at what a user may already have there — a device node, a FIFO,
// a symlink, a directory or file of their own — must write through it or refuse, and never
// replace or delete anything of the user's (README "What taec writes").
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>

#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using taec_test::quote;
using taec_test::run_cli;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

bool is_char_device(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISCHR(st.st_mode);
}

std::string latent() { return quote(taec_test::golden_dir() + "/taef2/dec_astronaut_32x32.input.npy"); }
std::string decoder() { return quote(taec_test::model_path("taef2_decoder.safetensors")); }

// A user's directory: two files and a subdirectory, compared after each attempt.
struct UserDir {
  explicit UserDir(const std::string& path) : path(path) {
    fs::create_directories(path + "/sub");
    std::ofstream(path + "/manifest.json") << "{\"mine\": true}";  // looks a bit like a package
    std::ofstream(path + "/sub/notes.txt") << "keep me";
  }
  void expect_intact() const {
    EXPECT_EQ(slurp(path + "/manifest.json"), "{\"mine\": true}");
    EXPECT_EQ(slurp(path + "/sub/notes.txt"), "keep me");
    size_t entries = 0;
    for (auto it = fs::recursive_directory_iterator(path); it != fs::recursive_directory_iterator(); ++it) ++entries;
    EXPECT_EQ(entries, 3u) << path;
  }
  std::string path;
};

TEST(CliWriters, DecodeWritesThroughDevicesAndLinks) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  auto r = run_cli("decode " + decoder() + " " + latent() + " --layout nchw --png /dev/null --npy /dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(is_char_device("/dev/null"));
  if (::mknod((dir + "/node").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {  // root: a node of our own
    r = run_cli("decode " + decoder() + " " + latent() + " --layout nchw --png " + quote(dir + "/node"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(is_char_device(dir + "/node"));
  }
  // A symlink (to a file, and to stdout) stays a symlink.
  std::ofstream(dir + "/target.npy") << "old";
  fs::create_symlink(dir + "/target.npy", dir + "/link.npy");
  fs::create_symlink("/dev/stdout", dir + "/stdout.png");
  r = run_cli("decode " + decoder() + " " + latent() + " --layout nchw --npy " + quote(dir + "/link.npy") + " --png " +
              quote(dir + "/stdout.png"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_symlink(dir + "/link.npy"));
  EXPECT_TRUE(fs::is_symlink(dir + "/stdout.png"));
  EXPECT_EQ(slurp(dir + "/target.npy").substr(1, 5), "NUMPY");
  EXPECT_EQ(r.out.substr(1, 3), "PNG") << "the PNG went through the link to stdout";
}

TEST(CliWriters, DecodeToAFifoStreamsOrRefuses) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const std::string fifo = dir + "/fifo.png";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto r = run_cli("decode " + decoder() + " " + latent() + " --layout nchw --png " + quote(fifo));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("nobody reads"));
  // With a reader, the PNG flows through and the FIFO stays a FIFO.
  const std::string copy = dir + "/copy.png";
  std::thread reader([&] { std::system(("cat " + quote(fifo) + " > " + quote(copy)).c_str()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  r = run_cli("decode " + decoder() + " " + latent() + " --layout nchw --png " + quote(fifo));
  reader.join();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(slurp(copy).substr(1, 3), "PNG");
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST(CliWriters, DecodeRefusesADirectory) {
  TAEC_REQUIRE_FIXTURES();
  const UserDir mine(taec_test::temp_dir() + "/mine");
  const auto r = run_cli("decode " + decoder() + " " + latent() + " --layout nchw --npy " + quote(mine.path));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("is a directory"));
  mine.expect_intact();
}

TEST(CliWriters, PackNeverReplacesWhatIsNotAPackage) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const std::string pack = "pack " + decoder() + " --sizes 64 --random-inputs 1 --out ";
  const UserDir mine(dir + "/mine");
  auto r = run_cli(pack + quote(mine.path));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("not a taec package that verifies"));
  mine.expect_intact();
  // --zip over a user's file, and over a link.
  std::ofstream(dir + "/thesis.zip") << "years of work";
  r = run_cli(pack + quote(dir + "/thesis.zip") + " --zip");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(slurp(dir + "/thesis.zip"), "years of work");
  fs::create_symlink(mine.path, dir + "/link");
  r = run_cli(pack + quote(dir + "/link"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("symbolic link"));
  EXPECT_TRUE(fs::is_symlink(dir + "/link"));
  mine.expect_intact();
  // A device node as --out.
  r = run_cli(pack + "/dev/null --zip");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(is_char_device("/dev/null"));
  // A user's file named like the temporary of a killed pack (a dead pid) is not cleaned up.
  std::ofstream(dir + "/pkg.partial-999999999") << "mine";
  r = run_cli(pack + quote(dir + "/pkg"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(slurp(dir + "/pkg.partial-999999999"), "mine");
  // A package that verifies is replaced.
  r = run_cli(pack + quote(dir + "/pkg"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(CliWriters, ExportNeverReplacesWhatTaecDidNotWrite) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const std::string out = dir + "/out";
  const std::string exported = out + "/taef2_decoder_64.mlpackage";
  const UserDir mine(exported);
  auto r = run_cli("export coreml " + decoder() + " --sizes 64 --out " + quote(out));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("refusing to replace"));
  mine.expect_intact();
  // Once it is taec's own package, a new export replaces it.
  fs::remove_all(exported);
  r = run_cli("export coreml " + decoder() + " --sizes 64 --out " + quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_cli("export coreml " + decoder() + " --sizes 64 --out " + quote(out));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // A user's file inside taec's package makes it the user's again.
  std::ofstream(exported + "/README") << "mine";
  r = run_cli("export coreml " + decoder() + " --sizes 64 --out " + quote(out));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(slurp(exported + "/README"), "mine");
}

}  // namespace

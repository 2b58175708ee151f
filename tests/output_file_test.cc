// How taec reads inputs and writes outputs (base/file_util.h): atomic replacement for regular
// files only, write-through for links, devices and FIFOs, the umask and an existing file's mode
// respected, and inputs refused by type before anything can block.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>

#include "base/file_util.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode;
}

// No temporary left beside the destination.
void expect_only(const std::string& dir, const std::set<std::string>& names) {
  std::set<std::string> found;
  for (const auto& e : fs::directory_iterator(dir)) found.insert(e.path().filename().string());
  EXPECT_EQ(found, names);
}

TEST(OutputFile, NewFileGetsTheUmasksMode) {
  const std::string dir = taec_test::temp_dir();
  for (mode_t mask : {mode_t{022}, mode_t{077}}) {
    const mode_t old = ::umask(mask);
    const std::string path = dir + "/new" + std::to_string(mask);
    ASSERT_TRUE(taec::write_output_file(path, "abc", 3).ok());
    ::umask(old);
    EXPECT_EQ(mode_of(path) & 0777, 0666 & ~mask);
    EXPECT_EQ(slurp(path), "abc");
  }
  expect_only(dir, {"new18", "new63"});
}

TEST(OutputFile, ReplacedFileKeepsItsMode) {
  const std::string dir = taec_test::temp_dir();
  const std::string path = dir + "/keep";
  std::ofstream(path) << "old";
  ::chmod(path.c_str(), 0751);
  const ino_t before = [&] { struct stat st {}; ::stat(path.c_str(), &st); return st.st_ino; }();
  ASSERT_TRUE(taec::write_output_file(path, "new", 3).ok());
  EXPECT_EQ(mode_of(path) & 07777, 0751u);
  EXPECT_EQ(slurp(path), "new");
  struct stat st {};
  ::stat(path.c_str(), &st);
  EXPECT_NE(st.st_ino, before) << "a regular file is replaced atomically (a new inode renamed over it)";
  expect_only(dir, {"keep"});
}

TEST(OutputFile, DevicesStayDevices) {
  ASSERT_TRUE(taec::write_output_file("/dev/null", "x", 1).ok());
  EXPECT_TRUE(S_ISCHR(mode_of("/dev/null")));
  // A device node of the test's own, when allowed to make one (root).
  const std::string dir = taec_test::temp_dir();
  const std::string node = dir + "/null";
  if (::mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {
    ASSERT_TRUE(taec::write_output_file(node, "x", 1).ok());
    EXPECT_TRUE(S_ISCHR(mode_of(node)));
    expect_only(dir, {"null"});
  }
}

TEST(OutputFile, LinksAreWrittenThroughNotReplaced) {
  const std::string dir = taec_test::temp_dir();
  std::ofstream(dir + "/target") << "old";
  fs::create_symlink(dir + "/target", dir + "/link");
  ASSERT_TRUE(taec::write_output_file(dir + "/link", "new", 3).ok());
  EXPECT_TRUE(S_ISLNK(mode_of(dir + "/link")));
  EXPECT_EQ(slurp(dir + "/target"), "new");
  fs::create_symlink("/dev/null", dir + "/to_null");
  ASSERT_TRUE(taec::write_output_file(dir + "/to_null", "x", 1).ok());
  EXPECT_TRUE(S_ISLNK(mode_of(dir + "/to_null")));
  EXPECT_TRUE(S_ISCHR(mode_of("/dev/null")));
  fs::create_directory(dir + "/sub");
  fs::create_symlink(dir + "/sub", dir + "/to_dir");
  auto refused = taec::write_output_file(dir + "/to_dir", "x", 1);
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.message(), HasSubstr("links to a directory"));
  expect_only(dir, {"target", "link", "to_null", "sub", "to_dir"});
}

TEST(OutputFile, FifoIsWrittenThroughOrRefusedWithoutAReader) {
  const std::string dir = taec_test::temp_dir();
  const std::string fifo = dir + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto lonely = taec::write_output_file(fifo, "x", 1);
  EXPECT_FALSE(lonely.ok());
  EXPECT_THAT(lonely.message(), HasSubstr("nobody reads"));
  std::string received;
  std::thread reader([&] {
    const int fd = ::open(fifo.c_str(), O_RDONLY);
    char buf[64];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) received.append(buf, static_cast<size_t>(n));
    ::close(fd);
  });
  taec::Status written;
  for (int attempt = 0; attempt < 200; ++attempt) {  // until the reader has opened its end
    written = taec::write_output_file(fifo, "through", 7);
    if (written.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  reader.join();
  EXPECT_TRUE(written.ok()) << written.message();
  EXPECT_EQ(received, "through");
  EXPECT_TRUE(S_ISFIFO(mode_of(fifo)));
  expect_only(dir, {"fifo"});
}

TEST(OutputFile, DirectoriesAreRefusedAndLeftAlone) {
  const std::string dir = taec_test::temp_dir();
  fs::create_directory(dir + "/d");
  std::ofstream(dir + "/d/mine") << "keep";
  auto s = taec::write_output_file(dir + "/d", "x", 1);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("is a directory"));
  EXPECT_EQ(slurp(dir + "/d/mine"), "keep");
}

TEST(OutputFile, UncommittedOutputLeavesNothing) {
  const std::string dir = taec_test::temp_dir();
  {
    auto out = taec::OutputFile::open(dir + "/never");
    ASSERT_TRUE(out.ok());
    ASSERT_TRUE(out->write("partial", 7).ok());
  }
  expect_only(dir, {});
}

TEST(ReadFile, RefusesWhatIsNotARegularFileWithoutBlocking) {
  const std::string dir = taec_test::temp_dir();
  ASSERT_EQ(::mkfifo((dir + "/fifo").c_str(), 0600), 0);
  auto fifo = taec::read_file(dir + "/fifo", 1 << 20);  // would block forever without O_NONBLOCK
  ASSERT_FALSE(fifo.ok());
  EXPECT_THAT(fifo.status().message(), HasSubstr("is a FIFO, not a regular file"));
  auto device = taec::read_file("/dev/zero", 1 << 20);  // would read forever
  ASSERT_FALSE(device.ok());
  EXPECT_THAT(device.status().message(), HasSubstr("is a character device, not a regular file"));
  auto directory = taec::read_file(dir, 1 << 20);
  ASSERT_FALSE(directory.ok());
  EXPECT_THAT(directory.status().message(), HasSubstr("is a directory, not a regular file"));
}

}  // namespace

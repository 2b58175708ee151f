// Video files through the public API (taec_video.h): synthetic clips written to every container
// and codec and read back (count, size, rate, pixel error), odd sizes, OutputFile's rules for
// FIFOs, links, directories and full disks, abandoned writers leaving nothing, damaged inputs
// refused naming the file. Where the `ffmpeg` binary is installed (scripts/install_deps.sh) it
// makes the inputs taec's writer does not (odd sizes, rotation, audio only) and ffprobe checks the
// colour tags.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include <gmock/gmock.h>

#include "taec/taec_video.hpp"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr int kFrames = 17, kHeight = 64, kWidth = 96;

// Smooth gradients moving a little each frame: what a codec at high quality keeps almost exactly.
// [3,H,W] with values slightly outside [0,1] at the edges (as decoder outputs are).
std::vector<float> gradient_frame(int t, int height = kHeight, int width = kWidth) {
  std::vector<float> chw(size_t{3} * height * width);
  const size_t plane = size_t{1} * height * width;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double u = double(x) / width, v = double(y) / height, phase = double(t) / kFrames;
      const size_t i = size_t{1} * y * width + x;
      chw[i] = float(0.5 + 0.52 * std::sin(2 * M_PI * (u + phase)));
      chw[plane + i] = float(0.5 + 0.45 * std::cos(2 * M_PI * (v - phase)));
      chw[2 * plane + i] = float(0.1 + 0.8 * (u + v) / 2);
    }
  }
  return chw;
}

std::vector<float> to_hwc(const std::vector<float>& chw, int height, int width) {
  std::vector<float> hwc(chw.size());
  const size_t plane = size_t{1} * height * width;
  for (size_t i = 0; i < plane; ++i) {
    for (size_t c = 0; c < 3; ++c) hwc[3 * i + c] = chw[c * plane + i];
  }
  return hwc;
}

taec_video_writer_options options(int width = kWidth, int height = kHeight, const char* codec = nullptr) {
  taec_video_writer_options o;
  taec_video_writer_options_init(&o);
  o.width = width;
  o.height = height;
  o.codec = codec;
  return o;
}

// Writes the gradient clip; returns the status of the first failing call.
// What taec_video_writer_get_info said before the close (its strings die with the writer).
struct WrittenInfo {
  std::string codec, encoder;
  int64_t frames = 0;
  int fragmented = -1;
};

taec_status write_clip(const std::string& path, const taec_video_writer_options& o, taec_layout layout = TAEC_LAYOUT_NCHW,
                       int frames = kFrames, WrittenInfo* info = nullptr) {
  taec_video_writer* w = nullptr;
  taec_status s = taec_video_writer_open(path.c_str(), &o, &w);
  if (s != TAEC_OK) return s;
  for (int t = 0; t < frames; ++t) {
    std::vector<float> frame = gradient_frame(t, o.height, o.width);
    if (layout == TAEC_LAYOUT_NHWC) frame = to_hwc(frame, o.height, o.width);
    s = taec_video_writer_write(w, frame.data(), layout);
    if (s != TAEC_OK) {
      taec_video_writer_free(w);
      return s;
    }
  }
  if (info) {
    taec_video_writer_info i{};
    taec_video_writer_get_info(w, &i);
    *info = WrittenInfo{i.codec, i.encoder, i.frames, i.fragmented};
  }
  return taec_video_writer_close(w);
}

struct Clip {
  taec_video_info info{};
  std::string container, codec, color;
  std::vector<std::vector<float>> frames;  // NCHW
};

Clip read_clip(const std::string& path) {
  taec::VideoReader reader(path);
  Clip clip;
  clip.info = reader.info();
  clip.container = clip.info.container;
  clip.codec = clip.info.codec;
  std::vector<float> frame(size_t{3} * clip.info.width * clip.info.height);
  while (reader.read(frame.data(), TAEC_LAYOUT_NCHW)) clip.frames.push_back(frame);
  clip.color = reader.info().color;
  return clip;
}

// Mean and max |read - written| over the clip, in 8-bit levels (the written side clamped, as
// the writer stores it).
struct Error {
  double mean_levels = 0, max_levels = 0;
};
Error clip_error(const Clip& clip) {
  Error e;
  size_t n = 0;
  for (size_t t = 0; t < clip.frames.size(); ++t) {
    const std::vector<float> want = gradient_frame(int(t), clip.info.height, clip.info.width);
    for (size_t i = 0; i < want.size(); ++i) {
      const double d = std::fabs(clip.frames[t][i] - std::clamp(want[i], 0.0f, 1.0f)) * 255;
      e.mean_levels += d;
      e.max_levels = std::max(e.max_levels, d);
      ++n;
    }
  }
  e.mean_levels /= std::max<size_t>(n, 1);
  return e;
}

std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

bool have_ffmpeg() { return std::system("command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1") == 0; }

// The tests that need the ffmpeg binary skip without it, unless TAEC_REQUIRE_FIXTURES=1.
#define REQUIRE_FFMPEG()                                                                    \
  do {                                                                                     \
    if (!have_ffmpeg()) {                                                                  \
      if (taec_test::fixtures_required()) FAIL() << "ffmpeg/ffprobe missing (scripts/install_deps.sh)"; \
      GTEST_SKIP() << "ffmpeg/ffprobe not installed";                                      \
    }                                                                                      \
  } while (0)

std::string shell_output(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  ::pclose(p);
  return out;
}

void expect_read_fails(const std::string& path, const std::string& says) {
  taec_video_reader* r = nullptr;
  taec_status s = taec_video_reader_open(path.c_str(), &r);
  size_t frames = 0;
  if (s == TAEC_OK) {
    taec_video_info info;
    taec_video_reader_get_info(r, &info);
    std::vector<float> frame(size_t{3} * info.width * info.height);
    int got = 1;
    while ((s = taec_video_reader_read(r, frame.data(), TAEC_LAYOUT_NCHW, &got)) == TAEC_OK && got) ++frames;
    taec_video_reader_free(r);
  }
  EXPECT_NE(s, TAEC_OK) << path << " read " << frames << " frames without an error";
  EXPECT_THAT(taec_last_error(), HasSubstr(path));
  EXPECT_THAT(taec_last_error(), HasSubstr(says)) << path;
  std::printf("%s -> %s (after %zu frames)\n", path.c_str(), taec_last_error(), frames);
}

// ---- Round trips ---------------------------------------------------------------------------

struct RoundTripCase {
  const char* file;   // its extension picks the container
  const char* codec;  // nullptr: auto
  const char* want_codec, *want_container;
  double max_mean_levels;  // bound on the mean |err| in 8-bit levels
};

class VideoRoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(VideoRoundTrip, FramesSizeRateAndPixelsComeBack) {
  const RoundTripCase& c = GetParam();
  const std::string path = taec_test::temp_dir() + "/" + c.file;
  WrittenInfo winfo;
  ASSERT_EQ(write_clip(path, options(kWidth, kHeight, c.codec), TAEC_LAYOUT_NCHW, kFrames, &winfo), TAEC_OK)
      << taec_last_error();
  EXPECT_EQ(winfo.codec, c.want_codec);
  EXPECT_EQ(winfo.frames, kFrames);
  EXPECT_EQ(winfo.fragmented, 0);
  const Clip clip = read_clip(path);
  EXPECT_EQ(clip.info.width, kWidth);
  EXPECT_EQ(clip.info.height, kHeight);
  EXPECT_EQ(clip.info.fps_num, 16);
  EXPECT_EQ(clip.info.fps_den, 1);
  EXPECT_EQ(clip.codec, c.want_codec);
  EXPECT_EQ(clip.container, c.want_container);
  EXPECT_EQ(clip.color, winfo.codec == "vp8" ? "bt601 limited" : "bt709 limited");
  EXPECT_EQ(clip.info.rotation, 0);
  ASSERT_EQ(clip.frames.size(), size_t{kFrames});
  if (clip.info.frame_count != 0) EXPECT_EQ(clip.info.frame_count, kFrames);
  EXPECT_NEAR(clip.info.duration_s, kFrames / 16.0, 0.07);
  const Error e = clip_error(clip);
  std::printf("%s (%s): %zu bytes, mean |err| %.3f levels, max %.1f levels\n", c.file, winfo.encoder.c_str(),
              size_t(fs::file_size(path)), e.mean_levels, e.max_levels);
  EXPECT_LT(e.mean_levels, c.max_mean_levels);
}

INSTANTIATE_TEST_SUITE_P(
    Containers, VideoRoundTrip,
    ::testing::Values(RoundTripCase{"clip.mp4", nullptr, "h264", "mp4", 3.0},
                      RoundTripCase{"clip.webm", nullptr, "vp9", "matroska", 3.0},
                      RoundTripCase{"clip.mkv", nullptr, "h264", "matroska", 3.0},
                      RoundTripCase{"clip.mov", nullptr, "h264", "mp4", 3.0},
                      RoundTripCase{"vp8.webm", "vp8", "vp8", "matroska", 3.0},
                      RoundTripCase{"mpeg4.mp4", "mpeg4", "mpeg4", "mp4", 3.0},
                      RoundTripCase{"vp9.mp4", "vp9", "vp9", "mp4", 3.0}),
    [](const auto& info) {
      std::string name = info.param.file;
      for (char& ch : name) {
        if (ch == '.') ch = '_';
      }
      return name;
    });

TEST(VideoWriter, LayoutsGiveIdenticalFiles) {
  const std::string dir = taec_test::temp_dir();
  for (const char* ext : {"mp4", "webm"}) {
    const std::string a = dir + "/nchw." + ext, b = dir + "/nhwc." + ext;
    ASSERT_EQ(write_clip(a, options(), TAEC_LAYOUT_NCHW), TAEC_OK) << taec_last_error();
    ASSERT_EQ(write_clip(b, options(), TAEC_LAYOUT_NHWC), TAEC_OK) << taec_last_error();
    EXPECT_EQ(taec_test::read_bytes(a), taec_test::read_bytes(b)) << ext;
  }
}

TEST(VideoReader, LayoutsHoldTheSamePixels) {
  const std::string path = taec_test::temp_dir() + "/clip.mp4";
  ASSERT_EQ(write_clip(path, options(), TAEC_LAYOUT_NCHW, 3), TAEC_OK) << taec_last_error();
  taec::VideoReader nchw(path), nhwc(path);
  std::vector<float> a(size_t{3} * kWidth * kHeight), b(a.size());
  while (nchw.read(a.data(), TAEC_LAYOUT_NCHW)) {
    ASSERT_TRUE(nhwc.read(b.data(), TAEC_LAYOUT_NHWC));
    EXPECT_EQ(to_hwc(a, kHeight, kWidth), b);
  }
  EXPECT_FALSE(nhwc.read(b.data(), TAEC_LAYOUT_NHWC));
}

TEST(VideoWriter, ColourIsTaggedBt709LimitedForFfprobe) {
  REQUIRE_FFMPEG();
  const std::string dir = taec_test::temp_dir();
  for (const char* ext : {"mp4", "webm"}) {
    const std::string path = dir + "/clip." + ext;
    ASSERT_EQ(write_clip(path, options(), TAEC_LAYOUT_NCHW, 2), TAEC_OK) << taec_last_error();
    const std::string tags = shell_output(
        "ffprobe -v error -select_streams v:0 -show_entries stream=pix_fmt,color_space,color_transfer,color_primaries,color_range "
        "-of default=noprint_wrappers=1 " + taec_test::quote(path));
    EXPECT_THAT(tags, HasSubstr("pix_fmt=yuv420p")) << ext;
    EXPECT_THAT(tags, HasSubstr("color_range=tv")) << ext;
    EXPECT_THAT(tags, HasSubstr("color_space=bt709")) << ext;
    EXPECT_THAT(tags, HasSubstr("color_transfer=bt709")) << ext;
    EXPECT_THAT(tags, HasSubstr("color_primaries=bt709")) << ext;
  }
}

TEST(VideoWriter, CppWrapperWritesAndReads) {
  const std::string path = taec_test::temp_dir() + "/clip.mkv";
  {
    taec::VideoWriter w(path, taec::VideoWriter::options(kWidth, kHeight));
    for (int t = 0; t < 4; ++t) w.write(gradient_frame(t).data(), TAEC_LAYOUT_NCHW);
    EXPECT_EQ(w.info().frames, 4);
    w.close();
  }
  EXPECT_EQ(read_clip(path).frames.size(), 4u);
}

// ---- Options ---------------------------------------------------------------------------------

TEST(VideoWriter, OddSizesAreRefusedNamingTheSize) {
  const std::string dir = taec_test::temp_dir();
  for (auto [w, h] : {std::pair{65, 64}, std::pair{64, 47}}) {
    const std::string path = dir + "/odd.mp4";
    taec_video_writer* writer = nullptr;
    const taec_video_writer_options o = options(w, h);
    EXPECT_EQ(taec_video_writer_open(path.c_str(), &o, &writer), TAEC_ERR_SHAPE);
    EXPECT_EQ(writer, nullptr);
    EXPECT_THAT(taec_last_error(), HasSubstr(path));
    EXPECT_THAT(taec_last_error(), HasSubstr(std::to_string(w) + "x" + std::to_string(h)));
    EXPECT_THAT(taec_last_error(), HasSubstr("even width and height"));
  }
  EXPECT_TRUE(entries(dir).empty());
}

TEST(VideoWriter, BadOptionsAreRefusedBeforeAnythingIsWritten) {
  const std::string dir = taec_test::temp_dir();
  struct Case {
    std::string file;
    taec_video_writer_options o;
    const char* says;
  };
  auto with = [](auto change) {
    taec_video_writer_options o = options();
    change(o);
    return o;
  };
  const Case cases[] = {
      {"clip.avi", options(), "cannot tell the container"},
      {"clip", options(), "cannot tell the container"},
      {"clip.webm", options(kWidth, kHeight, "h264"), "webm files cannot hold h264"},
      {"clip.mp4", options(kWidth, kHeight, "theora"), "unknown video codec \"theora\""},
      {"clip.mp4", with([](auto& o) { o.fps_num = 0; }), "frame rate 0/1"},
      {"clip.mp4", with([](auto& o) { o.fps_num = 5000; }), "frame rate 5000/1"},
      {"clip.mp4", with([](auto& o) { o.crf = 52; }), "crf 52 is outside h264's 0-51"},
      {"clip.mp4", with([](auto& o) { o.container = "avi"; }), "unknown container \"avi\""},
      {"clip.mp4", options(0, 64), "frame size 0x64"},
      {"clip.mp4", options(16386, 64), "frame size 16386x64"},
  };
  for (const Case& c : cases) {
    const std::string path = dir + "/" + c.file;
    taec_video_writer* w = nullptr;
    EXPECT_NE(taec_video_writer_open(path.c_str(), &c.o, &w), TAEC_OK) << c.file;
    EXPECT_THAT(taec_last_error(), HasSubstr(c.says));
    EXPECT_THAT(taec_last_error(), HasSubstr(path));
  }
  EXPECT_TRUE(entries(dir).empty());
}

TEST(VideoWriter, ContainerOptionOverridesTheName) {
  const std::string path = taec_test::temp_dir() + "/clip.bin";
  taec_video_writer_options o = options();
  o.container = "webm";
  ASSERT_EQ(write_clip(path, o, TAEC_LAYOUT_NCHW, 3), TAEC_OK) << taec_last_error();
  const Clip clip = read_clip(path);
  EXPECT_EQ(clip.container, "matroska");
  EXPECT_EQ(clip.codec, "vp9");
}

// ---- Where it writes (base/file_util.h OutputFile) ------------------------------------------

TEST(VideoWriter, FreeAbandonsTheFileAndKeepsWhatWasThere) {
  const std::string dir = taec_test::temp_dir();
  const std::string fresh = dir + "/fresh.mp4", old = dir + "/old.mp4";
  taec_test::write_bytes(old, {'o', 'l', 'd'});
  for (const std::string& path : {fresh, old}) {
    taec_video_writer* w = nullptr;
    const taec_video_writer_options o = options();
    ASSERT_EQ(taec_video_writer_open(path.c_str(), &o, &w), TAEC_OK) << taec_last_error();
    for (int t = 0; t < 5; ++t) ASSERT_EQ(taec_video_writer_write(w, gradient_frame(t).data(), TAEC_LAYOUT_NCHW), TAEC_OK);
    EXPECT_EQ(entries(dir).size(), 2u);  // old.mp4 and the temporary
    taec_video_writer_free(w);
  }
  EXPECT_EQ(entries(dir), (std::set<std::string>{"old.mp4"}));
  EXPECT_EQ(taec_test::read_bytes(old), (std::vector<uint8_t>{'o', 'l', 'd'}));
  // The C++ writer abandons the file when destroyed unclosed (an exception on the way).
  try {
    taec::VideoWriter w(fresh, options());
    w.write(gradient_frame(0).data(), TAEC_LAYOUT_NCHW);
    throw std::runtime_error("stop");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(entries(dir), (std::set<std::string>{"old.mp4"}));
}

TEST(VideoWriter, ReplacesAnExistingFileKeepingItsMode) {
  const std::string dir = taec_test::temp_dir();
  const std::string path = dir + "/clip.mp4";
  taec_test::write_bytes(path, {'o', 'l', 'd'});
  ::chmod(path.c_str(), 0640);
  ASSERT_EQ(write_clip(path, options(), TAEC_LAYOUT_NCHW, 3), TAEC_OK) << taec_last_error();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(read_clip(path).frames.size(), 3u);
  EXPECT_EQ(entries(dir), (std::set<std::string>{"clip.mp4"}));
}

TEST(VideoWriter, DirectoryIsRefusedAndLinkIsWrittenThrough) {
  const std::string dir = taec_test::temp_dir();
  fs::create_directory(dir + "/folder.mp4");
  EXPECT_EQ(write_clip(dir + "/folder.mp4", options()), TAEC_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(taec_last_error(), HasSubstr("folder.mp4: is a directory"));

  fs::create_directory(dir + "/real");
  fs::create_symlink(dir + "/real/target.webm", dir + "/link.webm");
  ASSERT_EQ(write_clip(dir + "/link.webm", options(), TAEC_LAYOUT_NCHW, 3), TAEC_OK) << taec_last_error();
  EXPECT_TRUE(fs::is_symlink(dir + "/link.webm"));
  EXPECT_EQ(read_clip(dir + "/real/target.webm").frames.size(), 3u);
  EXPECT_EQ(entries(dir + "/real"), (std::set<std::string>{"target.webm"}));
}

TEST(VideoWriter, FullDiskIsAnErrorNamingTheFile) {
  // /dev/full: a character device (written through) on which every write fails with ENOSPC.
  taec_video_writer_options o = options();
  o.container = "mkv";
  const taec_status s = write_clip("/dev/full", o);
  EXPECT_EQ(s, TAEC_ERR_IO);
  EXPECT_THAT(taec_last_error(), HasSubstr("/dev/full"));
  EXPECT_THAT(taec_last_error(), HasSubstr("No space left on device"));
}

// Reads everything written into a FIFO on another thread, as a player on a pipe would.
std::vector<uint8_t> write_through_fifo(const std::string& fifo, const taec_video_writer_options& o, WrittenInfo* info,
                                        taec_status* status) {
  std::vector<uint8_t> got;
  std::thread reader([&] {
    const int fd = ::open(fifo.c_str(), O_RDONLY);
    uint8_t buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) got.insert(got.end(), buf, buf + n);
    ::close(fd);
  });
  // The writer refuses a FIFO nobody has opened yet: wait for the reader to be there.
  taec_video_writer* w = nullptr;
  for (int i = 0; i < 500; ++i) {
    *status = taec_video_writer_open(fifo.c_str(), &o, &w);
    if (*status == TAEC_OK || std::string(taec_last_error()).find("nobody reads") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (*status == TAEC_OK) {
    for (int t = 0; t < kFrames && *status == TAEC_OK; ++t) {
      *status = taec_video_writer_write(w, gradient_frame(t).data(), TAEC_LAYOUT_NCHW);
    }
    taec_video_writer_info i{};
    taec_video_writer_get_info(w, &i);
    *info = WrittenInfo{i.codec, i.encoder, i.frames, i.fragmented};
    *status = *status == TAEC_OK ? taec_video_writer_close(w) : (taec_video_writer_free(w), *status);
  }
  reader.join();
  return got;
}

TEST(VideoWriter, FifoGetsAStreamableFile) {
  const std::string dir = taec_test::temp_dir();
  const std::string fifo = dir + "/pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  {
    const taec_video_writer_options o = options();
    taec_video_writer* w = nullptr;
    EXPECT_EQ(taec_video_writer_open(fifo.c_str(), &o, &w), TAEC_ERR_INVALID_ARGUMENT);  // no container in the name
    EXPECT_THAT(taec_last_error(), HasSubstr("cannot tell the container"));
  }
  for (const char* container : {"mp4", "webm", "mkv"}) {
    taec_video_writer_options o = options();
    o.container = container;
    WrittenInfo info;
    taec_status status = TAEC_OK;
    const std::vector<uint8_t> bytes = write_through_fifo(fifo, o, &info, &status);
    ASSERT_EQ(status, TAEC_OK) << container << ": " << taec_last_error();
    EXPECT_EQ(info.fragmented, std::string(container) == "mp4" ? 1 : 0) << container;
    const std::string copy = dir + "/from_pipe." + container;
    taec_test::write_bytes(copy, bytes);
    const Clip clip = read_clip(copy);
    EXPECT_EQ(clip.frames.size(), size_t{kFrames}) << container;
    EXPECT_LT(clip_error(clip).mean_levels, 3.0) << container;
    // Streamed files say less about their length up front; cut short they are still refused.
    const std::string cut = dir + "/cut_from_pipe." + container;
    taec_test::write_bytes(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + bytes.size() * 7 / 10));
    expect_read_fails(cut, "is truncated");
    EXPECT_EQ(fs::status(fifo).type(), fs::file_type::fifo) << "the FIFO stays a FIFO";
  }
  // Nobody reading: refused rather than waited on.
  taec_video_writer_options o = options();
  o.container = "mkv";
  taec_video_writer* w = nullptr;
  EXPECT_EQ(taec_video_writer_open(fifo.c_str(), &o, &w), TAEC_ERR_IO);
  EXPECT_THAT(taec_last_error(), HasSubstr("nobody reads"));
}

// ---- Reading what is not a good video -------------------------------------------------------

TEST(VideoReader, TruncatedFilesAreRefusedNamingTheFile) {
  const std::string dir = taec_test::temp_dir();
  for (const char* ext : {"mp4", "webm", "mkv"}) {
    const std::string path = dir + "/clip." + ext;
    ASSERT_EQ(write_clip(path, options()), TAEC_OK) << taec_last_error();
    const std::vector<uint8_t> whole = taec_test::read_bytes(path);
    for (double keep : {0.5, 0.9}) {
      const std::string cut = dir + "/cut" + std::to_string(int(keep * 100)) + "." + ext;
      taec_test::write_bytes(cut, std::vector<uint8_t>(whole.begin(), whole.begin() + size_t(whole.size() * keep)));
      expect_read_fails(cut, "is truncated");
    }
  }
}

TEST(VideoReader, GarbageAndOtherFilesAreRefusedNamingTheFile) {
  const std::string dir = taec_test::temp_dir();
  std::mt19937 rng(7);
  std::vector<uint8_t> noise(20000);
  for (auto& b : noise) b = uint8_t(rng());
  taec_test::write_bytes(dir + "/noise.mp4", noise);
  expect_read_fails(dir + "/noise.mp4", "is not a video file (by its content)");
  taec_test::write_bytes(dir + "/empty.mp4", {});
  expect_read_fails(dir + "/empty.mp4", "the file is empty");
  // Real container headers around noise: the demuxer or the decoder must say so.
  const std::string good = dir + "/good.webm";
  ASSERT_EQ(write_clip(good, options()), TAEC_OK);
  std::vector<uint8_t> bytes = taec_test::read_bytes(good);
  for (size_t i = bytes.size() / 3; i < bytes.size(); ++i) bytes[i] = uint8_t(rng());
  taec_test::write_bytes(dir + "/noisy.webm", bytes);
  expect_read_fails(dir + "/noisy.webm", "");
  // A PNG is an image, not a video.
  const std::vector<float> image = gradient_frame(0);
  ASSERT_EQ(taec_image_save_png((dir + "/still.png").c_str(), image.data(), kHeight, kWidth, TAEC_LAYOUT_NCHW), TAEC_OK);
  expect_read_fails(dir + "/still.png", "taec reads MP4/MOV, Matroska/WebM and AVI video");
}

TEST(VideoReader, OnlyRegularFilesAreOpened) {
  const std::string dir = taec_test::temp_dir();
  ASSERT_EQ(::mkfifo((dir + "/pipe.mp4").c_str(), 0600), 0);
  expect_read_fails(dir + "/pipe.mp4", "is a FIFO, not a regular file");
  expect_read_fails(dir, "is a directory, not a regular file");
  expect_read_fails("/dev/zero", "is a character device, not a regular file");
  expect_read_fails(dir + "/missing.mp4", "cannot open");
}

// ---- Inputs made by FFmpeg's own tool ----------------------------------------------------------

int ffmpeg(const std::string& args) { return std::system(("ffmpeg -v error -y " + args + " </dev/null").c_str()); }

TEST(VideoReader, ReadsOddSizes) {
  REQUIRE_FFMPEG();
  const std::string dir = taec_test::temp_dir();
  // Odd sizes: FFV1 holds them (x264 and testsrc2 round down to even).
  ASSERT_EQ(ffmpeg("-f lavfi -i testsrc=size=65x47:rate=10 -frames:v 5 -c:v ffv1 -pix_fmt yuv420p " +
                   taec_test::quote(dir + "/odd.mkv")), 0);
  Clip odd = read_clip(dir + "/odd.mkv");
  EXPECT_EQ(odd.info.width, 65);
  EXPECT_EQ(odd.info.height, 47);
  EXPECT_EQ(odd.frames.size(), 5u);
  EXPECT_EQ(odd.info.fps_num * 1.0 / odd.info.fps_den, 10.0);
  EXPECT_EQ(odd.color, "bt601 limited (untagged)");
  EXPECT_EQ(odd.codec, "ffv1");

}

TEST(VideoReader, TurnsFramesAsTheDisplayMatrixSays) {
  REQUIRE_FFMPEG();
  const std::string dir = taec_test::temp_dir();
  // A rotation in the MP4 display matrix: frames come out turned as FFmpeg's own tool turns them
  // (autorotate), 64 wide and 96 tall. FFmpeg 5's `rotate=90` tag writes a matrix that turns the
  // picture 90 degrees counter-clockwise.
  const std::string upright = dir + "/upright.mp4", rotated = dir + "/rotated.mp4";
  ASSERT_EQ(write_clip(upright, options(), TAEC_LAYOUT_NCHW, 3), TAEC_OK);
  ASSERT_EQ(ffmpeg("-i " + taec_test::quote(upright) + " -c copy -metadata:s:v:0 rotate=90 " + taec_test::quote(rotated)), 0);
  ASSERT_EQ(ffmpeg("-i " + taec_test::quote(rotated) + " -frames:v 1 -f rawvideo -pix_fmt rgb24 " +
                   taec_test::quote(dir + "/ffmpeg_turned.rgb")), 0);
  const std::vector<uint8_t> ffmpeg_turned = taec_test::read_bytes(dir + "/ffmpeg_turned.rgb");
  const Clip straight = read_clip(upright), turned = read_clip(rotated);
  EXPECT_EQ(turned.info.rotation, 270);
  ASSERT_EQ(turned.info.width, kHeight);
  ASSERT_EQ(turned.info.height, kWidth);
  ASSERT_EQ(turned.frames.size(), 3u);
  ASSERT_EQ(ffmpeg_turned.size(), size_t{3} * kWidth * kHeight);
  // Turned 90 degrees counter-clockwise: output (y, x) is stored (x, W-1-y). FFmpeg's tool converts
  // to RGB with other filters than taec's (measured: 2.6 levels apart on average).
  const size_t plane = size_t{1} * kWidth * kHeight;
  double ffmpeg_diff = 0;
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < kWidth; ++y) {
      for (int x = 0; x < kHeight; ++x) {
        const float got = turned.frames[0][c * plane + size_t(y) * kHeight + x];
        ASSERT_EQ(got, straight.frames[0][c * plane + size_t(x) * kWidth + (kWidth - 1 - y)]);
        ffmpeg_diff += std::fabs(got * 255 - ffmpeg_turned[(size_t(y) * kHeight + x) * 3 + c]);
      }
    }
  }
  EXPECT_LT(ffmpeg_diff / (3 * plane), 4.0) << "the other way round it is about 80";

}

TEST(VideoReader, RefusesWhatItDoesNotRead) {
  REQUIRE_FFMPEG();
  const std::string dir = taec_test::temp_dir();
  // Bounded before decoding: 16400 px wide is over the 16384 a side.
  ASSERT_EQ(ffmpeg("-f lavfi -i testsrc=size=16400x16 -frames:v 1 -c:v ffv1 " + taec_test::quote(dir + "/wide.mkv")), 0);
  expect_read_fails(dir + "/wide.mkv", "frame size 16400x16 is outside what taec accepts (16384 px a side, 64 MP)");
  // An H.264 stream whose size changes halfway (two streams back to back, as cutting tools make):
  // refused at the first frame of the new size, whose buffer the caller did not size for.
  ASSERT_EQ(ffmpeg("-f lavfi -i testsrc=size=64x48 -frames:v 3 -c:v libx264 -bf 0 " + taec_test::quote(dir + "/a.h264")), 0);
  ASSERT_EQ(ffmpeg("-f lavfi -i testsrc=size=32x24 -frames:v 3 -c:v libx264 -bf 0 " + taec_test::quote(dir + "/b.h264")), 0);
  std::vector<uint8_t> both = taec_test::read_bytes(dir + "/a.h264"), second = taec_test::read_bytes(dir + "/b.h264");
  both.insert(both.end(), second.begin(), second.end());
  taec_test::write_bytes(dir + "/both.h264", both);
  ASSERT_EQ(ffmpeg("-framerate 10 -i " + taec_test::quote(dir + "/both.h264") + " -c copy " + taec_test::quote(dir + "/resized.mkv")), 0);
  expect_read_fails(dir + "/resized.mkv", "frame 4 is 32x24, the clip's first is 64x48; taec reads clips of one size");

  ASSERT_EQ(ffmpeg("-f lavfi -i sine=duration=0.2 -c:a aac " + taec_test::quote(dir + "/sound.m4a")), 0);
  expect_read_fails(dir + "/sound.m4a", "has no video stream (its streams: audio)");
  ASSERT_EQ(ffmpeg("-f lavfi -i testsrc2=size=64x48 -frames:v 1 " + taec_test::quote(dir + "/still.gif")), 0);
  expect_read_fails(dir + "/still.gif", "is CompuServe Graphics Interchange Format (GIF) (by its content)");
  ASSERT_EQ(ffmpeg("-f lavfi -i testsrc2=size=64x48 -frames:v 2 -c:v theora " + taec_test::quote(dir + "/theora.mkv")), 0);
  expect_read_fails(dir + "/theora.mkv", "video is Theora; taec decodes H.264");
}

}  // namespace

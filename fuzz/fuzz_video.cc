// Any bytes as a video file: the container checks, FFmpeg's demuxers and the allowed decoders
// behind them, the conversion to RGB. FFmpeg itself is not instrumented (Debian's build), so
// coverage guides through taec's side; the sanitizers still see what FFmpeg does to taec's
// buffers.
#include <cstdint>
#include <vector>

#include "io/video_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  taec::VideoReaderOptions options;
  options.threads = 1;  // reproducible
  auto reader = taec::VideoReader::open_memory("fuzz", std::vector<uint8_t>(data, data + size), options);
  if (!reader.ok()) return 0;
  const taec::VideoInfo& info = (*reader)->info();
  // Frames up to 4 MP are converted; a larger declared size has passed the limits check, and
  // decoding it would only cost the fuzzer time.
  if (int64_t{info.width} * info.height > (int64_t{1} << 22)) return 0;
  std::vector<float> frame(size_t{3} * info.width * info.height);
  for (int i = 0; i < 8; ++i) {
    auto got = (*reader)->read(frame.data(), i % 2 ? taec::RgbOrder::hwc : taec::RgbOrder::chw);
    if (!got.ok() || !*got) break;
  }
  return 0;
}

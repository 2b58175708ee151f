#include "io/video_av.h"

#include "base/text.h"

#include <cstdarg>
#include <mutex>
#include <new>

namespace taec::av {
namespace {

thread_local std::string t_logged_error;

void log_callback(void* avcl, int level, const char* format, va_list args) {
  if (level > AV_LOG_ERROR) return;
  char line[1024];
  int print_prefix = 1;
  va_list copy;
  va_copy(copy, args);
  av_log_format_line2(avcl, level, format, copy, line, sizeof line, &print_prefix);
  va_end(copy);
  std::string text = line;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  // "[h264 @ 0x55d0c0a3c2c0] no frame!" -> "h264: no frame!": the address says nothing to a user.
  if (text.size() > 1 && text[0] == '[') {
    const size_t at = text.find(" @ 0x"), close = text.find("] ");
    if (at != std::string::npos && close != std::string::npos && at < close) {
      text = text.substr(1, at - 1) + ": " + text.substr(close + 2);
    }
  }
  if (!text.empty()) t_logged_error = printable(text, 300);  // may quote the file
}

}  // namespace

IoPtr make_io(void* opaque, bool writable, int (*read)(void*, uint8_t*, int), int (*write)(void*, WriteBuffer, int),
              int64_t (*seek)(void*, int64_t, int)) {
  auto* buffer = static_cast<unsigned char*>(av_malloc(kIoBufferBytes));
  if (buffer == nullptr) throw std::bad_alloc();
  AVIOContext* io = avio_alloc_context(buffer, kIoBufferBytes, writable ? 1 : 0, opaque, read, write, seek);
  if (io == nullptr) {
    av_free(buffer);
    throw std::bad_alloc();
  }
  return IoPtr(io);
}

std::string error_text(int averror) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(averror, text, sizeof text);
  std::string out = text;
  if (!t_logged_error.empty()) out += " (" + t_logged_error + ")";
  return out;
}

void take_over_log() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(log_callback); });
}

void clear_logged_error() { t_logged_error.clear(); }

}  // namespace taec::av

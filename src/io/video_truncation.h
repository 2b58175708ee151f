// Internal to src/io: whether a video file's top-level structure fits in the file. Demuxers read
// a cut-off Matroska file or fragmented MP4 as a shorter clip without a word; the sizes the
// container declares up front say it was cut.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "base/status.h"

namespace taec {

// Reads n bytes at offset; false if they are not all there.
using ReadAt = std::function<bool(uint64_t offset, void* out, size_t n)>;

enum class VideoFamily { mp4, matroska, avi };

// MP4/MOV: the top-level boxes, one after another, must end within the file (a box of size 0 runs
// to its end). Matroska: the segment's declared size (unless "unknown", as streamed files have).
// AVI: the RIFF chunks. Code::format naming `name` and where the file ends; anything the walk
// cannot make sense of is left to the demuxer.
Status check_not_truncated(const std::string& name, VideoFamily family, uint64_t file_bytes, const ReadAt& read_at);

}  // namespace taec

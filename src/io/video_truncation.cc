#include "io/video_truncation.h"

#include <algorithm>
#include <iterator>

#include "base/text.h"

namespace taec {
namespace {

// Top-level boxes walked at most; a real file has a handful, a fragmented one two per fragment.
constexpr int kMaxTopLevelBoxes = 1 << 20;

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
uint32_t le32(const uint8_t* p) { return uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0]; }

Status truncated(const std::string& name, const std::string& what, uint64_t end, uint64_t file_bytes) {
  return Status(Code::format, name + ": is truncated: its " + what + " runs to byte " + std::to_string(end) +
                                  " but the file ends at byte " + std::to_string(file_bytes));
}

Status check_mp4(const std::string& name, uint64_t file_bytes, const ReadAt& read_at) {
  uint64_t at = 0;
  for (int i = 0; i < kMaxTopLevelBoxes && at + 8 <= file_bytes; ++i) {
    uint8_t head[16];
    if (!read_at(at, head, 8)) break;
    uint64_t size = be32(head);
    if (size == 0) break;  // runs to the end of the file
    if (size == 1) {
      if (!read_at(at + 8, head + 8, 8)) break;
      size = uint64_t(be32(head + 8)) << 32 | be32(head + 12);
      if (size < 16) break;
    } else if (size < 8) {
      break;
    }
    if (size > file_bytes - at) {
      return truncated(name, "'" + printable(std::string(reinterpret_cast<const char*>(head + 4), 4)) + "' box", at + size, file_bytes);
    }
    at += size;
  }
  return ok_status();
}

// An EBML variable-length integer at `p` (up to 8 bytes); its length in *len, 0 if invalid.
// *unknown when all its value bits are set (the size of a streamed element).
uint64_t ebml_vint(const uint8_t* p, int* len, bool* unknown) {
  int n = 1;
  while (n <= 8 && !(p[0] & (0x80 >> (n - 1)))) ++n;
  if (n > 8) {
    *len = 0;
    return 0;
  }
  uint64_t v = p[0] & (0xff >> n);
  bool all_ones = v == (0xffu >> n);
  for (int i = 1; i < n; ++i) {
    v = v << 8 | p[i];
    all_ones = all_ones && p[i] == 0xff;
  }
  *len = n;
  *unknown = all_ones;
  return v;
}

// Bytes [at, at + 12) or up to the end of the file, zero-padded.
bool read_head(const ReadAt& read_at, uint64_t at, uint64_t file_bytes, uint8_t (&head)[12]) {
  std::fill(std::begin(head), std::end(head), 0);
  return at < file_bytes && read_at(at, head, static_cast<size_t>(std::min<uint64_t>(12, file_bytes - at)));
}

// The EBML header (ID 1A 45 DF A3), then the Segment (ID 18 53 80 67) and, inside it, the
// top-level elements (SeekHead, Info, Tracks, Clusters, Cues, ...). A streamed file has a segment
// of unknown size but clusters of known sizes.
Status check_matroska(const std::string& name, uint64_t file_bytes, const ReadAt& read_at) {
  uint8_t head[12];
  if (!read_head(read_at, 0, file_bytes, head) || be32(head) != 0x1A45DFA3) return ok_status();
  int len = 0;
  bool unknown = false;
  const uint64_t header_size = ebml_vint(head + 4, &len, &unknown);
  if (len == 0 || unknown) return ok_status();
  const uint64_t segment_at = 4 + len + header_size;
  if (!read_head(read_at, segment_at, file_bytes, head) || be32(head) != 0x18538067) return ok_status();
  const uint64_t segment_size = ebml_vint(head + 4, &len, &unknown);
  if (len == 0) return ok_status();
  const uint64_t data_at = segment_at + 4 + len;
  if (!unknown && segment_size > file_bytes - std::min(data_at, file_bytes)) {
    return truncated(name, "Matroska segment", data_at + segment_size, file_bytes);
  }
  const uint64_t end = unknown ? file_bytes : data_at + segment_size;
  uint64_t at = data_at;
  for (int i = 0; i < kMaxTopLevelBoxes && at < end; ++i) {
    if (!read_head(read_at, at, file_bytes, head)) break;
    int id_len = 1;
    while (id_len <= 4 && !(head[0] & (0x80 >> (id_len - 1)))) ++id_len;
    if (id_len > 4) break;
    const uint64_t size = ebml_vint(head + id_len, &len, &unknown);
    if (len == 0 || unknown) break;
    const uint64_t header = uint64_t(id_len) + len;
    if (at + header > file_bytes || size > file_bytes - at - header) {
      return truncated(name, be32(head) == 0x1F43B675 ? "Matroska cluster" : "Matroska element", at + header + size,
                       file_bytes);
    }
    at += header + size;
  }
  return ok_status();
}

Status check_avi(const std::string& name, uint64_t file_bytes, const ReadAt& read_at) {
  uint64_t at = 0;
  for (int i = 0; i < kMaxTopLevelBoxes && at + 8 <= file_bytes; ++i) {
    uint8_t head[8];
    if (!read_at(at, head, 8)) break;
    const uint64_t size = 8 + uint64_t(le32(head + 4)) + (le32(head + 4) & 1);  // chunks are padded to even
    if (size > file_bytes - at) {
      return truncated(name, "'" + printable(std::string(reinterpret_cast<const char*>(head), 4)) + "' chunk", at + size, file_bytes);
    }
    at += size;
  }
  return ok_status();
}

}  // namespace

Status check_not_truncated(const std::string& name, VideoFamily family, uint64_t file_bytes, const ReadAt& read_at) {
  switch (family) {
    case VideoFamily::mp4: return check_mp4(name, file_bytes, read_at);
    case VideoFamily::matroska: return check_matroska(name, file_bytes, read_at);
    case VideoFamily::avi: return check_avi(name, file_bytes, read_at);
  }
  return ok_status();
}

}  // namespace taec

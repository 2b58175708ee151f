#include "io/image.h"

#include <stb_image.h>
#include <zlib.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "base/file_util.h"

namespace taec {
namespace {

constexpr uint64_t kMaxImageFileBytes = 512ull << 20;
constexpr int kMaxSide = 16384;
// 64 MP (8192 x 8192) keeps a decode under ~1.3 GB (stb's buffers plus the float image) whatever
// a small file declares; FLUX round trips use a few MP.
constexpr int64_t kMaxPixels = int64_t{1} << 26;

struct StbiFree {
  void operator()(unsigned char* p) const { stbi_image_free(p); }
};

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* bytes = static_cast<const uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}

uint32_t be32(const uint8_t* p) { return (uint32_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }

// stb inflates a PNG's image data into a buffer it keeps doubling for as long as the stream
// yields bytes, so a small file holding a decompression bomb makes it allocate gigabytes (found
// by fuzz_image), and grows it to a chunk's declared length before reading the chunk. So: refuse
// chunks that claim more bytes than the file has, and inflate the IDAT stream once here,
// discarding the output, refusing a stream that yields more than the declared image can hold.
// Other malformations pass through to stb, which reports them.
Status check_png_inflated_size(const std::string& path, const std::vector<uint8_t>& bytes) {
  static const uint8_t kMagic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kMagic, 8) != 0) return ok_status();
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return Status(Code::out_of_memory, path + ": cannot start zlib");
  std::vector<uint8_t> sink(1 << 16);
  uint64_t limit = 0, total = 0;
  uint32_t width = 0, height = 0;
  Status status;
  bool done = false;
  for (size_t pos = 8; !done && pos + 8 <= bytes.size();) {
    const uint32_t length = be32(&bytes[pos]);
    const char* type = reinterpret_cast<const char*>(&bytes[pos + 4]);
    pos += 8;
    if (length > bytes.size() - pos) {
      // stb grows its buffer to a chunk's declared length before reading it.
      status = Status(Code::format, path + ": PNG chunk " + std::string(type, 4) + " claims " + std::to_string(length) +
                                        " bytes, past the end of the " + std::to_string(bytes.size()) +
                                        "-byte file (truncated or corrupt)");
      break;
    }
    const uint8_t* data = &bytes[pos];
    if (std::memcmp(type, "IHDR", 4) == 0 && length >= 13) {
      width = be32(data);
      height = be32(data + 4);
      const int depth = data[8], color = data[9], interlaced = data[12];
      static const int kChannels[7] = {1, 0, 3, 1, 2, 0, 4};
      const int channels = color <= 6 ? kChannels[color] : 0;
      const uint64_t row_bytes = (uint64_t{width} * channels * depth + 7) / 8 + 1;  // + filter byte
      // Adam7 interlacing adds at most one filter byte and one partial byte per pass row.
      limit = row_bytes * height * (interlaced ? 2 : 1) + 1024;
    } else if (std::memcmp(type, "IDAT", 4) == 0 && limit > 0) {
      zs.next_in = const_cast<Bytef*>(data);
      zs.avail_in = length;
      while (zs.avail_in > 0 && !done) {
        zs.next_out = sink.data();
        zs.avail_out = static_cast<uInt>(sink.size());
        const int ret = inflate(&zs, Z_NO_FLUSH);
        total += sink.size() - zs.avail_out;
        if (total > limit) {
          status = Status(Code::format, path + ": PNG image data inflates past the " + std::to_string(width) + "x" +
                                            std::to_string(height) + " image its header declares (corrupt, or a "
                                                                     "decompression bomb)");
          done = true;
        } else if (ret == Z_STREAM_END || (ret != Z_OK && ret != Z_BUF_ERROR)) {
          done = true;  // end of data, or corrupt: stb reports the latter
        } else if (ret == Z_BUF_ERROR && zs.avail_out != 0) {
          break;  // needs the next IDAT chunk
        }
      }
    } else if (std::memcmp(type, "IEND", 4) == 0) {
      break;
    }
    pos += static_cast<size_t>(length) + 4;  // data and CRC
  }
  inflateEnd(&zs);
  return status;
}

}  // namespace

Result<RgbImage> read_image(const std::string& path) {
  TAEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(path, kMaxImageFileBytes));
  return decode_image(path, bytes);
}

Result<RgbImage> decode_image(const std::string& path, const std::vector<uint8_t>& bytes) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) return Status(Code::format, path + ": image file too large");
  int w = 0, h = 0, channels = 0;
  const int size = static_cast<int>(bytes.size());
  TAEC_RETURN_IF_ERROR(check_png_inflated_size(path, bytes));
  if (!stbi_info_from_memory(bytes.data(), size, &w, &h, &channels)) {
    return Status(Code::format, path + ": not a readable PNG or JPEG image (" + stbi_failure_reason() + ")");
  }
  if (w <= 0 || h <= 0 || w > kMaxSide || h > kMaxSide || static_cast<int64_t>(w) * h > kMaxPixels) {
    return Status(Code::format, path + ": image size " + std::to_string(w) + "x" + std::to_string(h) +
                                    " is outside what taec accepts (16384 px a side, 64 MP)");
  }
  std::unique_ptr<unsigned char, StbiFree> pixels(stbi_load_from_memory(bytes.data(), size, &w, &h, &channels, 3));
  if (!pixels) return Status(Code::format, path + ": cannot decode image (" + stbi_failure_reason() + ")");
  RgbImage image;
  image.height = h;
  image.width = w;
  image.chw.resize(static_cast<size_t>(3) * h * w);
  const size_t plane = static_cast<size_t>(h) * w;
  for (size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < 3; ++c) image.chw[c * plane + i] = pixels.get()[3 * i + c] / 255.0f;
  }
  return image;
}

Status write_png_hwc(const std::string& path, const float* hwc, int height, int width) {
  std::vector<unsigned char> pixels(static_cast<size_t>(height) * width * 3);
  for (size_t i = 0; i < pixels.size(); ++i) {
    float v = std::clamp(hwc[i], 0.0f, 1.0f);  // NaN stays NaN through clamp: map it to 0
    pixels[i] = static_cast<unsigned char>(std::isnan(v) ? 0 : std::lround(v * 255.0f));
  }
  std::vector<uint8_t> png;
  if (!stbi_write_png_to_func(append_bytes, &png, width, height, 3, pixels.data(), width * 3)) {
    return Status(Code::internal, path + ": PNG encoding failed");
  }
  return write_output_file(path, png.data(), png.size());
}

}  // namespace taec

#include "io/image.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "base/file_util.h"

namespace taec {
namespace {

constexpr uint64_t kMaxImageFileBytes = 512ull << 20;
constexpr int kMaxSide = 16384;
constexpr int64_t kMaxPixels = int64_t{1} << 28;

struct StbiFree {
  void operator()(unsigned char* p) const { stbi_image_free(p); }
};

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* bytes = static_cast<const uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
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
  if (!stbi_info_from_memory(bytes.data(), size, &w, &h, &channels)) {
    return Status(Code::format, path + ": not a readable PNG or JPEG image (" + stbi_failure_reason() + ")");
  }
  if (w <= 0 || h <= 0 || w > kMaxSide || h > kMaxSide || static_cast<int64_t>(w) * h > kMaxPixels) {
    return Status(Code::format, path + ": image size " + std::to_string(w) + "x" + std::to_string(h) +
                                    " is outside what taec accepts (16384 px a side, 256 MP)");
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
  return write_file_atomic(path, png.data(), png.size());
}

}  // namespace taec

#include "io/image.h"

#include <stb_image_write.h>

#include <algorithm>
#include <cmath>

#include "base/file_util.h"
#include "io/image_decoders.h"
#include "io/image_format.h"

namespace taec {
namespace {

constexpr uint64_t kMaxImageFileBytes = 512ull << 20;

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* bytes = static_cast<const uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}

// The stored pixels turned as EXIF `orientation` says (PIL's ImageOps.exif_transpose), into CHW
// floats. For output pixel (y, x) the stored pixel read is:
//   1 (y, x)           2 mirrored (y, W-1-x)          3 rotated 180 (H-1-y, W-1-x)
//   4 flipped (H-1-y, x)                               5 transposed (x, y)
//   6 rotated 90 clockwise (H-1-x, y)                  7 transversed (H-1-x, W-1-y)
//   8 rotated 90 counter-clockwise (x, W-1-y)
// where H x W is the stored size; orientations 5-8 swap the output's height and width.
RgbImage orient_to_chw(const Rgb8Image& in) {
  const int h = in.height, w = in.width, o = in.orientation;
  const bool swap = o >= 5;
  RgbImage out;
  out.height = swap ? w : h;
  out.width = swap ? h : w;
  const size_t plane = static_cast<size_t>(h) * w;
  out.chw.resize(3 * plane);
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      int sy = y, sx = x;
      switch (o) {
        case 2: sx = w - 1 - x; break;
        case 3: sy = h - 1 - y, sx = w - 1 - x; break;
        case 4: sy = h - 1 - y; break;
        case 5: sy = x, sx = y; break;
        case 6: sy = h - 1 - x, sx = y; break;
        case 7: sy = h - 1 - x, sx = w - 1 - y; break;
        case 8: sy = x, sx = w - 1 - y; break;
        default: break;
      }
      const uint8_t* px = in.rgb.data() + (static_cast<size_t>(sy) * w + sx) * 3;
      const size_t at = static_cast<size_t>(y) * out.width + x;
      for (int c = 0; c < 3; ++c) out.chw[c * plane + at] = px[c] / 255.0f;
    }
  }
  return out;
}

}  // namespace

Status check_image_dimensions(const std::string& path, uint64_t width, uint64_t height) {
  if (width == 0 || height == 0 || width > kMaxImageSide || height > kMaxImageSide ||
      width * height > static_cast<uint64_t>(kMaxImagePixels)) {
    return Status(Code::format, path + ": image size " + std::to_string(width) + "x" + std::to_string(height) +
                                    " is outside what taec accepts (16384 px a side, 64 MP)");
  }
  return ok_status();
}

Result<RgbImage> read_image(const std::string& path) {
  TAEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(path, kMaxImageFileBytes));
  return decode_image(path, bytes);
}

Result<RgbImage> decode_image(const std::string& path, const std::vector<uint8_t>& bytes) {
  if (bytes.size() > kMaxImageFileBytes) {
    return Status(Code::format, path + ": image data over " + std::to_string(kMaxImageFileBytes >> 20) + " MiB");
  }
  const SniffedImage sniffed = sniff_image_format(bytes.data(), bytes.size());
  Result<Rgb8Image> decoded = Status(Code::internal, path + ": no decoder ran");
  switch (sniffed.format) {
    case ImageFormat::png: decoded = decode_png(path, bytes); break;
    case ImageFormat::jpeg: decoded = decode_jpeg(path, bytes); break;
    case ImageFormat::other:
      return Status(Code::unsupported, path + ": is " + (sniffed.name[0] == 'A' ? "an " : "a ") + sniffed.name +
                                           " image (by its content); taec reads PNG and JPEG");
    case ImageFormat::unknown:
      return Status(Code::format, path + ": is not a PNG or JPEG image (" +
                                      (bytes.empty() ? "the file is empty" : "by its content") +
                                      "); taec reads PNG and JPEG");
  }
  if (!decoded.ok()) return decoded.status();
  return orient_to_chw(*decoded);
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

#include "io/image.h"

#include <stb_image_write.h>

#include "base/file_util.h"
#include "io/image_decoders.h"
#include "io/image_format.h"
#include "io/rgb8.h"

namespace taec {
namespace {

constexpr uint64_t kMaxImageFileBytes = 512ull << 20;

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* bytes = static_cast<const uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}

RgbImage orient_to_chw(const Rgb8Image& in) {
  RgbImage out;
  const bool swap = in.orientation >= 5 && in.orientation <= 8;
  out.height = swap ? in.width : in.height;
  out.width = swap ? in.height : in.width;
  out.chw.resize(3 * static_cast<size_t>(in.height) * in.width);
  rgb8_to_float(in.rgb.data(), in.height, in.width, in.orientation, RgbOrder::chw, out.chw.data());
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

Status write_png(const std::string& path, const float* data, RgbOrder order, int height, int width) {
  std::vector<unsigned char> pixels(static_cast<size_t>(height) * width * 3);
  float_to_rgb8(data, order, height, width, pixels.data());
  std::vector<uint8_t> png;
  if (!stbi_write_png_to_func(append_bytes, &png, width, height, 3, pixels.data(), width * 3)) {
    return Status(Code::internal, path + ": PNG encoding failed");
  }
  return write_output_file(path, png.data(), png.size());
}

Status write_png_hwc(const std::string& path, const float* hwc, int height, int width) {
  return write_png(path, hwc, RgbOrder::hwc, height, width);
}

}  // namespace taec

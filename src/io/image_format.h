// Which image format a file holds, decided from its first bytes (its magic), never its name.
#pragma once

#include <cstddef>
#include <cstdint>

namespace taec {

enum class ImageFormat { png, jpeg, other, unknown };

struct SniffedImage {
  ImageFormat format = ImageFormat::unknown;
  const char* name = "";  // for messages: "PNG", "BMP", "PGM (netpbm P5)", ...; "" when unknown
};

// Recognizes PNG and JPEG (the formats taec reads) and, to name them in refusals, BMP, GIF, the
// netpbm family (P1-P7), Radiance HDR, PSD, Softimage PIC, WebP, TIFF, QOI, AVIF/HEIF, JPEG XL
// and JPEG 2000. TGA has no magic bytes; it lands in `unknown` with everything else.
SniffedImage sniff_image_format(const uint8_t* data, size_t size);

}  // namespace taec

#include "io/image_format.h"

#include <cstring>
#include <initializer_list>

namespace taec {
namespace {

bool starts_with(const uint8_t* data, size_t size, const char* magic, size_t n, size_t at = 0) {
  return size >= at + n && std::memcmp(data + at, magic, n) == 0;
}

const char* netpbm_name(uint8_t kind) {
  switch (kind) {
    case '1': return "PBM (netpbm P1)";
    case '2': return "PGM (netpbm P2)";
    case '3': return "PPM (netpbm P3)";
    case '4': return "PBM (netpbm P4)";
    case '5': return "PGM (netpbm P5)";
    case '6': return "PPM (netpbm P6)";
    case '7': return "PAM (netpbm P7)";
    default: return nullptr;
  }
}

// ISO base media files (AVIF, HEIF) name their brand in the leading ftyp box.
const char* isobmff_name(const uint8_t* data, size_t size) {
  if (!starts_with(data, size, "ftyp", 4, 4) || size < 12) return nullptr;
  const char* brand = reinterpret_cast<const char*>(data + 8);
  for (const char* avif : {"avif", "avis"}) {
    if (std::memcmp(brand, avif, 4) == 0) return "AVIF";
  }
  for (const char* heif : {"heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"}) {
    if (std::memcmp(brand, heif, 4) == 0) return "HEIF";
  }
  return nullptr;
}

}  // namespace

SniffedImage sniff_image_format(const uint8_t* d, size_t n) {
  auto other = [](const char* name) { return SniffedImage{ImageFormat::other, name}; };
  if (starts_with(d, n, "\x89PNG\r\n\x1a\n", 8)) return {ImageFormat::png, "PNG"};
  if (starts_with(d, n, "\xff\xd8\xff", 3)) return {ImageFormat::jpeg, "JPEG"};
  if (starts_with(d, n, "GIF87a", 6) || starts_with(d, n, "GIF89a", 6)) return other("GIF");
  // "BM" alone is too common a text start: also require a known DIB header size after the
  // 14-byte file header, as BMP readers do.
  if (starts_with(d, n, "BM", 2) && n >= 18) {
    const uint32_t dib = d[14] | (d[15] << 8) | (d[16] << 16) | (uint32_t{d[17]} << 24);
    for (uint32_t known : {12u, 16u, 40u, 52u, 56u, 64u, 108u, 124u}) {
      if (dib == known) return other("BMP");
    }
  }
  if (n >= 3 && d[0] == 'P' && netpbm_name(d[1]) && (d[2] == ' ' || d[2] == '\t' || d[2] == '\n' || d[2] == '\r')) {
    return other(netpbm_name(d[1]));
  }
  if (starts_with(d, n, "#?RADIANCE", 10) || starts_with(d, n, "#?RGBE", 6)) return other("Radiance HDR");
  if (starts_with(d, n, "8BPS", 4)) return other("PSD (Photoshop)");
  if (starts_with(d, n, "\x53\x80\xf6\x34", 4)) return other("Softimage PIC");
  if (starts_with(d, n, "RIFF", 4) && starts_with(d, n, "WEBP", 4, 8)) return other("WebP");
  if (starts_with(d, n, "II*\0", 4) || starts_with(d, n, "MM\0*", 4) || starts_with(d, n, "II+\0", 4) ||
      starts_with(d, n, "MM\0+", 4)) {
    return other("TIFF");
  }
  if (starts_with(d, n, "qoif", 4)) return other("QOI");
  if (const char* name = isobmff_name(d, n)) return other(name);
  if (starts_with(d, n, "\xff\x0a", 2) || starts_with(d, n, "\0\0\0\x0cJXL \r\n\x87\n", 12)) return other("JPEG XL");
  if (starts_with(d, n, "\0\0\0\x0cjP  \r\n\x87\n", 12) || starts_with(d, n, "\xff\x4f\xff\x51", 4)) {
    return other("JPEG 2000");
  }
  return {};
}

}  // namespace taec

#include "io/exif.h"

#include <cstring>

namespace taec {

int exif_orientation(const uint8_t* tiff, size_t size) {
  if (tiff == nullptr) return 1;
  if (size >= 6 && std::memcmp(tiff, "Exif\0\0", 6) == 0) {
    tiff += 6;
    size -= 6;
  }
  if (size < 8) return 1;
  const bool little = tiff[0] == 'I' && tiff[1] == 'I';
  if (!little && !(tiff[0] == 'M' && tiff[1] == 'M')) return 1;
  auto u16 = [&](size_t at) -> uint32_t {
    return little ? tiff[at] | (tiff[at + 1] << 8) : (tiff[at] << 8) | tiff[at + 1];
  };
  auto u32 = [&](size_t at) -> uint32_t { return little ? u16(at) | (u16(at + 2) << 16) : (u16(at) << 16) | u16(at + 2); };
  if (u16(2) != 42) return 1;
  // Every offset is checked against `size` before it is read; the sums stay below 2^33 (offsets
  // are 32-bit, entry counts 16-bit), so in 64-bit size_t nothing wraps.
  const size_t ifd = u32(4);
  if (ifd + 2 > size) return 1;
  const size_t entries = u16(ifd);
  for (size_t i = 0; i < entries; ++i) {
    const size_t entry = ifd + 2 + 12 * i;
    if (entry + 12 > size) return 1;
    if (u16(entry) != 0x0112) continue;
    const uint32_t type = u16(entry + 2), count = u32(entry + 4);
    if (count != 1) return 1;
    // SHORT per the EXIF spec; LONG is tolerated as readers such as PIL do. Both sit in the
    // entry's value field.
    const uint32_t value = type == 3 ? u16(entry + 8) : type == 4 ? u32(entry + 8) : 0;
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

}  // namespace taec

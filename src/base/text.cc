#include "base/text.h"

#include <cstdio>

namespace taec {

std::string printable(std::string_view text, size_t max_bytes) {
  std::string out;
  const size_t shown = text.size() > max_bytes ? max_bytes : text.size();
  out.reserve(shown + 16);
  for (size_t i = 0; i < shown; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (shown < text.size()) out += "…(" + std::to_string(text.size() - shown) + " more bytes)";
  return out;
}

}  // namespace taec

// Text taken from files (tensor names, archive member names, JSON keys) before it goes into a
// message: control characters escaped so a hostile name cannot rewrite the terminal, and the
// length bounded so a huge name cannot flood it.
#pragma once

#include <string>
#include <string_view>

namespace taec {

// Bytes below 0x20 and 0x7f become \xNN (tab, newline and carriage return included); longer text
// is cut after `max_bytes` bytes with "…(N more bytes)".
std::string printable(std::string_view text, size_t max_bytes = 160);

}  // namespace taec

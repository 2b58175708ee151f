#pragma once

#include <cstddef>
#include <string>

namespace taec {

// Lower-case hex SHA-256 of a byte range (OpenSSL).
std::string sha256_hex(const void* data, size_t size);

}  // namespace taec

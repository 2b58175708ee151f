// Any bytes as a PNG/JPEG image.
#include <cstdint>
#include <vector>

#include "io/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)taec::decode_image("fuzz", std::vector<uint8_t>(data, data + size));
  return 0;
}

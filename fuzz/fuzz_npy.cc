// Any bytes as a .npy latent.
#include <cstdint>
#include <vector>

#include "io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)taec::parse_npy("fuzz", std::vector<uint8_t>(data, data + size));
  return 0;
}

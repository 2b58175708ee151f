// Any bytes as a state_dict pickle (the restricted unpickler alone, for deeper coverage than
// through the zip container).
#include <cstdint>

#include "io/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)taec::unpickle_state_dict(data, size, "fuzz");
  return 0;
}

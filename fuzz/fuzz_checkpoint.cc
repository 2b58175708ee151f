// Any bytes as a checkpoint (.pth zip + unpickler, or .safetensors), then as a model: must end in
// a Status, never a crash, a leak or an oversized allocation.
#include <cstdint>
#include <vector>

#include "graph/model.h"
#include "io/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  auto ckpt = taec::parse_checkpoint("fuzz", bytes);
  if (ckpt.ok()) (void)taec::build_model(ckpt.value(), {});
  return 0;
}

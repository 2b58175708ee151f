// Any bytes as a package file: the first byte picks the parser (manifest.json, a plan file, or
// weight.bin followed by building the model it holds), the rest is the file.
#include <cstdint>

#include "graph/model.h"
#include "package/package_format.h"
#include "package/weight_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t* body = data + 1;
  const size_t n = size - 1;
  switch (data[0] % 3) {
    case 0:
      (void)taec::parse_manifest("manifest.json", body, n);
      break;
    case 1:
      (void)taec::parse_plan_file("plan.json", body, n);
      break;
    default: {
      auto ck = taec::read_weight_file("weight.bin", body, n);
      if (ck.ok()) (void)taec::build_model(*ck, taec::LoadRequest{});
      break;
    }
  }
  return 0;
}

// Any bytes as an .mlpackage read back by taec's Core ML package reader. One input holds the
// package's three files, Manifest.json, model.mlmodel and weights/weight.bin, in that order, joined
// by kSeparator (scripts/fuzz.sh builds the seeds from packages the exporter wrote); fewer parts
// mean a package without weights. A package the reader accepts is also printed as MIL text.
#include <cstdint>
#include <string>
#include <string_view>

#include <google/protobuf/stubs/logging.h>

#include "export/coreml/mil_text.h"
#include "export/coreml/package_reader.h"

namespace {
constexpr std::string_view kSeparator = "\n--taec-coreml-part--\n";
}

// libprotobuf logs every invalid UTF-8 string it meets; rejecting them is the reader's job.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  taec::coreml::PackageFiles files;
  const size_t a = input.find(kSeparator);
  files.manifest = std::string(input.substr(0, a));
  if (a != std::string_view::npos) {
    const std::string_view rest = input.substr(a + kSeparator.size());
    const size_t b = rest.find(kSeparator);
    files.model = std::string(rest.substr(0, b));
    if (b != std::string_view::npos) {
      const std::string_view weights = rest.substr(b + kSeparator.size());
      files.weights.assign(weights.begin(), weights.end());
      files.has_weights = true;
    }
  }
  auto package = taec::coreml::parse_package("fuzz", files);
  if (package.ok()) (void)taec::coreml::mil_text(package->model);
  return 0;
}

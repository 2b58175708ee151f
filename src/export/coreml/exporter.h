// The Core ML export as the CLI runs it: load a decoder, build the packages, write them, read each
// back through the validating reader.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "export/coreml/package_writer.h"

namespace taec::coreml {

struct ExportedPackage {
  std::string path;           // …/NAME.mlpackage
  std::string summary;        // "functions r768, r1024; 446 ops each"
  uint64_t total_bytes = 0;   // of the files on disk
  std::string weight_sha256;  // of weight.bin
};

// variant: "" to detect. Everything is built and checked in memory before the first package is
// written; each package appears atomically.
Result<std::vector<ExportedPackage>> export_coreml(const std::string& weights_path, const std::string& variant,
                                                   const ExportOptions& options, const std::string& out_dir);

// The MIL text of what export_coreml would write (all packages, one after another).
Result<std::string> coreml_mil_text(const std::string& weights_path, const std::string& variant,
                                    const ExportOptions& options);

}  // namespace taec::coreml

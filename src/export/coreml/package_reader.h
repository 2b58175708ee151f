// Reads an .mlpackage back and validates everything taec writes (and the fuzzer throws at it):
// Manifest.json (format version, items, root model), model.mlmodel (a CoreML.Specification.Model
// holding an ML Program: spec version and opset, the description against the functions), every
// function (mil_validate.h) and weight.bin (blob_storage.h) with every blob reference resolving to a
// record of the right dtype and size.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "Model.pb.h"
#include "base/status.h"
#include "export/coreml/mil_const.h"
#include "export/coreml/mil_validate.h"

namespace taec::coreml {

namespace spec = ::CoreML::Specification;

struct PackageFiles {
  std::string manifest;  // Manifest.json text
  std::string model;     // model.mlmodel bytes
  std::vector<uint8_t> weights;
  bool has_weights = false;
};

struct ReadPackage {
  spec::Model model;
  BlobFile blobs;
  std::map<std::string, FunctionSummary> functions;  // by function name
  std::string model_item_path;                        // relative to Data/, from the manifest
};

// The item paths (relative to Data/) of the root model and the weights directory ("" if none).
struct ManifestItems {
  std::string model_path;
  std::string weights_path;
};
Result<ManifestItems> parse_manifest(const std::string& where, const std::string& text);

// Validates already-read files (`where` names the package in messages).
Result<ReadPackage> parse_package(const std::string& where, const PackageFiles& files);

// Reads NAME.mlpackage from disk and validates it.
Result<ReadPackage> read_package(const std::string& package_dir);

}  // namespace taec::coreml

// Assembles ML Program models (specification version 9, opset CoreML8) from a decoder and writes
// them as .mlpackage directories (shared docs COREML.md sections 1-2):
//
//   NAME.mlpackage/Manifest.json
//   NAME.mlpackage/Data/com.apple.CoreML/model.mlmodel        CoreML.Specification.Model
//   NAME.mlpackage/Data/com.apple.CoreML/weights/weight.bin   MIL blob storage v2
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "Model.pb.h"
#include "base/status.h"
#include "export/coreml/mil_builder.h"
#include "export/coreml/package_reader.h"
#include "graph/model.h"

namespace taec::coreml {

namespace spec = ::CoreML::Specification;

struct ImageSize {
  int height = 0, width = 0;  // pixels
};

enum class Packaging {
  per_size,       // one package per size, function "main", each with the same weight.bin
  multifunction,  // one package, one fixed-shape function per size ("r768", …), one weight.bin
  enumerated,     // one package, one function "main" whose input takes any of the sizes
};

struct ExportOptions {
  std::vector<ImageSize> sizes;
  LoweringOptions lowering;
  Packaging packaging = Packaging::per_size;
  WeightCompression weights = WeightCompression::none;  // how the conv weights are stored
  VideoLowering video;  // video decoders only (an image decoder refuses anything but the default)
};

struct PackageContents {
  // directory name without ".mlpackage": "taef2_decoder[_palette4][_768]"; video decoders
  // "taew2_1_decoder[_palette4][_stateful][_k2][_512]"
  std::string name;
  std::vector<std::string> functions;  // function names in the program
  spec::Model model;
  std::vector<uint8_t> weights;        // weight.bin
};

// "r768" for a square size, "r768x1024" (height x width) otherwise.
std::string function_name_for(const ImageSize& size);

// Every package's weight.bin is the same bytes whatever the sizes and packaging (one blob per
// distinct weight, in op order), for fp16 and compressed weights alike; for video decoders also
// whatever the chunk and state style (every weight is first used by the first latent's step).
Result<std::vector<PackageContents>> build_packages(const Model& model, const ExportOptions& options);

// The files `contents` is written as (a fresh Manifest.json), for checking in memory with
// parse_package before anything is written.
Result<PackageFiles> package_files(const PackageContents& contents);

// Writes `package_dir` (…/NAME.mlpackage) through a temporary sibling directory renamed into place,
// replacing an existing package only once the new one is complete, and only if it passes
// check_replaceable_mlpackage.
Status write_package(const std::string& package_dir, const PackageContents& contents);

// Whether an export may replace what is at `package_dir`: nothing, or a Core ML package that taec
// wrote (exactly Manifest.json, model.mlmodel and weights/weight.bin, no links, reading back as a
// valid package whose metadata names taec). Anything else is refused, naming the path.
Status check_replaceable_mlpackage(const std::string& package_dir);

// Manifest.json text with fresh random (v4) item identifiers.
std::string manifest_json();

}  // namespace taec::coreml

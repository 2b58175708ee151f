#include "export/coreml/package_reader.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "io/json_strict.h"

namespace taec::coreml {
namespace {

constexpr uint64_t kMaxManifestBytes = 1 << 20;
constexpr uint64_t kMaxModelBytes = 256ull << 20;
constexpr uint64_t kMaxWeightBytes = 4ull << 30;

Status bad(const std::string& message) { return Status(Code::format, message); }

// Spec version -> the opset its functions must use (coremltools _OPSET).
const char* opset_for(int version) {
  switch (version) {
    case 6: return "CoreML5";
    case 7: return "CoreML6";
    case 8: return "CoreML7";
    case 9: return "CoreML8";
    case 10: return "CoreML9";
    default: return nullptr;
  }
}

mil::DataType mil_dtype_of(spec::ArrayFeatureType::ArrayDataType t) {
  switch (t) {
    case spec::ArrayFeatureType::FLOAT16: return mil::FLOAT16;
    case spec::ArrayFeatureType::FLOAT32: return mil::FLOAT32;
    case spec::ArrayFeatureType::DOUBLE: return mil::FLOAT64;
    case spec::ArrayFeatureType::INT32: return mil::INT32;
    case spec::ArrayFeatureType::INT8: return mil::INT8;
    default: return mil::UNUSED_TYPE;
  }
}

// A description feature against the function's input (or block output) of the same position.
Status check_feature(const std::string& where, const spec::FeatureDescription& feature,
                     const mil::NamedValueType& value, bool is_input) {
  const std::string what = where + ": " + (is_input ? "input " : "output ") + feature.name();
  if (feature.name() != value.name()) {
    return bad(what + ": the program's " + (is_input ? "input" : "output") + " is named " + value.name());
  }
  if (!feature.type().has_multiarraytype()) return bad(what + ": only multi-array features are supported");
  const auto& array = feature.type().multiarraytype();
  const mil::TensorType& t = value.type().tensortype();
  if (mil_dtype_of(array.datatype()) != t.datatype()) {
    return bad(what + ": description dtype does not match the program's " + type_text(value.type()));
  }
  const std::vector<int64_t> dims = dims_of(t);
  if (array.has_enumeratedshapes()) {
    if (!is_input) return bad(what + ": enumerated shapes on an output");
    const auto& shapes = array.enumeratedshapes().shapes();
    if (shapes.empty()) return bad(what + ": empty enumerated shape list");
    bool default_listed = array.shape_size() == 0;
    for (const auto& s : shapes) {
      if (s.shape_size() != static_cast<int>(dims.size())) return bad(what + ": enumerated shape of the wrong rank");
      for (int i = 0; i < s.shape_size(); ++i) {
        if (s.shape(i) <= 0 || (dims[i] != kUnknownDim && dims[i] != s.shape(i))) {
          return bad(what + ": enumerated shape does not fit the program's " + type_text(value.type()));
        }
      }
      default_listed |= std::equal(s.shape().begin(), s.shape().end(), array.shape().begin(), array.shape().end());
    }
    if (!default_listed) return bad(what + ": default shape is not one of the enumerated shapes");
    return ok_status();
  }
  if (array.shape_size() == 0 && !is_input) return ok_status();  // flexible model: output shape unstated
  if (!std::equal(dims.begin(), dims.end(), array.shape().begin(), array.shape().end())) {
    return bad(what + ": description shape does not match the program's " + type_text(value.type()));
  }
  return ok_status();
}

// An iOS18 state feature against the program's state input: a fp16 multi-array of the wrapped
// tensor's shape.
Status check_state_feature(const std::string& where, const spec::FeatureDescription& feature,
                           const mil::NamedValueType& value) {
  const std::string what = where + ": state " + feature.name();
  if (feature.name() != value.name()) return bad(what + ": the program's state input is named " + value.name());
  if (!feature.type().has_statetype() || !feature.type().statetype().has_arraytype()) {
    return bad(what + ": a state must be described as a state of a multi-array");
  }
  const auto& array = feature.type().statetype().arraytype();
  if (array.datatype() != spec::ArrayFeatureType::FLOAT16) return bad(what + ": a state must hold fp16 (Core ML's MLState)");
  if (array.ShapeFlexibility_case() != spec::ArrayFeatureType::SHAPEFLEXIBILITY_NOT_SET) {
    return bad(what + ": a state has one fixed shape");
  }
  const std::vector<int64_t> dims = dims_of(value.type().statetype().wrappedtype().tensortype());
  if (!std::equal(dims.begin(), dims.end(), array.shape().begin(), array.shape().end())) {
    return bad(what + ": description shape does not match the program's " + type_text(value.type()));
  }
  return ok_status();
}

template <typename Description>
Status check_interface(const std::string& where, const Description& d, const mil::Function& function,
                       const FunctionSummary& summary) {
  // Function inputs are the described inputs and states, each list in its own order.
  std::vector<const mil::NamedValueType*> inputs, states;
  for (const auto& in : function.inputs()) (in.type().has_statetype() ? states : inputs).push_back(&in);
  if (d.input_size() != static_cast<int>(inputs.size())) return bad(where + ": description and program disagree on the inputs");
  for (int i = 0; i < d.input_size(); ++i) TAEC_RETURN_IF_ERROR(check_feature(where, d.input(i), *inputs[i], true));
  if (d.state_size() != static_cast<int>(states.size())) return bad(where + ": description and program disagree on the states");
  for (int i = 0; i < d.state_size(); ++i) TAEC_RETURN_IF_ERROR(check_state_feature(where, d.state(i), *states[i]));
  if (d.output_size() != static_cast<int>(summary.outputs.size())) {
    return bad(where + ": description and program disagree on the outputs");
  }
  for (int i = 0; i < d.output_size(); ++i) TAEC_RETURN_IF_ERROR(check_feature(where, d.output(i), summary.outputs[i], false));
  return ok_status();
}

}  // namespace

Result<ManifestItems> parse_manifest(const std::string& where, const std::string& text) {
  const std::string at = where + "/Manifest.json";
  auto parsed = parse_json_object(at, reinterpret_cast<const uint8_t*>(text.data()), text.size(), kMaxManifestBytes);
  if (!parsed.ok()) return bad(parsed.status().message());
  const nlohmann::json& j = *parsed;
  auto str = [](const nlohmann::json& o, const char* key) -> const std::string* {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  const std::string* version = str(j, "fileFormatVersion");
  if (!version) return bad(at + ": no fileFormatVersion");
  unsigned major = 0, minor = 0, patch = 0;
  char extra = 0;
  if (std::sscanf(version->c_str(), "%u.%u.%u%c", &major, &minor, &patch, &extra) != 3 ||
      (major > 1 || (major == 1 && (minor > 0 || patch > 0)))) {
    return bad(at + ": unsupported fileFormatVersion \"" + *version + "\" (1.0.0 or lower)");
  }
  const std::string* root = str(j, "rootModelIdentifier");
  auto items = j.find("itemInfoEntries");
  if (!root || items == j.end() || !items->is_object()) return bad(at + ": no rootModelIdentifier or itemInfoEntries");
  ManifestItems out;
  bool found_root = false;
  for (const auto& [id, item] : items->items()) {
    if (!item.is_object()) return bad(at + ": item " + id + " is not an object");
    const std::string* path = str(item, "path");
    const std::string* name = str(item, "name");
    const std::string* author = str(item, "author");
    if (!path || !name || !author || !str(item, "description")) {
      return bad(at + ": item " + id + " lacks one of author, description, name, path");
    }
    if (path->empty() || path->front() == '/' || path->find("..") != std::string::npos) {
      return bad(at + ": item " + id + " has an unsafe path \"" + *path + "\"");
    }
    if (id == *root) {
      out.model_path = *path;
      found_root = true;
    } else if (*name == "weights" && *author == "com.apple.CoreML") {
      out.weights_path = *path;
    }
  }
  if (!found_root) return bad(at + ": rootModelIdentifier names no item");
  return out;
}

Result<ReadPackage> parse_package(const std::string& where, const PackageFiles& files) {
  TAEC_ASSIGN_OR_RETURN(ManifestItems items, parse_manifest(where, files.manifest));
  ReadPackage out;
  out.model_item_path = items.model_path;
  const std::string at = where + "/Data/" + items.model_path;
  if (!out.model.ParseFromString(files.model)) return bad(at + ": not a CoreML.Specification.Model protobuf");
  const spec::Model& m = out.model;
  const char* opset = opset_for(m.specificationversion());
  if (!opset) return bad(at + ": specification version " + std::to_string(m.specificationversion()) + " is not 6..10");
  if (!m.has_mlprogram()) return bad(at + ": not an ML Program (no mlProgram)");
  const mil::Program& program = m.mlprogram();
  if (program.version() != 1) return bad(at + ": program version " + std::to_string(program.version()) + ", expected 1");
  if (program.functions_size() == 0) return bad(at + ": program has no functions");
  const BlobFile* blobs = nullptr;
  if (files.has_weights) {
    TAEC_ASSIGN_OR_RETURN(out.blobs.records, parse_blob_storage(where + "/Data/" + items.weights_path + "/weight.bin", files.weights));
    out.blobs.bytes = files.weights;
    blobs = &out.blobs;
  }
  for (const auto& [name, function] : program.functions()) {
    if (!is_identifier(name)) return bad(at + ": function name \"" + name + "\" is not an identifier");
    TAEC_ASSIGN_OR_RETURN(out.functions[name], validate_function(at + ": function " + name, function, opset, blobs));
  }
  const spec::ModelDescription& d = m.description();
  if (d.functions_size() == 0) {
    if (!program.functions().count("main") || program.functions_size() != 1) {
      return bad(at + ": a model without function descriptions must have exactly one function, main");
    }
    TAEC_RETURN_IF_ERROR(check_interface(at + ": function main", d, program.functions().at("main"), out.functions.at("main")));
  } else {
    if (m.specificationversion() < 9) return bad(at + ": multifunction models need specification version 9 or later");
    if (d.input_size() || d.output_size() || d.state_size()) {
      return bad(at + ": multifunction model with top-level inputs, outputs or states");
    }
    if (d.functions_size() != program.functions_size()) return bad(at + ": description and program list different functions");
    bool default_found = false;
    for (const auto& f : d.functions()) {
      auto it = program.functions().find(f.name());
      if (it == program.functions().end()) return bad(at + ": described function " + f.name() + " is not in the program");
      TAEC_RETURN_IF_ERROR(check_interface(at + ": function " + f.name(), f, it->second, out.functions.at(f.name())));
      default_found |= f.name() == d.defaultfunctionname();
    }
    if (!default_found) return bad(at + ": defaultFunctionName \"" + d.defaultfunctionname() + "\" names no function");
  }
  return out;
}

Result<ReadPackage> read_package(const std::string& package_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(package_dir, ec)) return Status(Code::io, package_dir + ": not a directory");
  PackageFiles files;
  TAEC_ASSIGN_OR_RETURN(std::vector<uint8_t> manifest, read_file(package_dir + "/Manifest.json", kMaxManifestBytes));
  files.manifest.assign(manifest.begin(), manifest.end());
  TAEC_ASSIGN_OR_RETURN(ManifestItems items, parse_manifest(package_dir, files.manifest));
  TAEC_ASSIGN_OR_RETURN(std::vector<uint8_t> model, read_file(package_dir + "/Data/" + items.model_path, kMaxModelBytes));
  files.model.assign(model.begin(), model.end());
  if (!items.weights_path.empty()) {
    const std::string dir = package_dir + "/Data/" + items.weights_path;
    if (!fs::is_directory(dir, ec)) return Status(Code::format, dir + ": weights item is not a directory");
    const std::string weight_bin = dir + "/weight.bin";
    if (fs::exists(weight_bin, ec)) {
      TAEC_ASSIGN_OR_RETURN(files.weights, read_file(weight_bin, kMaxWeightBytes));
      files.has_weights = true;
    }
  }
  return parse_package(package_dir, files);
}

}  // namespace taec::coreml

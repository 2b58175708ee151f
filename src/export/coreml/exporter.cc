#include "export/coreml/exporter.h"

#include <filesystem>

#include "base/sha256.h"
#include "export/coreml/mil_text.h"
#include "export/coreml/package_reader.h"

namespace taec::coreml {
namespace {

Result<std::vector<PackageContents>> load_and_build(const std::string& weights_path, const std::string& variant,
                                                    const ExportOptions& options) {
  LoadRequest request;
  request.variant = variant;
  request.role = static_cast<int>(Role::decoder);
  auto model = load_model(weights_path, request);
  if (!model.ok()) {
    // A file holding only an encoder fails the decoder request; say that plainly.
    auto any = load_model(weights_path, LoadRequest{variant, 0});
    if (any.ok() && (*any)->role == Role::encoder) {
      return Status(Code::invalid_argument, "export coreml: " + weights_path +
                                                ": holds an encoder; only decoders can be exported to Core ML");
    }
    return model.status().with_context("export coreml");
  }
  auto packages = build_packages(**model, options);
  if (!packages.ok()) return packages.status().with_context("export coreml: " + weights_path);
  return packages;
}

uint64_t directory_bytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

}  // namespace

Result<std::vector<ExportedPackage>> export_coreml(const std::string& weights_path, const std::string& variant,
                                                   const ExportOptions& options, const std::string& out_dir) {
  TAEC_ASSIGN_OR_RETURN(std::vector<PackageContents> packages, load_and_build(weights_path, variant, options));
  for (const PackageContents& p : packages) {  // validate everything before the first write
    TAEC_ASSIGN_OR_RETURN(const PackageFiles files, package_files(p));
    auto check = parse_package(p.name, files);
    if (!check.ok()) return Status(Code::internal, "exported package is invalid: " + check.status().message());
  }
  for (const PackageContents& p : packages) {  // and every destination, before the first write
    TAEC_RETURN_IF_ERROR(check_replaceable_mlpackage((std::filesystem::path(out_dir) / (p.name + ".mlpackage")).string()));
  }
  std::vector<ExportedPackage> written;
  for (const PackageContents& p : packages) {
    const std::string path = (std::filesystem::path(out_dir) / (p.name + ".mlpackage")).string();
    TAEC_RETURN_IF_ERROR(write_package(path, p));
    auto check = read_package(path);
    if (!check.ok()) return Status(Code::internal, "the written package does not read back: " + check.status().message());
    ExportedPackage e;
    e.path = path;
    e.total_bytes = directory_bytes(path);
    e.weight_sha256 = sha256_hex(p.weights.data(), p.weights.size());
    int ops = 0;
    for (const std::string& name : p.functions) {
      e.summary += (e.summary.empty() ? "function " : ", ") + name;
      ops = 0;
      for (const auto& [type, count] : check->functions.at(name).op_histogram) ops += count;
    }
    e.summary += "; " + std::to_string(ops) + " ops" + (p.functions.size() > 1 ? " each" : "");
    if (options.weights != WeightCompression::none) {
      e.summary += std::string("; conv weights ") + weight_compression_name(options.weights);
    }
    written.push_back(std::move(e));
  }
  return written;
}

Result<std::string> coreml_mil_text(const std::string& weights_path, const std::string& variant,
                                    const ExportOptions& options) {
  TAEC_ASSIGN_OR_RETURN(std::vector<PackageContents> packages, load_and_build(weights_path, variant, options));
  std::string text;
  for (const PackageContents& p : packages) text += "// " + p.name + ".mlpackage\n" + mil_text(p.model);
  return text;
}

}  // namespace taec::coreml

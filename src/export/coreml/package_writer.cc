#include "export/coreml/package_writer.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "export/coreml/package_reader.h"
#include "graph/frame_rules.h"

#include "taec/taec.h"

namespace taec::coreml {
namespace {

namespace fs = std::filesystem;

spec::FeatureDescription feature(const std::string& name, bool fp32, const std::vector<int64_t>& dims) {
  spec::FeatureDescription f;
  f.set_name(name);
  auto* array = f.mutable_type()->mutable_multiarraytype();
  array->set_datatype(fp32 ? spec::ArrayFeatureType::FLOAT32 : spec::ArrayFeatureType::FLOAT16);
  for (int64_t d : dims) array->add_shape(d);
  return f;
}

// Enumerated shapes: the default shape is the first enumerated one and the output has no shape
// (what coremltools writes).
void make_enumerated(spec::FeatureDescription& input, spec::FeatureDescription& output,
                     const std::vector<std::vector<int64_t>>& shapes) {
  auto* array = input.mutable_type()->mutable_multiarraytype();
  array->clear_shape();
  for (int64_t d : shapes[0]) array->add_shape(d);
  auto* enumerated = array->mutable_enumeratedshapes();
  for (const auto& s : shapes) {
    auto* shape = enumerated->add_shapes();
    for (int64_t d : s) shape->add_shape(d);
  }
  output.mutable_type()->mutable_multiarraytype()->clear_shape();
}

std::vector<int64_t> latent_dims(const Model& model, const ImageSize& size, bool nhwc) {
  const int64_t c = model.latent_channels, h = size.height / model.spatial_factor,
                w = size.width / model.spatial_factor;
  return nhwc ? std::vector<int64_t>{1, h, w, c} : std::vector<int64_t>{1, c, h, w};
}

void set_metadata(spec::ModelDescription* description, const Model& model, const ExportOptions& options) {
  const WeightCompression weights = options.weights;
  auto* meta = description->mutable_metadata();
  meta->set_shortdescription(model.variant + " " + role_name(model.role) + " (tiny autoencoder), exported by taec");
  (*meta->mutable_userdefined())["com.github.taec.version"] = taec_version();
  (*meta->mutable_userdefined())["com.github.taec.source_sha256"] = model.source_sha256;
  if (weights != WeightCompression::none) {  // fp16 packages stay as they were
    (*meta->mutable_userdefined())["com.github.taec.weights"] = weight_compression_name(weights);
  }
  if (model.is_video()) {  // what an app needs to run the clip (docs/COREML_EXPORT.md "Video")
    auto& user = *meta->mutable_userdefined();
    user["com.github.taec.frame_rule"] = frame_rule_name(model.video.rule);
    user["com.github.taec.time_factor"] = std::to_string(model.video.time_factor);
    user["com.github.taec.chunk_latents"] = std::to_string(options.video.chunk_latents);
    user["com.github.taec.state_style"] = options.video.state == StateStyle::stateful ? "stateful" : "tensors";
  }
}

// iOS18 states are fp16 multi-arrays (Core ML's MLState holds fp16 only).
spec::FeatureDescription state_feature(const std::string& name, const std::vector<int64_t>& dims) {
  spec::FeatureDescription f;
  f.set_name(name);
  auto* array = f.mutable_type()->mutable_statetype()->mutable_arraytype();
  array->set_datatype(spec::ArrayFeatureType::FLOAT16);
  for (int64_t d : dims) array->add_shape(d);
  return f;
}

// The interface of one video function: latents (+ state tensors) in, frames (+ next states) out,
// or the states declared as iOS18 states.
template <typename Description>
void describe_video(Description* d, const LoweredFunction& fn, const LoweringOptions& lo, StateStyle style) {
  *d->add_input() = feature(kVideoInputName, lo.fp32_io, fn.input_dims);
  *d->add_output() = feature(kVideoOutputName, lo.fp32_io, fn.output_dims);
  for (const StateIo& s : fn.states) {
    if (style == StateStyle::stateful) {
      *d->add_state() = state_feature(s.name, s.dims);
    } else {
      *d->add_input() = feature(s.name, false, s.dims);
      *d->add_output() = feature(s.name + "_next", false, s.dims);
    }
  }
}

std::string uuid_v4(std::mt19937_64& rng) {
  uint64_t hi = rng(), lo = rng();
  hi = (hi & ~0xf000ull) | 0x4000ull;               // version 4
  lo = (lo & ~(3ull << 62)) | (2ull << 62);          // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffull));
  return text;
}

Status write_bytes(const fs::path& path, const void* data, size_t size) {
  return write_output_file(path.string(), data, size);
}

}  // namespace

std::string function_name_for(const ImageSize& size) {
  if (size.height == size.width) return "r" + std::to_string(size.height);
  return "r" + std::to_string(size.height) + "x" + std::to_string(size.width);
}

Result<std::vector<PackageContents>> build_packages(const Model& model, const ExportOptions& options) {
  if (options.sizes.empty()) return Status(Code::invalid_argument, "no image sizes given");
  constexpr int kMaxSide = 16384;  // as compiled plans (plan_shapes)
  for (const ImageSize& size : options.sizes) {  // every size before anything is built
    if (size.height <= 0 || size.width <= 0 || size.height > kMaxSide || size.width > kMaxSide || size.height % model.spatial_factor ||
        size.width % model.spatial_factor) {
      return Status(Code::invalid_argument, "image size " + std::to_string(size.height) + "x" + std::to_string(size.width) +
                                                " is not a positive multiple of " + std::to_string(model.spatial_factor) +
                                                " (at most " + std::to_string(kMaxSide) + " a side)");
    }
  }
  const LoweringOptions& lo = options.lowering;
  const VideoLowering& video = options.video;
  const bool is_video = model.is_video();
  if (!is_video && (video.chunk_latents != 1 || video.state != StateStyle::tensors)) {
    return Status(Code::invalid_argument, model.variant + " is an image decoder: a latent chunk and a state style apply to "
                                                          "video decoders only");
  }
  if (is_video && options.packaging == Packaging::enumerated) {
    return Status(Code::invalid_argument, model.variant + " is a video decoder: it exports at fixed shapes (one package per "
                                                          "size, or --multifunction), not enumerated ones");
  }
  if (is_video && (video.chunk_latents < 1 || video.chunk_latents > kMaxChunkLatents)) {
    return Status(Code::invalid_argument, "a chunk of " + std::to_string(video.chunk_latents) + " latents: give 1.." +
                                              std::to_string(kMaxChunkLatents) + " latents per call");
  }
  // Compressed packages are named for the method so that they never replace the fp16 ones; video
  // packages for their state style and chunk likewise.
  std::string base = model.variant + "_" + role_name(model.role);
  if (options.weights != WeightCompression::none) base += std::string("_") + weight_compression_name(options.weights);
  if (is_video && video.state == StateStyle::stateful) base += "_stateful";
  if (is_video && video.chunk_latents != 1) base += "_k" + std::to_string(video.chunk_latents);
  auto lower = [&](const ImageSize& size, WeightStore& store) {
    return is_video ? lower_video_decoder(model, size.height, size.width, lo, video, store)
                    : lower_decoder(model, size.height, size.width, lo, store);
  };
  auto describe = [&](auto* d, const LoweredFunction& fn) {
    if (is_video) {
      describe_video(d, fn, lo, video.state);
    } else {
      *d->add_input() = feature(kInputName, lo.fp32_io, fn.input_dims);
      *d->add_output() = feature(kOutputName, lo.fp32_io, fn.output_dims);
    }
  };
  // Quantized once: every function and package below refers to these tensors.
  TAEC_ASSIGN_OR_RETURN(const CompressedWeights compressed, compress_weights(model, options.weights));
  std::vector<PackageContents> packages;
  auto new_package = [&](const std::string& name) -> PackageContents& {
    packages.emplace_back();
    PackageContents& p = packages.back();
    p.name = name;
    p.model.set_specificationversion(kSpecificationVersion);
    p.model.mutable_mlprogram()->set_version(1);
    set_metadata(p.model.mutable_description(), model, options);
    return p;
  };
  auto finish = [](PackageContents& p, const WeightStore& store) { p.weights = store.blobs().bytes(); };

  if (options.packaging == Packaging::per_size) {
    for (const ImageSize& size : options.sizes) {
      WeightStore store(&compressed);
      TAEC_ASSIGN_OR_RETURN(LoweredFunction fn, lower(size, store));
      PackageContents& p = new_package(base + "_" + function_name_for(size).substr(1));
      describe(p.model.mutable_description(), fn);
      (*p.model.mutable_mlprogram()->mutable_functions())["main"] = std::move(fn.function);
      p.functions = {"main"};
      finish(p, store);
    }
  } else if (options.packaging == Packaging::multifunction) {
    WeightStore store(&compressed);
    PackageContents& p = new_package(base);
    for (const ImageSize& size : options.sizes) {
      const std::string name = function_name_for(size);
      if (p.model.mlprogram().functions().count(name)) {
        return Status(Code::invalid_argument, "size " + name.substr(1) + " is listed twice");
      }
      TAEC_ASSIGN_OR_RETURN(LoweredFunction fn, lower(size, store));
      spec::FunctionDescription* d = p.model.mutable_description()->add_functions();
      d->set_name(name);
      describe(d, fn);
      (*p.model.mutable_mlprogram()->mutable_functions())[name] = std::move(fn.function);
      p.functions.push_back(name);
    }
    p.model.mutable_description()->set_defaultfunctionname(p.functions[0]);
    finish(p, store);
  } else {
    WeightStore store(&compressed);
    TAEC_ASSIGN_OR_RETURN(LoweredFunction fn, lower_decoder(model, 0, 0, lo, store));
    PackageContents& p = new_package(base + "_enumerated");
    std::vector<std::vector<int64_t>> shapes;
    for (const ImageSize& size : options.sizes) shapes.push_back(latent_dims(model, size, lo.nhwc));
    spec::FeatureDescription input = feature(kInputName, lo.fp32_io, {});
    spec::FeatureDescription output = feature(kOutputName, lo.fp32_io, {});
    make_enumerated(input, output, shapes);
    *p.model.mutable_description()->add_input() = std::move(input);
    *p.model.mutable_description()->add_output() = std::move(output);
    (*p.model.mutable_mlprogram()->mutable_functions())["main"] = std::move(fn.function);
    p.functions = {"main"};
    finish(p, store);
  }
  return packages;
}

std::string manifest_json() {
  std::random_device device;
  std::mt19937_64 rng((static_cast<uint64_t>(device()) << 32) ^ device());
  const std::string model_id = uuid_v4(rng), weights_id = uuid_v4(rng);
  nlohmann::json manifest;
  manifest["fileFormatVersion"] = "1.0.0";
  manifest["itemInfoEntries"][model_id] = {{"author", "com.apple.CoreML"},
                                           {"description", "CoreML Model Specification"},
                                           {"name", "model.mlmodel"},
                                           {"path", "com.apple.CoreML/model.mlmodel"}};
  manifest["itemInfoEntries"][weights_id] = {{"author", "com.apple.CoreML"},
                                             {"description", "CoreML Model Weights"},
                                             {"name", "weights"},
                                             {"path", "com.apple.CoreML/weights"}};
  manifest["rootModelIdentifier"] = model_id;
  return manifest.dump(4) + "\n";
}

Status check_replaceable_mlpackage(const std::string& package_dir) {
  std::error_code ec;
  const auto status = fs::symlink_status(package_dir, ec);
  if (!fs::exists(status)) return ok_status();
  auto refuse = [&](const std::string& why) {
    return Status(Code::invalid_argument, package_dir + ": exists and " + why + "; refusing to replace it (remove it yourself, or choose another --out)");
  };
  if (fs::is_symlink(status)) return refuse("is a symbolic link");
  if (!fs::is_directory(status)) return refuse("is not a directory");
  static const char* kFiles[] = {"Manifest.json", "Data/com.apple.CoreML/model.mlmodel", "Data/com.apple.CoreML/weights/weight.bin"};
  static const char* kDirs[] = {"Data", "Data/com.apple.CoreML", "Data/com.apple.CoreML/weights"};
  for (auto it = fs::recursive_directory_iterator(package_dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = fs::relative(it->path(), package_dir, ec).generic_string();
    const auto s = it->symlink_status(ec);
    const auto& names = fs::is_directory(s) ? kDirs : kFiles;
    const bool known = (fs::is_directory(s) || fs::is_regular_file(s)) &&
                       std::find(std::begin(names), std::end(names), name) != std::end(names);
    if (!known) return refuse("holds \"" + name + "\", which taec's Core ML packages do not");
  }
  if (ec) return refuse("cannot be listed (" + ec.message() + ")");
  auto read = read_package(package_dir);
  if (!read.ok()) return refuse("is not a Core ML package that reads back (" + read.status().message() + ")");
  if (!read->model.description().metadata().userdefined().count("com.github.taec.version")) {
    return refuse("is a Core ML package that taec did not write");
  }
  return ok_status();
}

Result<PackageFiles> package_files(const PackageContents& contents) {
  PackageFiles files;
  files.manifest = manifest_json();
  if (!contents.model.SerializeToString(&files.model)) return Status(Code::internal, contents.name + ": cannot serialize");
  files.weights = contents.weights;
  files.has_weights = true;
  return files;
}

Status write_package(const std::string& package_dir, const PackageContents& contents) {
  TAEC_RETURN_IF_ERROR(check_replaceable_mlpackage(package_dir));
  const fs::path final_path(package_dir);
  const fs::path parent = final_path.has_parent_path() ? final_path.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec || !fs::is_directory(parent)) {
    return Status(Code::io, parent.string() + ": cannot create the output directory: " +
                                (ec ? ec.message() : "not a directory"));
  }
  std::string model_bytes;
  if (!contents.model.SerializeToString(&model_bytes)) {
    return Status(Code::internal, package_dir + ": cannot serialize model.mlmodel");
  }
  std::random_device device;
  const fs::path tmp = parent / ("." + final_path.filename().string() + ".tmp" + std::to_string(device()));
  auto cleanup_fail = [&](Status status) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    return status;
  };
  const fs::path data = tmp / "Data" / "com.apple.CoreML";
  fs::create_directories(data / "weights", ec);
  if (ec) return cleanup_fail(Status(Code::io, tmp.string() + ": cannot create: " + ec.message()));
  const std::string manifest = manifest_json();
  Status s = write_bytes(tmp / "Manifest.json", manifest.data(), manifest.size());
  if (s.ok()) s = write_bytes(data / "model.mlmodel", model_bytes.data(), model_bytes.size());
  if (s.ok()) s = write_bytes(data / "weights" / "weight.bin", contents.weights.data(), contents.weights.size());
  if (!s.ok()) return cleanup_fail(s);
  // An existing package is moved aside, not deleted, until the new one is in place.
  const fs::path old = parent / ("." + final_path.filename().string() + ".old" + std::to_string(device()));
  const bool existed = fs::exists(final_path, ec);
  if (existed) {
    fs::rename(final_path, old, ec);
    if (ec) return cleanup_fail(Status(Code::io, package_dir + ": cannot replace: " + ec.message()));
  }
  fs::rename(tmp, final_path, ec);
  if (ec) {
    std::error_code ignored;
    if (existed) fs::rename(old, final_path, ignored);
    return cleanup_fail(Status(Code::io, package_dir + ": cannot move into place: " + ec.message()));
  }
  if (existed) fs::remove_all(old, ec);
  return ok_status();
}

}  // namespace taec::coreml

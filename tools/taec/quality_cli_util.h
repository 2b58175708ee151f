// Helpers shared by `taec validate` and `taec roundtrip` (public API only).
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_util.h"
#include "taec/taec.hpp"

namespace taec_cli {

// The encoder that belongs to decoder `weights`: --encoder if given; for a model name, the name's
// encoder file; for a path holding "decoder" in its file name, the same name with "encoder" if
// that file exists. "" if none is found.
inline std::string find_encoder_weights(const std::string& weights, const std::string& explicit_encoder) {
  if (!explicit_encoder.empty()) return taec::resolve_weights(explicit_encoder, TAEC_ROLE_ENCODER);
  namespace fs = std::filesystem;
  if (!fs::exists(weights)) {
    try {
      return taec::resolve_weights(weights, TAEC_ROLE_ENCODER);
    } catch (const taec::Error&) {
      return "";
    }
  }
  fs::path p(weights);
  std::string name = p.filename().string();
  const size_t at = name.rfind("decoder");
  if (at == std::string::npos) return "";
  name.replace(at, 7, "encoder");
  const fs::path candidate = p.parent_path() / name;
  return fs::exists(candidate) ? candidate.string() : "";
}

// PNG/JPEG files: each argument is a file or a folder (its *.png, *.jpg, *.jpeg, sorted by name).
inline std::vector<std::string> collect_images(const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  for (const std::string& a : args) {
    if (!fs::is_directory(a)) {
      if (!fs::exists(a)) throw taec::Error(TAEC_ERR_IO, a + ": no such image or folder");
      out.push_back(a);
      continue;
    }
    std::vector<std::string> found;
    for (const auto& e : fs::directory_iterator(a)) {
      std::string ext = e.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
      if (e.is_regular_file() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg")) found.push_back(e.path().string());
    }
    if (found.empty()) throw taec::Error(TAEC_ERR_IO, a + ": folder holds no .png/.jpg/.jpeg images");
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

// Int8 activation ranges for `decoder` measured on photos (`images`, default $TAEC_IMAGE_DIR),
// encoded by the decoder's encoder (see find_encoder_weights). Says what it used on stderr.
inline taec::Calibration calibrate_on_images(const taec::Model& decoder, const std::string& weights, const std::string& encoder_arg,
                                             std::vector<std::string> images, int threads) {
  if (images.empty()) {
    const char* dir = std::getenv("TAEC_IMAGE_DIR");
    if (dir == nullptr || *dir == 0) {
      throw taec::Error(TAEC_ERR_INVALID_ARGUMENT, "int8 precision needs calibration photos: pass --calibration-images or set TAEC_IMAGE_DIR");
    }
    images.push_back(dir);
  }
  const std::string encoder_path = find_encoder_weights(weights, encoder_arg);
  if (encoder_path.empty()) throw taec::Error(TAEC_ERR_INVALID_ARGUMENT, weights + ": no encoder found for int8 calibration; pass --encoder");
  taec_load_options lo;
  taec_load_options_init(&lo);
  lo.role = TAEC_ROLE_ENCODER;
  const taec::Model encoder(encoder_path, &lo);
  taec::Calibration cal = taec::Calibration::from_images(decoder, encoder, collect_images(images), 512, threads);
  std::fprintf(stderr, "int8 calibration: %s\n", cal.describe().c_str());
  return cal;
}

}  // namespace taec_cli

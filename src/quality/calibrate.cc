#include "quality/calibrate.h"

#include <filesystem>

#include "quality/validate.h"

namespace taec {

Result<ActivationCalibration> calibrate_on_photos(const std::shared_ptr<const Model>& decoder, const Model& encoder,
                                                  const std::vector<std::string>& image_paths, int size, int threads) {
  if (image_paths.empty()) return Status(Code::invalid_argument, "int8 calibration needs at least one photo");
  ValidationInputOptions vo;
  vo.random_count = 0;
  vo.image_paths = image_paths;
  TAEC_ASSIGN_OR_RETURN(std::vector<ValidationInput> inputs, make_validation_inputs(*decoder, &encoder, size, size, vo));
  std::vector<std::vector<float>> latents;
  std::string names;
  for (ValidationInput& in : inputs) {
    latents.push_back(std::move(in.data));
    names += (names.empty() ? "" : ", ") + in.name;
  }
  TAEC_ASSIGN_OR_RETURN(ActivationCalibration cal, calibrate_activations(decoder, latents, size, size, threads));
  cal.inputs = std::to_string(image_paths.size()) + " photos (" + names + ") at " + std::to_string(size) + "x" + std::to_string(size) +
               ", latents by " + std::filesystem::path(encoder.source_path).filename().string();
  return cal;
}

}  // namespace taec

#include "plan/calibration.h"

#include <cmath>

#include "plan/plan.h"

namespace taec {

Result<float> ActivationCalibration::input_scale(const std::string& conv, int zero_point) const {
  const auto it = input_absmax.find(conv);
  if (it == input_absmax.end()) {
    return Status(Code::invalid_argument, "activation calibration has no range for conv '" + conv + "' (calibrated on another model?)");
  }
  if (!std::isfinite(it->second) || it->second < 0) {
    return Status(Code::invalid_argument, "activation calibration: conv '" + conv + "' has range " + std::to_string(it->second));
  }
  // An input that was zero throughout calibration quantizes everything to 0 with any step.
  return it->second > 0 ? it->second / (zero_point ? 127.0f : 255.0f) : 1.0f;
}

Result<ActivationCalibration> calibrate_activations(const std::shared_ptr<const Model>& decoder,
                                                    const std::vector<std::vector<float>>& latents, int image_height,
                                                    int image_width, int threads) {
  if (decoder->role != Role::decoder) return Status(Code::invalid_argument, "int8 activations are calibrated for decoders only");
  if (latents.empty()) return Status(Code::invalid_argument, "activation calibration needs at least one latent");
  ActivationCalibration cal;
  PlanOptions o;
  o.image_height = image_height;
  o.image_width = image_width;
  o.layout = Layout::nchw;
  o.io_dtype = IoDtype::f32;
  o.precision = Precision::fp32;
  o.threads = threads;
  o.calibrate_into = &cal;
  TAEC_ASSIGN_OR_RETURN(auto plan, compile_plan(decoder, o));
  std::vector<float> out(plan->shapes().output_elems());
  for (size_t i = 0; i < latents.size(); ++i) {
    if (latents[i].size() != plan->shapes().input_elems()) {
      return Status(Code::shape, "calibration latent " + std::to_string(i) + " has " + std::to_string(latents[i].size()) +
                                     " values, the " + std::to_string(image_height) + "x" + std::to_string(image_width) +
                                     " plan takes " + std::to_string(plan->shapes().input_elems()));
    }
    TAEC_RETURN_IF_ERROR(plan->run(latents[i].data(), out.data()).with_context("calibration latent " + std::to_string(i)));
  }
  return cal;
}

}  // namespace taec

// Activation calibration for int8 plans: the range (max |x|) of every tensor an int8 convolution
// reads, measured by running the fp32 plan over latents of real images. An int8 conv quantizes a
// post-ReLU input with step max / 255 and zero point 0, a signed one (a block input after an
// upsample conv) with step max / 127 and zero point 128.
//
// Deterministic: the max of a set of values does not depend on the order they are visited in,
// and the fp32 plan's output does not depend on the thread count, so the same latents give the
// same scales bit for bit. Packages store the numbers (manifest "calibration").
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/model.h"

namespace taec {

struct ActivationCalibration {
  std::string method = "max";  // per-tensor max |x| over all calibration inputs
  std::string inputs;          // what it was measured on, for manifests and reports
  std::map<std::string, float> input_absmax;  // conv (graph node name) -> max |x| of its input

  // Quantization step of `conv`'s input (zero point 0: /255; 128: /127), or an error naming the
  // conv when it is missing.
  Result<float> input_scale(const std::string& conv, int zero_point) const;
};

// Runs a compiled fp32 plan of `decoder` at image_height x image_width on each latent (NCHW
// fp32, the plan's input shape) and records, per convolution, the max |x| of its input.
Result<ActivationCalibration> calibrate_activations(const std::shared_ptr<const Model>& decoder,
                                                    const std::vector<std::vector<float>>& latents, int image_height,
                                                    int image_width, int threads);

}  // namespace taec

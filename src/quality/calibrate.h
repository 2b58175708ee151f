// Int8 activation calibration on real photos: each photo is fitted to size x size
// (image_prep.h), encoded by the model's encoder (fp32 plan), and the decoder's fp32 plan run on
// the latents records every int8 conv's input range (plan/calibration.h).
//
// 512 x 512 by default: activation ranges are a property of the content rather than of the image
// size, and 512 keeps a 5-photo calibration under a few seconds.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plan/calibration.h"

namespace taec {

constexpr int kDefaultCalibrationSize = 512;

Result<ActivationCalibration> calibrate_on_photos(const std::shared_ptr<const Model>& decoder, const Model& encoder,
                                                  const std::vector<std::string>& image_paths, int size, int threads);

}  // namespace taec

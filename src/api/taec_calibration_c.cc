// C API: int8 activation calibration handles.
#include <string>
#include <vector>

#include "api/c_handles.h"
#include "quality/calibrate.h"

using taec::c_api::guarded;
using taec::c_api::invalid;
using taec::c_api::report;

namespace {

taec_status hand_out(taec::Result<taec::ActivationCalibration> cal, taec_calibration** out) {
  if (!cal.ok()) return report(cal.status());
  auto shared = std::make_shared<const taec::ActivationCalibration>(std::move(cal).value());
  const std::string description = shared->inputs + "; " + std::to_string(shared->input_absmax.size()) + " convolution inputs, method " + shared->method;
  *out = new taec_calibration{std::move(shared), description};
  return report(taec::ok_status());
}

}  // namespace

taec_status taec_calibrate_images(const taec_model* decoder, const taec_model* encoder, const char* const* image_paths,
                                  size_t image_count, int size, int threads, taec_calibration** out) {
  if (decoder == nullptr || encoder == nullptr || out == nullptr || (image_paths == nullptr && image_count > 0)) {
    return invalid("taec_calibrate_images: NULL argument");
  }
  *out = nullptr;
  if (size <= 0 || threads < 0) return invalid("taec_calibrate_images: size must be > 0 and threads >= 0");
  return guarded([&] {
    std::vector<std::string> paths;
    for (size_t i = 0; i < image_count; ++i) {
      if (image_paths[i] == nullptr) return invalid("taec_calibrate_images: NULL image path");
      paths.emplace_back(image_paths[i]);
    }
    return hand_out(taec::calibrate_on_photos(decoder->model, *encoder->model, paths, size, threads), out);
  });
}

taec_status taec_calibrate_latents(const taec_model* decoder, const float* latents, size_t count, int image_height,
                                   int image_width, int threads, taec_calibration** out) {
  if (decoder == nullptr || out == nullptr || (latents == nullptr && count > 0)) return invalid("taec_calibrate_latents: NULL argument");
  *out = nullptr;
  return guarded([&] {
    taec::PlanOptions probe;
    probe.image_height = image_height;
    probe.image_width = image_width;
    probe.threads = threads;
    auto shapes = taec::plan_shapes(*decoder->model, probe);
    if (!shapes.ok()) return report(shapes.status());
    const size_t n = shapes->input_elems();
    std::vector<std::vector<float>> all;
    for (size_t i = 0; i < count; ++i) all.emplace_back(latents + i * n, latents + (i + 1) * n);
    return hand_out(taec::calibrate_activations(decoder->model, all, image_height, image_width, threads), out);
  });
}

const char* taec_calibration_describe(const taec_calibration* calibration) {
  return calibration ? calibration->description.c_str() : "";
}

void taec_calibration_free(taec_calibration* calibration) { delete calibration; }

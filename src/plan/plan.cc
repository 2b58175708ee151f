#include "plan/plan.h"

#include <vector>

namespace taec {

Status Plan::run_step_bands(const void* input, const OutputBand& band, float* state) {
  const size_t frame_bytes = shapes_.output_frame_elems() * (options_.io_dtype == IoDtype::f16 ? 2 : 4);
  std::vector<uint8_t> output(frame_bytes * shapes_.frames_out);
  TAEC_RETURN_IF_ERROR(run_step(input, output.data(), state));
  for (int f = 0; f < shapes_.frames_out; ++f) {
    TAEC_RETURN_IF_ERROR(band(f, 0, shapes_.output.height, output.data() + f * frame_bytes));
  }
  return ok_status();
}

}  // namespace taec

// A plan seen through NCHW float32 buffers, whatever layout and I/O type it was compiled for:
// for tools that compare plans of different I/O conventions (round trips of package plans).
// The conversion is timed with the run, as a caller converting its own buffers would pay it.
#pragma once

#include <memory>

#include "plan/plan.h"

namespace taec {

std::unique_ptr<Plan> with_nchw_f32_io(std::unique_ptr<Plan> inner);

}  // namespace taec

// Conversions between a plan's external buffers (layout x dtype) and the NCHW fp32 tensors the
// engines use inside, plus the NaN/Inf check on inputs.
#pragma once

#include <cstddef>
#include <string>

#include "base/status.h"
#include "plan/plan.h"

namespace taec {

// src: `shape` in `layout`/`dtype` -> dst: NCHW fp32.
void import_nchw_f32(const void* src, Layout layout, IoDtype dtype, ValueShape shape, float* dst);
// src: NCHW fp32 -> dst: `shape` in `layout`/`dtype`.
void export_nchw_f32(const float* src, ValueShape shape, Layout layout, IoDtype dtype, void* dst);

// One row y of an external buffer -> NHWC fp32 (`shape.width` pixels), with optional
// tanh(x / clamp_limit) * clamp_limit (0 = none).
void import_row(const void* src, Layout layout, IoDtype dtype, ValueShape shape, int y, float clamp_limit, float* dst_nhwc);
// One NHWC fp32 row -> row y of an external buffer.
void export_row(const float* src_nhwc, ValueShape shape, int y, Layout layout, IoDtype dtype, void* dst);

// NaN/Inf check straight on an external buffer.
Status check_finite_external(const void* data, Layout layout, IoDtype dtype, ValueShape shape, const std::string& what);

// Counts NaN and Inf in an NCHW fp32 tensor; the error names the first one's position.
Status check_finite_nchw(const float* data, ValueShape shape, const std::string& what);

}  // namespace taec

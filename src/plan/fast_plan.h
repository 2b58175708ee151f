#pragma once

#include <memory>

#include "plan/plan.h"

namespace taec {

// A compiled plan: fused NHWC ops run in row bands on the best usable ISA, all memory in one
// arena sized at compile time. Output matches the reference plan within fp32 rounding.
Result<std::unique_ptr<Plan>> make_fast_plan(std::shared_ptr<const Model> model, const PlanOptions& options,
                                             const PlanShapes& shapes);

// The activation arena (floats) such a plan would allocate, without allocating it.
Result<size_t> fast_plan_arena_floats(const Model& model, const PlanOptions& options, const PlanShapes& shapes);

}  // namespace taec

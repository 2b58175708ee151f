#pragma once

#include <memory>

#include "plan/plan.h"

namespace taec {

// A plan that converts I/O and runs the reference engine: slow, exact, the oracle.
std::unique_ptr<Plan> make_reference_plan(std::shared_ptr<const Model> model, const PlanOptions& options,
                                          const PlanShapes& shapes);

}  // namespace taec

// Measured kernel choice: each conv with several correct algorithms (conv_choice.h) runs as the
// one measured fastest on this CPU, at this width, with the plan's threads.
//
// Measuring a whole plan per candidate would cost a decode per candidate, so the plan is compiled
// again for a band of its rows (a few latent rows at full width: the same convs, widths and work
// items; the time per row is what a conv's choice changes), once with every conv that can run
// candidate c forced to c, for each candidate; the per-op times of a few runs (median) decide
// per conv. The default stays unless another is at least 2% faster, so noise does not flip
// choices between machines of one kind. Results go to the tune cache (tune_cache.h), keyed by
// machine and conv shape, so the next compile measures nothing.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "plan/plan.h"
#include "plan/program.h"
#include "plan/tune_cache.h"

namespace taec {

struct TuneOutcome {
  ConvChoices choices;
  std::map<std::string, std::string> measured;  // choice (node name) -> "winograd_f6 0.81 ms, direct 2.40 ms"
  std::string note;                             // for stats / -v
  int measured_shapes = 0, cached_shapes = 0;
};

// Seconds per choice (node name) of one run of `plan`; tests replace it to decide outcomes.
using TuneTimer = std::function<Result<std::map<std::string, double>>(Plan& plan, int reps)>;

// options: the plan's (mode options.tune, not off). shapes: its full shapes.
Result<TuneOutcome> tune_conv_choices(const std::shared_ptr<const Model>& model, const PlanOptions& options, const PlanShapes& shapes,
                                      const TuneTimer& timer = nullptr);

// The algorithm each conv with a choice runs as in `plan` (empty for the reference engine): what
// a package records so that its load compiles the validated program.
ConvChoices chosen_conv_algos(const Plan& plan);

// What a compiled plan keys the tune cache with, for a conv that has a choice.
std::string tune_key(const FusedOp& op, int winograd_tiles);
// Machine part of the key: CPU model, taec version, kernel set.
std::string tune_machine(const std::string& kernels);

}  // namespace taec

#include "plan/tune.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>
#include <vector>

#include "base/cpu.h"
#include "plan/fast_plan.h"
#include "plan/program.h"
#include "taec/taec.h"

namespace taec {
namespace {

constexpr double kKeepDefaultMargin = 0.02;

struct Tunable {
  std::string key;
  std::vector<ConvAlgo> candidates;  // default first
};

// Rows of the band the candidates are timed on: enough tile rows of F(6x6) and F(4x4) alike
// (multiples of 12 latent rows waste none) for the per-row time to be the full plan's.
int strip_height(const Model& model, const PlanShapes& shapes, TuneMode mode) {
  const int f = model.spatial_factor;
  if (model.role == Role::decoder) return std::min(shapes.input.height, mode == TuneMode::full ? 36 : 12) * f;
  const int rows = std::min(shapes.input.height, mode == TuneMode::full ? 288 : 96);
  return rows >= f ? rows / f * f : rows;
}

// Median seconds per choice over `reps` runs after one warm-up, from the plan's own profile.
Result<std::map<std::string, double>> profile_runs(Plan& plan, int reps) {
  const PlanShapes& s = plan.shapes();
  std::vector<float> input(s.input_elems()), output(s.output_elems()), state(plan.state_floats());
  uint32_t x = 12345;
  for (float& v : input) {  // values of a latent's or image's range; zeros would not do (denormals)
    x = x * 1664525u + 1013904223u;
    v = static_cast<float>(x >> 8) / 16777216.0f * 2.0f - 1.0f;
  }
  std::map<std::string, std::vector<double>> runs;
  for (int r = 0; r <= reps; ++r) {
    std::fill(state.begin(), state.end(), 0.0f);
    TAEC_RETURN_IF_ERROR(plan.run_step(input.data(), output.data(), state.empty() ? nullptr : state.data()));
    if (r == 0) continue;
    std::map<std::string, double> sum;
    for (const PlanStats::Op& op : plan.stats().ops) {
      if (!op.choice.empty()) sum[op.choice] += op.seconds;
    }
    for (const auto& [name, t] : sum) runs[name].push_back(t);
  }
  std::map<std::string, double> median;
  for (auto& [name, t] : runs) {
    std::sort(t.begin(), t.end());
    median[name] = t[t.size() / 2];
  }
  return median;
}

std::string describe_times(const TuneEntry& e) {
  std::vector<std::pair<double, std::string>> sorted;
  for (const auto& [name, ms] : e.ms) sorted.push_back({ms, name});
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (const auto& [ms, name] : sorted) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s%s %.3f ms", out.empty() ? "" : ", ", name.c_str(), ms);
    out += buf;
  }
  return out;
}

}  // namespace

ConvChoices chosen_conv_algos(const Plan& plan) {
  ConvChoices out;
  if (plan.program() == nullptr) return out;
  for (const FusedOp& op : plan.program()->ops) {
    if (!op.choice.empty()) out[op.choice] = op.algo;
  }
  return out;
}

std::string tune_key(const FusedOp& op, int winograd_tiles) {
  std::string key = std::string(op.kind == FusedKind::up2x_conv ? "up2x" : "conv") + " " + std::to_string(op.cin) + ">" +
                    std::to_string(op.cout) + " w" + std::to_string(op.out_width) + (op.relu ? " relu" : "") +
                    (op.residual >= 0 ? " residual" : "") + " tiles" + std::to_string(winograd_tiles) + " [";
  std::vector<std::string> names;
  for (ConvAlgo a : op.candidates) names.push_back(conv_algo_name(a));
  std::sort(names.begin(), names.end());
  for (size_t i = 0; i < names.size(); ++i) key += (i ? "," : "") + names[i];
  return key + "]";
}

std::string tune_machine(const std::string& kernels) {
  return cpu_model_name() + " | taec " + taec_version() + " | " + kernels;
}

Result<TuneOutcome> tune_conv_choices(const std::shared_ptr<const Model>& model, const PlanOptions& options, const PlanShapes& shapes,
                                      const TuneTimer& timer) {
  const auto t0 = std::chrono::steady_clock::now();
  const TuneMode mode = options.tune;
  PlanOptions strip = options;
  strip.image_height = strip_height(*model, shapes, mode);
  strip.tune = TuneMode::off;
  strip.io_dtype = IoDtype::f32;
  strip.layout = Layout::nchw;
  strip.nonfinite = NonfinitePolicy::propagate;
  strip.calibrate_into = nullptr;
  strip.shared_arena.reset();
  strip.shared_arena_mutex.reset();
  strip.shared_arena_floats = 0;
  strip.packed_cache = std::make_shared<PackedWeightCache>();  // the candidates' packings go with the strips
  TAEC_ASSIGN_OR_RETURN(PlanShapes strip_shapes, plan_shapes(*model, strip));

  // The defaults' program names the tunable convs and their candidates.
  strip.conv_choices = std::make_shared<ConvChoices>();
  TAEC_ASSIGN_OR_RETURN(auto defaults, make_fast_plan(model, strip, strip_shapes));
  const int tiles = options.winograd_tiles > 0 ? options.winograd_tiles : 32;
  std::map<std::string, Tunable> tunables;
  for (const FusedOp& op : defaults->program()->ops) {
    if (!op.choice.empty()) tunables[op.choice] = {tune_key(op, tiles), op.candidates};
  }
  TuneOutcome out;
  if (tunables.empty()) {
    out.note = std::string("tune ") + tune_mode_name(mode) + ": no conv with a choice";
    return out;
  }
  const std::string machine = tune_machine(defaults->stats().kernel);
  std::string cache_note;
  const TuneEntries known = tune_cache_lookup(machine, &cache_note);
  auto usable = [&](const std::string& key) {
    const auto it = known.find(key);
    return it != known.end() && (mode == TuneMode::fast || it->second.mode == TuneMode::full);
  };
  std::set<std::string> missing_keys;
  std::set<ConvAlgo> to_time;
  for (const auto& [name, t] : tunables) {
    if (usable(t.key)) continue;
    missing_keys.insert(t.key);
    to_time.insert(t.candidates.begin(), t.candidates.end());
  }

  TuneEntries measured;
  if (!missing_keys.empty()) {
    const int reps = mode == TuneMode::full ? 7 : 3;
    std::map<std::string, std::map<ConvAlgo, double>> times;  // choice -> candidate -> s
    for (ConvAlgo c : to_time) {
      auto forced = std::make_shared<ConvChoices>();
      for (const auto& [name, t] : tunables) {
        if (std::find(t.candidates.begin(), t.candidates.end(), c) != t.candidates.end()) (*forced)[name] = c;
      }
      strip.conv_choices = forced;
      TAEC_ASSIGN_OR_RETURN(auto plan, make_fast_plan(model, strip, strip_shapes));
      TAEC_ASSIGN_OR_RETURN(auto seconds, timer ? timer(*plan, reps) : profile_runs(*plan, reps));
      for (const auto& [name, s] : seconds) {
        if (forced->count(name)) times[name][c] = s;
      }
    }
    for (const auto& [name, t] : tunables) {
      if (!missing_keys.count(t.key) || measured.count(t.key)) continue;
      const auto& by_algo = times[name];
      TuneEntry e;
      e.mode = mode;
      e.algo = t.candidates.front();
      const auto def = by_algo.find(e.algo);
      double best = def == by_algo.end() ? INFINITY : def->second * (1.0 - kKeepDefaultMargin);
      for (const auto& [algo, s] : by_algo) {
        e.ms[conv_algo_name(algo)] = s * 1e3;
        if (s < best) best = s, e.algo = algo;
      }
      measured[t.key] = e;
    }
  }
  TuneEntries in_force = known;
  if (!measured.empty()) {
    const TuneEntries recorded = tune_cache_record(machine, measured, &cache_note);
    for (const auto& [key, e] : recorded) in_force[key] = e;
  }
  for (const auto& [name, t] : tunables) {
    const TuneEntry& e = in_force.at(t.key);
    out.choices[name] = e.algo;
    out.measured[name] = describe_times(e);
  }
  out.measured_shapes = static_cast<int>(measured.size());
  std::set<std::string> keys;
  for (const auto& [name, t] : tunables) keys.insert(t.key);
  out.cached_shapes = static_cast<int>(keys.size()) - out.measured_shapes;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char buf[160];
  std::snprintf(buf, sizeof buf, "tune %s: %zu convs of %zu shapes, %d measured (%zu candidates on %dx%d bands), %d from the cache, %.2f s",
                tune_mode_name(mode), tunables.size(), keys.size(), out.measured_shapes, to_time.size(), strip.image_height,
                strip.image_width, out.cached_shapes, s);
  const std::string path = tune_cache_path();
  out.note = buf + std::string(path.empty() ? " (no cache directory)" : " (" + path + ")") + (cache_note.empty() ? "" : "; " + cache_note);
  return out;
}

}  // namespace taec

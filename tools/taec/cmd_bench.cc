// taec bench WEIGHTS | --package DIR: compile (or load) fixed-shape plans and time them (warm-up,
// iterations, order statistics, peak RSS, GFLOP/s, optional per-op profile), and for packages
// the resident memory as sizes are loaded side by side.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "quality_cli_util.h"
#include "bench_args.h"
#include "bench_util.h"
#include "commands.h"

namespace taec_cli {
namespace {

// Where plans come from: compiled from weights, or loaded from a package.
struct PlanSource {
  std::unique_ptr<taec::Model> model;
  std::unique_ptr<taec::Package> package;
  std::unique_ptr<taec::Calibration> calibration;  // int8 plans compiled from weights
  bool decoder = true;
  bool f16_io = false;
  double package_validated_max_abs = 0;

  taec::Plan make(const BenchArgs& args, int height, int width) const {
    taec_plan_options opts;
    taec_plan_options_init(&opts);
    opts.memory = args.memory == "whole" ? TAEC_MEMORY_WHOLE : TAEC_MEMORY_BANDED;
    opts.threads = args.threads;
    opts.tune = args.tune;
    if (package) {
      if (args.memory == "shared") opts.memory = TAEC_MEMORY_PACKAGE_SHARED;
      return package->load_plan(height, width, &opts);
    }
    opts.image_height = height;
    opts.image_width = width;
    opts.layout = args.layout == "nhwc" ? TAEC_LAYOUT_NHWC : TAEC_LAYOUT_NCHW;
    opts.precision = args.precision == "reference" ? TAEC_PRECISION_REFERENCE
                     : args.precision == "bf16"    ? TAEC_PRECISION_BF16
                     : args.precision == "int8"    ? TAEC_PRECISION_INT8
                                                   : TAEC_PRECISION_FP32;
    if (calibration) opts.calibration = calibration->get();
    opts.weights = args.weight_storage.c_str();
    return taec::Plan(*model, opts);
  }
};

struct Result {
  int height, width;
  double compile_s, mean, median, p10, p90, min, max;
  long long peak_rss;
  size_t arena_bytes;
  double gflops;
  std::vector<double> times;
};

Result bench_one(const BenchArgs& args, const PlanSource& source, int height, int width) {
  reset_peak_rss();
  const auto t0 = std::chrono::steady_clock::now();
  taec::Plan plan = source.make(args, height, width);
  const double compile_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const taec_plan_io io = plan.io();
  std::vector<float> values(io.input_elems), output(io.output_elems);
  if (!args.input.empty()) {
    taec::Array given = taec::Array::load_npy(args.input);
    if (given.elems() != values.size()) {
      throw taec::Error(TAEC_ERR_SHAPE, args.input + ": has " + std::to_string(given.elems()) + " values; the " +
                                            std::to_string(height) + "x" + std::to_string(width) + " plan takes " +
                                            std::to_string(values.size()) + " (in its --layout)");
    }
    std::copy(given.data(), given.data() + given.elems(), values.begin());
  } else {
    std::mt19937 rng(1234);
    std::uniform_real_distribution<float> dist(source.decoder ? -1.0f : 0.0f, 1.0f);
    for (float& v : values) v = dist(rng);
  }
  // F16 plans take halves: the float buffers are big enough for either element type.
  std::vector<float> input = values;
  if (source.f16_io) taec_f32_to_f16(values.data(), reinterpret_cast<uint16_t*>(input.data()), values.size());
  for (int i = 0; i < args.warmup; ++i) plan.run(input.data(), output.data());
  std::vector<double> times;
  for (int i = 0; i < args.iters; ++i) {
    const auto start = std::chrono::steady_clock::now();
    plan.run(input.data(), output.data());
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  const taec_plan_stats stats = plan.stats();
  Result r{height, width, compile_s, 0, percentile(times, 0.5), percentile(times, 0.1), percentile(times, 0.9),
           *std::min_element(times.begin(), times.end()), *std::max_element(times.begin(), times.end()),
           peak_rss_bytes(), stats.arena_bytes, 0, times};
  for (double t : times) r.mean += t / times.size();
  r.gflops = stats.model_flops / r.median / 1e9;
  if (args.profile) {
    std::printf("  profile (last run), %s, %s kernels (%s)%s%s\n", stats.engine, stats.isa, stats.isa_note, stats.tuning[0] ? "; " : "",
                stats.tuning);
    for (size_t i = 0; i < stats.op_count; ++i) {
      const taec_op_profile p = plan.op_profile(i);
      std::printf("    %-18s %-16s %-16s %8.2f ms %7.1f GFLOP/s%s%s\n", p.name, p.kind, p.algo, p.seconds * 1e3,
                  p.seconds > 0 ? p.flops / p.seconds / 1e9 : 0.0, p.tuning[0] ? "  tuned: " : "", p.tuning);
    }
  }
  return r;
}

PlanSource open_source(const BenchArgs& args, std::string* title) {
  PlanSource source;
  if (!args.package.empty()) {
    source.package = std::make_unique<taec::Package>(args.package);
    const taec_package_info info = source.package->info();
    source.decoder = info.role == TAEC_ROLE_DECODER;
    source.f16_io = info.io_dtype == TAEC_DTYPE_F16;
    *title = std::string(info.variant) + " " + (source.decoder ? "decoder" : "encoder") + " package " + args.package + ", precision " +
             precision_label(info.precision) + ", layout " + (info.layout == TAEC_LAYOUT_NHWC ? "nhwc" : "nchw") +
             ", io " + (source.f16_io ? "fp16" : "fp32");
    return source;
  }
  taec_role role = args.role == "encoder" ? TAEC_ROLE_ENCODER : TAEC_ROLE_DECODER;
  const std::string path = taec::resolve_weights(args.weights, role);
  taec_load_options options = load_options(args.variant, role);
  source.model = std::make_unique<taec::Model>(path, &options);
  source.decoder = role == TAEC_ROLE_DECODER;
  if (args.precision == "int8") {
    source.calibration = std::make_unique<taec::Calibration>(
        calibrate_on_images(*source.model, args.weights, args.encoder, args.calibration_images, args.threads));
  }
  *title = std::string(source.model->info().variant) + " " + args.role + " (" + path + "), precision " + args.precision + ", layout " + args.layout;
  return source;
}

// Resident memory as a package's sizes are loaded side by side: one opened package shares its
// weights across plans; --no-share opens the package again for each plan (what loading separate
// per-size models would cost).
int run_rss_table(const BenchArgs& args, const std::vector<std::pair<int, int>>& shapes) {
  std::vector<std::unique_ptr<taec::Package>> packages;
  std::vector<taec::Plan> plans;
  std::printf("resident memory (VmRSS) with plans loaded %s%s\n", args.no_share ? "from separately opened packages" : "from one package",
              args.shared_arena ? ", sharing one activation arena" : "");
  std::printf("%-7s %-11s %12s\n", "loaded", "last size", "RSS");
  std::printf("%-7d %-11s %8.1f MiB\n", 0, "-", current_rss_bytes() / 1048576.0);
  for (const auto& [h, w] : shapes) {
    if (packages.empty() || args.no_share) packages.push_back(std::make_unique<taec::Package>(args.package));
    taec_plan_options opts;
    taec_plan_options_init(&opts);
    opts.threads = args.threads;
    opts.tune = args.tune;
    if (args.shared_arena) opts.memory = TAEC_MEMORY_PACKAGE_SHARED;
    plans.push_back(packages.back()->load_plan(h, w, &opts));
    char size[32];
    std::snprintf(size, sizeof size, "%dx%d", h, w);
    std::printf("%-7zu %-11s %8.1f MiB\n", plans.size(), size, current_rss_bytes() / 1048576.0);
  }
  return kExitOk;
}

int run_bench(BenchArgs args) {
  std::string title;
  PlanSource source = open_source(args, &title);
  std::vector<std::pair<int, int>> shapes;
  if (args.height > 0 || args.width > 0) {
    shapes.push_back({args.height, args.width});
  } else if (source.package && args.sizes.empty()) {
    const size_t n = source.package->info().size_count;
    for (size_t i = 0; i < n; ++i) shapes.push_back({source.package->size(i).height, source.package->size(i).width});
  } else {
    for (int s : args.sizes) shapes.push_back({s, s});
  }
  if (source.model && source.model->info().is_video) return run_video_bench(args, *source.model, shapes);
  if (!args.latents.empty()) return fail(TAEC_ERR_INVALID_ARGUMENT, "--latents: only for video models");
  if (args.rss_table) {
    if (!source.package) return fail(TAEC_ERR_INVALID_ARGUMENT, "--rss-table needs --package");
    source.package.reset();
    return run_rss_table(args, shapes);
  }
  std::printf("taec bench: %s, memory %s, warm-up %d, iterations %d\n", title.c_str(), args.memory.c_str(), args.warmup, args.iters);
  std::printf("%-11s %8s %8s %8s %8s %8s %8s %8s %9s %10s %8s\n", "size", "compile", "mean", "median", "p10", "p90",
              "min", "max", "GFLOP/s", "peak RSS", "arena");
  std::ostringstream json;
  json << "{\"title\": \"" << title << "\", \"results\": [";
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Result r = bench_one(args, source, shapes[i].first, shapes[i].second);
    char size[32];
    std::snprintf(size, sizeof size, "%dx%d", r.height, r.width);
    std::printf("%-11s %7.3fs %7.3fs %7.3fs %7.3fs %7.3fs %7.3fs %7.3fs %9.1f %7.1f MiB %5.1f MiB\n", size,
                r.compile_s, r.mean, r.median, r.p10, r.p90, r.min, r.max, r.gflops, r.peak_rss / 1048576.0,
                r.arena_bytes / 1048576.0);
    std::fflush(stdout);
    json << (i ? ", " : "") << "{\"height\": " << r.height << ", \"width\": " << r.width << ", \"compile_s\": " << r.compile_s
         << ", \"mean_s\": " << r.mean << ", \"median_s\": " << r.median << ", \"p10_s\": " << r.p10
         << ", \"p90_s\": " << r.p90 << ", \"min_s\": " << r.min << ", \"max_s\": " << r.max
         << ", \"gflops\": " << r.gflops << ", \"peak_rss_bytes\": " << r.peak_rss
         << ", \"arena_bytes\": " << r.arena_bytes << ", \"times_s\": [";
    for (size_t t = 0; t < r.times.size(); ++t) json << (t ? ", " : "") << r.times[t];
    json << "]}";
  }
  json << "]}\n";
  if (!args.json.empty()) {
    std::ofstream out(args.json);
    out << json.str();
    if (!out) return fail(TAEC_ERR_IO, args.json + ": cannot write");
  }
  return kExitOk;
}

}  // namespace

Command add_bench_command(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "Time fixed-shape plans: warm-up, iterations, mean/median/p10/p90/min/max, peak RSS");
  auto* weights = cmd->add_option("weights", args->weights, "Weights (.pth/.safetensors) or model name");
  auto* package = cmd->add_option("--package", args->package, "Time the plans of a package (directory or .zip; default: all its sizes)");
  weights->excludes(package);
  cmd->add_flag("--rss-table", args->rss_table, "With --package: resident memory as its sizes are loaded one after another");
  cmd->add_flag("--no-share", args->no_share, "With --rss-table: open the package again for each plan (no weight sharing)");
  cmd->add_flag("--shared-arena", args->shared_arena, "With --rss-table: load the plans into one shared activation arena");
  cmd->add_option("--sizes", args->sizes, "Square image sizes in pixels (multiples of 8)")->delimiter(',');
  cmd->add_option("--height", args->height, "Image height (with --width, instead of --sizes)");
  cmd->add_option("--width", args->width, "Image width");
  cmd->add_option("--precision", args->precision, "fp32|bf16 (FP16-class)|int8 (weights and activations)|reference")
      ->check(CLI::IsMember({"reference", "fp32", "bf16", "int8"}));
  add_weight_storage_option(cmd, args->weight_storage, "weights quantized and dequantized at compile, as a package stores them");
  cmd->add_option("--calibration-images", args->calibration_images, "int8: photos or folders to calibrate on (default $TAEC_IMAGE_DIR)");
  cmd->add_option("--encoder", args->encoder, "int8: encoder weights for the calibration latents (default: beside the weights)");
  cmd->add_option("--layout", args->layout, "nhwc|nchw I/O layout")->check(CLI::IsMember({"nhwc", "nchw"}));
  cmd->add_option("--memory", args->memory, "banded|whole activations; shared: a package's plans in one arena")
      ->check(CLI::IsMember({"banded", "whole", "shared"}));
  cmd->add_option("--role", args->role, "decoder|encoder")->check(CLI::IsMember({"decoder", "encoder"}));
  cmd->add_option("--variant", args->variant, "Override the detected variant");
  cmd->add_option("--threads", args->threads, "Threads (0 = all cores)")->check(CLI::Range(0, 1024));
  add_tune_option(cmd, args->tune);
  cmd->add_option("--warmup", args->warmup, "Untimed runs first")->check(CLI::Range(0, 1000));
  cmd->add_option("--iters", args->iters, "Timed runs")->check(CLI::Range(1, 100000));
  cmd->add_flag("--profile", args->profile, "Print time per fused op (last run)");
  cmd->add_option("--latents", args->latents,
                  "Video: clip lengths in latents (encoders: latents' worth of frames), each streamed in a fresh process so its "
                  "peak RSS is its own (default 21)")
      ->delimiter(',')
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--json", args->json, "Also write the results as JSON");
  cmd->add_option("--input", args->input, "Input .npy (in the plan's layout) instead of seeded random values");
  return {cmd, [args] {
            if (args->weights.empty() && args->package.empty()) return fail(TAEC_ERR_INVALID_ARGUMENT, "bench: pass weights or --package");
            if (args->sizes.empty() && args->package.empty() && args->height == 0) args->sizes = {1024};
            return run_bench(*args);
          }};
}

}  // namespace taec_cli

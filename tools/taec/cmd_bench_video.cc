// taec bench for video models: seeded clips streamed through one fixed-shape plan, timed per
// step; each clip length runs in its own child process so its peak RSS is its own, and lengths
// can be compared (memory must not grow with the clip).
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench_args.h"
#include "bench_util.h"
#include "cli_util.h"

namespace taec_cli {
namespace {

struct ClipResult {
  int latents = 0;
  long long inputs = 0, outputs = 0;  // pushed and pulled (frames or latents)
  double compile_s = 0, total_s = 0, step_median_s = 0, step_p90_s = 0;
  long long peak_rss = 0;
  unsigned long long state_bytes = 0, arena_bytes = 0;
  char error[512] = {0};
};

taec_precision parse_precision(const std::string& p) {
  return p == "reference" ? TAEC_PRECISION_REFERENCE : p == "bf16" ? TAEC_PRECISION_BF16 : p == "int8" ? TAEC_PRECISION_INT8 : TAEC_PRECISION_FP32;
}

// One clip, in this process. Latents (or frames) are made step by step from a seeded generator,
// so the input does not grow with the clip either.
ClipResult bench_clip(const BenchArgs& args, const taec::Model& model, int height, int width, int latents) {
  const taec_model_info info = model.info();
  const bool decoder = info.role == TAEC_ROLE_DECODER;
  ClipResult r;
  r.latents = latents;
  taec_plan_options opts;
  taec_plan_options_init(&opts);
  opts.image_height = height;
  opts.image_width = width;
  opts.layout = args.layout == "nhwc" ? TAEC_LAYOUT_NHWC : TAEC_LAYOUT_NCHW;
  opts.precision = parse_precision(args.precision);
  opts.threads = args.threads;
  opts.tune = args.tune;
  const auto t0 = std::chrono::steady_clock::now();
  taec::Plan plan(model, opts);
  r.compile_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const taec_plan_io io = plan.io();
  const size_t item = io.input_elems / io.frames_in;
  const size_t out_item = io.output_elems / io.frames_out;
  std::vector<float> in(item), out(out_item);
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  auto fill = [&] {
    for (float& v : in) v = decoder ? normal(rng) : uniform(rng);
  };
  const int pushes = decoder ? latents : latents * info.time_factor;
  taec::Stream stream(plan, decoder ? latents : 0);
  auto drain = [&] {
    while (stream.pending() > 0) {
      stream.pull(out.data());
      ++r.outputs;
    }
  };
  for (int i = 0; i < std::min(args.warmup, 2) * (decoder ? 1 : info.time_factor); ++i) {  // untimed, then a fresh clip
    fill();
    stream.push(in.data());
    drain();
  }
  stream.reset();
  r.outputs = 0;
  std::vector<double> steps;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < pushes; ++i) {
    fill();
    const auto s = std::chrono::steady_clock::now();
    stream.push(in.data());
    drain();
    if (decoder || (i + 1) % info.time_factor == 0) steps.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count());
    ++r.inputs;
  }
  stream.flush();
  drain();
  r.total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.step_median_s = percentile(steps, 0.5);
  r.step_p90_s = percentile(steps, 0.9);
  r.peak_rss = peak_rss_bytes();
  r.state_bytes = io.state_bytes;
  const taec_plan_stats stats = plan.stats();
  r.arena_bytes = stats.arena_bytes;
  if (args.profile) {  // the last step's ops, summed by kind
    std::printf("  profile (last step), %s, %s kernels (%s)\n", stats.engine, stats.isa, stats.isa_note);
    for (size_t i = 0; i < stats.op_count; ++i) {
      const taec_op_profile p = plan.op_profile(i);
      std::printf("    %-24s %-16s %8.2f ms %7.1f GFLOP/s\n", p.name, p.kind, p.seconds * 1e3, p.seconds > 0 ? p.flops / p.seconds / 1e9 : 0.0);
    }
    std::fflush(stdout);
  }
  return r;
}

// Runs bench_clip in a child process and returns what it measured (or its error).
ClipResult bench_clip_in_child(const BenchArgs& args, const taec::Model& model, int height, int width, int latents) {
  std::fflush(stdout);
  std::fflush(stderr);
  int fds[2];
  ClipResult r;
  r.latents = latents;
  if (pipe(fds) != 0) throw taec::Error(TAEC_ERR_INTERNAL, std::string("bench: pipe: ") + std::strerror(errno));
  const pid_t pid = fork();
  if (pid < 0) throw taec::Error(TAEC_ERR_INTERNAL, std::string("bench: fork: ") + std::strerror(errno));
  if (pid == 0) {
    close(fds[0]);
    ClipResult c;
    try {
      c = bench_clip(args, model, height, width, latents);
    } catch (const std::exception& e) {
      std::snprintf(c.error, sizeof c.error, "%s", e.what());
    }
    const bool ok = write(fds[1], &c, sizeof c) == static_cast<ssize_t>(sizeof c);
    _exit(ok ? 0 : 1);
  }
  close(fds[1]);
  size_t got = 0;
  while (got < sizeof r) {
    const ssize_t n = read(fds[0], reinterpret_cast<char*>(&r) + got, sizeof r - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (got != sizeof r) {
    throw taec::Error(TAEC_ERR_OUT_OF_MEMORY, "bench: the process measuring " + std::to_string(latents) + " latents died (" +
                                                  (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status)) : "no result") + ")");
  }
  if (r.error[0]) throw taec::Error(TAEC_ERR_INVALID_ARGUMENT, r.error);
  return r;
}

}  // namespace

int run_video_bench(const BenchArgs& args, const taec::Model& model, const std::vector<std::pair<int, int>>& shapes) {
  const taec_model_info info = model.info();
  const bool decoder = info.role == TAEC_ROLE_DECODER;
  if (args.precision == "int8") return fail(TAEC_ERR_UNSUPPORTED, "--precision int8: not implemented for video models (fp32, bf16, reference)");
  const std::vector<int> lengths = args.latents.empty() ? std::vector<int>{21} : args.latents;
  std::printf("taec bench: %s %s (video, %d frames per latent, frame rule %s), precision %s, layout %s, %s threads\n", info.variant,
              decoder ? "decoder" : "encoder", info.time_factor, info.frame_rule, args.precision.c_str(), args.layout.c_str(),
              args.threads > 0 ? std::to_string(args.threads).c_str() : "all");
  std::printf("%-11s %7s %7s %8s %9s %9s %10s %10s %10s %10s %9s\n", "size", "latents", "frames", "total", decoder ? "ms/frame" : "ms/latent",
              decoder ? "frames/s" : "frames/s", "step med", "step p90", "peak RSS", "state", "arena");
  std::ostringstream json;
  json << "{\"variant\": \"" << info.variant << "\", \"role\": \"" << (decoder ? "decoder" : "encoder") << "\", \"precision\": \""
       << args.precision << "\", \"results\": [";
  bool first = true;
  for (const auto& [h, w] : shapes) {
    for (int latents : lengths) {
      const ClipResult r = bench_clip_in_child(args, model, h, w, latents);
      const long long frames = decoder ? r.outputs : r.inputs;
      const double per = r.total_s * 1e3 / (decoder ? r.outputs : std::max<long long>(r.outputs, 1));
      char size[32];
      std::snprintf(size, sizeof size, "%dx%d", h, w);
      std::printf("%-11s %7d %7lld %7.2fs %9.1f %9.2f %8.1fms %8.1fms %6.1f MiB %6.1f MiB %5.1f MiB\n", size, latents, frames, r.total_s, per,
                  frames / r.total_s, r.step_median_s * 1e3, r.step_p90_s * 1e3, r.peak_rss / 1048576.0, r.state_bytes / 1048576.0,
                  r.arena_bytes / 1048576.0);
      std::fflush(stdout);
      json << (first ? "" : ", ") << "{\"height\": " << h << ", \"width\": " << w << ", \"latents\": " << latents << ", \"frames\": " << frames
           << ", \"compile_s\": " << r.compile_s << ", \"total_s\": " << r.total_s << ", \"ms_per_frame\": " << (decoder ? per : r.total_s * 1e3 / frames)
           << ", \"frames_per_s\": " << frames / r.total_s << ", \"step_median_s\": " << r.step_median_s << ", \"step_p90_s\": " << r.step_p90_s
           << ", \"peak_rss_bytes\": " << r.peak_rss << ", \"state_bytes\": " << r.state_bytes << ", \"arena_bytes\": " << r.arena_bytes << "}";
      first = false;
    }
  }
  json << "]}\n";
  if (!args.json.empty()) {
    std::ofstream out(args.json);
    out << json.str();
    if (!out) return fail(TAEC_ERR_IO, args.json + ": cannot write");
  }
  return kExitOk;
}

}  // namespace taec_cli

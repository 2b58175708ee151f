// Fixed per-size plans vs one flexible plan for the same sizes: compile/switch cost, run time,
// activation memory and resident memory. Each mode runs in its own child process so its peak
// RSS is its own. Prints a Markdown table (docs/PACKAGE.md quotes it).
//
//   taec_bench_flexible WEIGHTS [--sizes 768,1024,...] [--precision bf16|fp32] [--iters N]
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "plan/flexible_plan.h"
#include "plan/plan.h"

namespace {

using Clock = std::chrono::steady_clock;
using Sizes = std::vector<std::pair<int, int>>;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double status_mib(const char* key) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(std::strlen(key))) / 1024.0;
  }
  return -1;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Buffers {
  std::vector<float> in, out;
};

Buffers buffers(const taec::Model& model, int h, int w) {
  const size_t in = static_cast<size_t>(model.latent_channels) * (h / 8) * (w / 8);
  Buffers b{std::vector<float>(in), std::vector<float>(static_cast<size_t>(3) * h * w)};
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 0.8f);
  for (float& v : b.in) v = dist(rng);
  return b;
}

void die(const taec::Status& s) {
  std::fprintf(stderr, "error: %s\n", s.message().c_str());
  std::exit(2);
}

void run_fixed(std::shared_ptr<const taec::Model> model, const taec::PlanOptions& base, const Sizes& sizes, int iters) {
  std::vector<std::unique_ptr<taec::Plan>> loaded;
  for (const auto& [h, w] : sizes) {
    taec::PlanOptions o = base;
    o.image_height = h;
    o.image_width = w;
    const auto t0 = Clock::now();
    auto plan = taec::compile_plan(model, o);
    if (!plan.ok()) die(plan.status());
    const double compile_s = since(t0);
    Buffers b = buffers(*model, h, w);
    (*plan)->run(b.in.data(), b.out.data()).ok();
    std::vector<double> t;
    for (int i = 0; i < iters; ++i) {
      const auto s = Clock::now();
      (*plan)->run(b.in.data(), b.out.data()).ok();
      t.push_back(since(s));
    }
    std::printf("| fixed | %dx%d | %.3f s (compile) | %.3f s | %.1f MiB | %.1f MiB |\n", h, w, compile_s, median(t),
                (*plan)->stats().arena_bytes / 1048576.0, status_mib("VmRSS:"));
    std::fflush(stdout);
    loaded.push_back(std::move(*plan));
  }
  std::printf("| fixed | all %zu loaded | | | | %.1f MiB (peak %.1f) |\n", sizes.size(), status_mib("VmRSS:"), status_mib("VmHWM:"));
}

void run_flexible(std::shared_ptr<const taec::Model> model, const taec::PlanOptions& base, const Sizes& sizes, int iters) {
  const auto t0 = Clock::now();
  auto flex = taec::FlexiblePlan::compile(model, base, sizes);
  if (!flex.ok()) die(flex.status());
  std::printf("| flexible | compile (all sizes) | %.3f s | | %.1f MiB | %.1f MiB |\n", since(t0), (*flex)->arena_bytes() / 1048576.0,
              status_mib("VmRSS:"));
  for (const auto& [h, w] : sizes) {
    Buffers b = buffers(*model, h, w);
    const auto s0 = Clock::now();
    (*flex)->run(h, w, b.in.data(), b.out.data()).ok();
    const double first = since(s0);
    std::vector<double> t;
    for (int i = 0; i < iters; ++i) {
      const auto s = Clock::now();
      (*flex)->run(h, w, b.in.data(), b.out.data()).ok();
      t.push_back(since(s));
    }
    std::printf("| flexible | %dx%d | %.3f s (first run, re-lowers) | %.3f s | %.1f MiB | %.1f MiB |\n", h, w, first, median(t),
                (*flex)->arena_bytes() / 1048576.0, status_mib("VmRSS:"));
    std::fflush(stdout);
  }
  // Alternating sizes: every run pays the switch.
  std::vector<double> t;
  const auto [h0, w0] = sizes.front();
  const auto [h1, w1] = sizes.back();
  Buffers a = buffers(*model, h0, w0), b = buffers(*model, h1, w1);
  for (int i = 0; i < iters; ++i) {
    const auto s = Clock::now();
    (*flex)->run(h0, w0, a.in.data(), a.out.data()).ok();
    (*flex)->run(h1, w1, b.in.data(), b.out.data()).ok();
    t.push_back(since(s));
  }
  std::printf("| flexible | alternating %dx%d / %dx%d | | %.3f s per pair | | %.1f MiB (peak %.1f) |\n", h0, w0, h1, w1, median(t),
              status_mib("VmRSS:"), status_mib("VmHWM:"));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s WEIGHTS [--sizes 768,1024,...] [--precision bf16|fp32] [--iters N]\n", argv[0]);
    return 2;
  }
  Sizes sizes;
  taec::PlanOptions base;
  base.layout = taec::Layout::nchw;
  base.precision = taec::Precision::bf16;
  int iters = 3;
  std::string size_list = "768,1024,1280,1536,1792,2048";
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--sizes") size_list = v;
    else if (k == "--precision") base.precision = v == "fp32" ? taec::Precision::fp32 : taec::Precision::bf16;
    else if (k == "--iters") iters = std::max(1, std::atoi(v.c_str()));
  }
  for (size_t p = 0; p < size_list.size();) {
    const size_t comma = size_list.find(',', p);
    const int s = std::atoi(size_list.substr(p, comma - p).c_str());
    sizes.push_back({s, s});
    p = comma == std::string::npos ? size_list.size() : comma + 1;
  }
  auto model = taec::load_model(argv[1], taec::LoadRequest{});
  if (!model.ok()) die(model.status());
  std::printf("| mode | size | compile / first run | median run | activation arena | resident memory |\n|---|---|---:|---:|---:|---:|\n");
  std::fflush(stdout);
  for (int mode = 0; mode < 2; ++mode) {
    const pid_t pid = fork();
    if (pid == 0) {
      base.packed_cache = std::make_shared<taec::PackedWeightCache>();
      mode == 0 ? run_fixed(*model, base, sizes, iters) : run_flexible(*model, base, sizes, iters);
      std::fflush(stdout);
      _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  }
  return 0;
}

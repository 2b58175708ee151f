// How a video decoder's error grows along a clip: the temporal state carries every frame's error
// into the next. Streams the same seeded N(0,1) latents through a candidate plan and a baseline
// plan and prints, per latent, the max |err| and mean |err| of that latent's frames, plus a summary
// of the first and last tenth of the clip (docs/VIDEO.md quotes it).
//
//   taec_video_drift WEIGHTS HxW LATENTS [--candidate bf16|fp32] [--baseline fp32|reference]
//                    [--variant V] [--threads N] [--csv out.csv]
//
// The baseline is the compiled fp32 plan by default: the scalar reference takes minutes per
// latent at 480x832, and the fp32 plan's own drift from it is what `--candidate fp32
// --baseline reference` at a small size measures.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "plan/stream.h"

namespace {

taec::Precision parse_precision(const std::string& s) {
  if (s == "bf16") return taec::Precision::bf16;
  if (s == "reference") return taec::Precision::reference;
  return taec::Precision::fp32;
}

int usage() {
  std::fprintf(stderr, "usage: taec_video_drift WEIGHTS HxW LATENTS [--candidate bf16|fp32] [--baseline fp32|reference] "
                       "[--variant V] [--threads N] [--csv out.csv]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return usage();
  const std::string weights = argv[1];
  int height = 0, width = 0;
  if (std::sscanf(argv[2], "%dx%d", &height, &width) != 2) return usage();
  const int latents = std::atoi(argv[3]);
  std::string candidate = "bf16", baseline = "fp32", variant, csv;
  int threads = 0;
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--candidate") candidate = value;
    else if (flag == "--baseline") baseline = value;
    else if (flag == "--variant") variant = value;
    else if (flag == "--threads") threads = std::atoi(value.c_str());
    else if (flag == "--csv") csv = value;
    else return usage();
  }
  taec::LoadRequest request;
  request.role = static_cast<int>(taec::Role::decoder);
  request.variant = variant;
  auto model = taec::load_model(weights, request);
  if (!model.ok()) return std::fprintf(stderr, "%s\n", model.status().message().c_str()), 2;
  auto compile = [&](const std::string& precision) {
    taec::PlanOptions o;
    o.image_height = height;
    o.image_width = width;
    o.layout = taec::Layout::nchw;
    o.precision = parse_precision(precision);
    o.threads = threads;
    return taec::compile_plan(*model, o);
  };
  auto a = compile(candidate), b = compile(baseline);
  if (!a.ok() || !b.ok()) return std::fprintf(stderr, "%s\n", (a.ok() ? b : a).status().message().c_str()), 2;
  taec::StreamOptions so;
  so.clip_latents = latents;
  auto sa = taec::Stream::create(a->get(), so), sb = taec::Stream::create(b->get(), so);
  if (!sa.ok() || !sb.ok()) return std::fprintf(stderr, "%s\n", (sa.ok() ? sb : sa).status().message().c_str()), 2;
  std::printf("# %s %dx%d, %d latents: %s (%s) against %s\n", (*model)->variant.c_str(), height, width, latents, candidate.c_str(),
              (*a)->stats().kernel.c_str(), baseline.c_str());
  std::printf("latent frames max_abs mae\n");
  std::ofstream out;
  if (!csv.empty()) out.open(csv), out << "latent,frames,max_abs,mae\n";
  std::vector<float> latent((*a)->shapes().input_frame_elems()), fa((*sa)->output_bytes() / 4), fb(fa.size());
  std::mt19937_64 rng(20240917);
  std::normal_distribution<float> normal;
  std::vector<double> per_latent;
  for (int t = 0; t <= latents; ++t) {
    const bool flush = t == latents;
    if (!flush) {
      for (float& v : latent) v = normal(rng);
      if (!(*sa)->push(latent.data()).ok() || !(*sb)->push(latent.data()).ok()) return std::fprintf(stderr, "push failed\n"), 1;
    } else if (!(*sa)->flush().ok() || !(*sb)->flush().ok()) {
      return 1;
    }
    double max_abs = 0, sum = 0;
    size_t n = 0, frames = 0;
    while ((*sa)->pending() > 0 && (*sb)->pending() > 0) {
      (void)(*sa)->pull(fa.data());
      (void)(*sb)->pull(fb.data());
      for (size_t i = 0; i < fa.size(); ++i) {
        const double d = std::fabs(double(fa[i]) - fb[i]);
        max_abs = std::max(max_abs, d);
        sum += d;
      }
      n += fa.size();
      ++frames;
    }
    if (frames == 0) continue;
    per_latent.push_back(max_abs);
    std::printf("%d %zu %.4g %.3g\n", t, frames, max_abs, sum / n);
    if (out) out << t << "," << frames << "," << max_abs << "," << sum / n << "\n";
  }
  const size_t tenth = std::max<size_t>(1, per_latent.size() / 10);
  const double first = *std::max_element(per_latent.begin(), per_latent.begin() + tenth);
  const double last = *std::max_element(per_latent.end() - tenth, per_latent.end());
  const double overall = *std::max_element(per_latent.begin(), per_latent.end());
  std::printf("# max |err|: first tenth %.4g, last tenth %.4g, whole clip %.4g\n", first, last, overall);
  return 0;
}

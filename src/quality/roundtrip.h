// The round trip behind `taec roundtrip`: photos -> fitted to N x N -> encoded -> decoded by each
// method, with metrics against the original and against the fp32 round trip, timings, PNGs, a
// JSON summary and an HTML report.
//
// Output folder layout (created if missing; files are replaced):
//   original/<stem>.png          the fitted input (what every method starts from)
//   <method>/<stem>.png          the method's round trip, clamped to [0,1]
//   summary.json                 everything below, machine-readable (roundtrip_json)
//   report.html                  self-contained report (report_html.h)
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/model.h"
#include "plan/plan.h"
#include "quality/metrics.h"
#include "quant/weight_quant.h"

namespace taec {

// A way to run the encoder and decoder. The list of methods is data (roundtrip_methods()):
// quantized methods join it when they exist, and everything downstream takes them as they come.
struct RoundtripMethod {
  std::string name;   // "fp32", "bf16", "int8", …: CLI spelling, folder name, JSON key
  std::string label;  // what it is, for people
  Precision precision;
  // The decoder's convolution weights quantized and dequantized as a package with this storage
  // would hold them (quant/weight_quant.h). Precision::int8 also calibrates its activations on
  // the round trip's own photos at 512x512 (what `taec pack --precision int8` does with them).
  WeightQuant weights = WeightQuant::none;
  // Where the decoder plan comes from when it is not compiled from the decoder model at
  // `precision` (a package's plan, e.g. one with quantized weights); its encoder is the fp32
  // plan. Arguments: image size (square), threads.
  std::function<Result<std::unique_ptr<Plan>>(int, int)> decoder_plan;
  uint64_t package_weight_bytes = 0;  // with decoder_plan: the package's weight.bin
};

const std::vector<RoundtripMethod>& roundtrip_methods();
// "fp32,bf16" -> methods, in the order given; "all" = every method; "quant" = the speed/size/quality
// comparison of issue 6 (fp32, bf16 and every quantized method). Unknown names are an error
// listing the known ones.
Result<std::vector<RoundtripMethod>> parse_roundtrip_methods(const std::string& list);

struct RoundtripOptions {
  int size = 512;                        // images are fitted to size x size (multiple of 8)
  std::vector<RoundtripMethod> methods;  // "fp32" is added first if missing: it is the baseline
  std::string out_dir;
  int threads = 0;      // plan threads, 0 = all cores
  int timing_runs = 3;  // encode and decode each run this often; the fastest counts
  // Progress lines ("[3/10] chelsea bf16: ..."), for a terminal; may be empty.
  std::function<void(const std::string&)> progress;
};

struct MethodResult {
  ErrorStats vs_original;  // clamped to [0,1], as saved
  double ssim_vs_original = 0;
  ErrorStats vs_fp32;  // against the fp32 method's round trip
  double ssim_vs_fp32 = 0;
  double encode_seconds = 0;  // fastest of timing_runs runs (after a warm-up run per plan)
  double decode_seconds = 0;
  std::string png;  // relative to out_dir
};

struct RoundtripImage {
  std::string name;    // file stem
  std::string source;  // path given
  int source_height = 0, source_width = 0;
  std::string original_png;           // relative to out_dir
  std::vector<MethodResult> methods;  // parallel to RoundtripSummary::methods
};

struct RoundtripMethodInfo {
  RoundtripMethod method;
  std::string encoder_kernel, decoder_kernel;  // what the plans chose (PlanStats::kernel)
  std::string isa;
  int threads = 0;
  uint64_t weight_file_bytes = 0;  // the decoder package's weight.bin with this method's storage
  std::string calibration;         // int8: what the activation ranges were measured on
};

struct RoundtripSummary {
  std::string variant;
  std::string encoder_source, decoder_source;  // weight file paths
  int size = 0;
  int timing_runs = 1;
  std::vector<RoundtripMethodInfo> methods;
  std::vector<RoundtripImage> images;
  std::string out_dir;
  std::string created_utc;  // ISO 8601
  // "2 cores, load average 0.4 before / 0.9 after": timings on a busy machine are not speeds.
  std::string machine_load;
};

// Runs everything and writes the output folder. encoder/decoder: one model pair (same variant).
Result<RoundtripSummary> run_roundtrip(std::shared_ptr<const Model> encoder, std::shared_ptr<const Model> decoder,
                                       const std::vector<std::string>& image_paths, const RoundtripOptions& options);

// summary.json's text.
std::string roundtrip_json(const RoundtripSummary& summary);
// A Markdown table, one row per image and method, plus a mean row per method.
std::string roundtrip_table(const RoundtripSummary& summary);
// Means over the images of method i: PSNR as the mean of per-image dB values (as reports usually
// give it), max abs as the max.
MethodResult roundtrip_method_mean(const RoundtripSummary& summary, size_t i);
// Mean decode time of `baseline` / that of method i; 0 without that baseline.
double roundtrip_speedup(const RoundtripSummary& summary, size_t i, const std::string& baseline);
// A Markdown table, one row per method (means over the images): decode time and speed-up
// against fp32 and bf16, weight.bin size, PSNR/SSIM against the original and the fp32 round trip.
std::string roundtrip_method_table(const RoundtripSummary& summary);

}  // namespace taec

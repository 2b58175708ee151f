// taec roundtrip --images DIR --weights taef2 --size 512 --out DIR: encode + decode photos by
// every method, with PNGs, metrics, timings, summary.json and a self-contained report.html.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli_util.h"
#include "commands.h"
#include "quality_cli_util.h"
#include "taec/taec_quality.h"

namespace taec_cli {
namespace {

struct RoundtripArgs {
  std::vector<std::string> images;
  std::string weights;
  std::string encoder;
  std::string variant;
  std::string methods = "fp32,bf16";
  std::string out;
  int size = 512;
  int threads = 0;
  int timing_runs = 3;
  bool quiet = false;
  std::vector<std::string> packages;
};

void print_progress(const char* line, void* /*user*/) {
  std::fprintf(stderr, "%s\n", line);
  std::fflush(stderr);
}

int run_roundtrip(const RoundtripArgs& args) {
  const std::vector<std::string> images = collect_images(args.images);
  std::vector<std::unique_ptr<taec::Package>> packages;
  std::vector<const taec_package*> package_handles;
  for (const std::string& p : args.packages) {
    packages.push_back(std::make_unique<taec::Package>(p));
    package_handles.push_back(packages.back()->get());
  }
  if (args.weights.empty() && packages.empty()) return fail(TAEC_ERR_INVALID_ARGUMENT, "roundtrip: pass --weights and/or --package");
  // The fp32 baseline and the encoder come from the original weights: by default the model the
  // (first) package was made from.
  const std::string weights = !args.weights.empty() ? args.weights : packages.front()->info().model_name;
  const std::string decoder_path = taec::resolve_weights(weights, TAEC_ROLE_DECODER);
  const std::string encoder_path = find_encoder_weights(weights, args.encoder);
  if (encoder_path.empty()) return fail(TAEC_ERR_INVALID_ARGUMENT, "no encoder found for " + weights + "; pass --encoder");
  taec_load_options dec_options = load_options(args.variant, TAEC_ROLE_DECODER);
  taec_load_options enc_options = load_options(args.variant, TAEC_ROLE_ENCODER);
  const taec::Model decoder(decoder_path, &dec_options);
  const taec::Model encoder(encoder_path, &enc_options);

  std::vector<const char*> paths;
  for (const auto& p : images) paths.push_back(p.c_str());
  taec_roundtrip_options o;
  taec_roundtrip_options_init(&o);
  o.size = args.size;
  o.methods = args.methods.c_str();
  o.out_dir = args.out.c_str();
  o.threads = args.threads;
  o.timing_runs = args.timing_runs;
  if (!args.quiet) o.progress = print_progress;
  o.packages = package_handles.data();
  o.package_count = package_handles.size();
  std::fprintf(stderr, "round trip: %zu images at %dx%d, methods %s, decoder %s, encoder %s\n", images.size(),
               args.size, args.size, args.methods.c_str(), decoder_path.c_str(), encoder_path.c_str());
  taec_roundtrip* raw = nullptr;
  taec::check(taec_roundtrip_run(encoder.get(), decoder.get(), paths.data(), paths.size(), &o, &raw));
  std::unique_ptr<taec_roundtrip, void (*)(taec_roundtrip*)> rt(raw, taec_roundtrip_free);
  std::printf("%s\n%s", taec_roundtrip_table(rt.get()), taec_roundtrip_method_table(rt.get()));
  const std::filesystem::path out(args.out);
  std::fprintf(stderr, "wrote %s, %s and the PNGs under %s\n", (out / "report.html").c_str(),
               (out / "summary.json").c_str(), args.out.c_str());
  return kExitOk;
}

}  // namespace

Command add_roundtrip_command(CLI::App& app) {
  auto args = std::make_shared<RoundtripArgs>();
  CLI::App* cmd = app.add_subcommand(
      "roundtrip",
      "Encode and decode photos with every method: PNGs, metrics (PSNR, SSIM, …) against the original and the fp32 "
      "round trip, timings, summary.json and a self-contained report.html");
  cmd->add_option("--images", args->images, "Images or folders of images (PNG/JPEG)")->required();
  cmd->add_option("--weights", args->weights, "Model name (taef2, …) or decoder weights (default: a package's model)");
  cmd->add_option("--package", args->packages,
                  "Also decode with this package's plans (repeatable; e.g. packages with quantized weights); "
                  "method name pkg-<folder>");
  cmd->add_option("--encoder", args->encoder, "Encoder weights (default: found beside the decoder or by name)");
  cmd->add_option("--methods", args->methods,
                  "Comma-separated: fp32 (compiled), bf16 (FP16-class; encoder stays fp32), reference, palette8, palette4, "
                  "int8w (quantized weights, bf16 compute), int8 (int8 weights and activations, calibrated on the photos); "
                  "or quant (fp32,bf16,palette8,palette4,int8w,int8), or all. fp32 always runs: it is the baseline");
  cmd->add_option("--size", args->size, "Images are scaled to cover NxN and center-cropped (multiple of 8)")
      ->check(CLI::Range(8, 16384));
  cmd->add_option("-o,--out", args->out, "Output folder")->required();
  cmd->add_option("--variant", args->variant, "Override the detected variant");
  cmd->add_option("--threads", args->threads, "Plan threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--timing-runs", args->timing_runs, "Runs per image and method; the fastest is reported (default 3)")
      ->check(CLI::Range(1, 100));
  cmd->add_flag("-q,--quiet", args->quiet, "No progress lines");
  return {cmd, [args] { return run_roundtrip(*args); }};
}

}  // namespace taec_cli

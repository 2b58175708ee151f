// taec pack WEIGHTS --sizes … --out DIR: compile every size, validate it, write one package.
// taec verify DIR: check a package file by file.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli_util.h"
#include "commands.h"

namespace taec_cli {
namespace {

struct PackArgs {
  std::string weights;
  std::vector<std::string> sizes = {"768", "1024", "1280", "1536", "1792", "2048"};
  taec_precision precision = TAEC_PRECISION_BF16;
  std::string layout = "nhwc";
  std::string io = "fp16";
  std::string weight_storage = "none";
  std::string out;
  bool zip = false;
  int threads = 0;
  taec_tune tune = TAEC_TUNE_DEFAULT;
  std::string images;
  std::string encoder;
  int random_inputs = 2;
  uint64_t seed = 20240917;
  double tolerance = 0;
  std::string name;
  std::string variant;
  int clip_latents = 4;
};

void print_progress(const char* line, void*) {
  std::fprintf(stderr, "%s\n", line);
  std::fflush(stderr);
}

int run_pack(const PackArgs& args) {
  std::vector<int> heights, widths;
  for (const std::string& s : args.sizes) {
    int h = 0, w = 0;
    if (!parse_image_size(s, &h, &w)) return fail(TAEC_ERR_INVALID_ARGUMENT, "--sizes: \"" + s + "\" is not N or HxW");
    heights.push_back(h);
    widths.push_back(w);
  }
  // A model name means its decoder; an encoder package is made from the encoder file's path.
  const std::string path = taec::resolve_weights(args.weights, TAEC_ROLE_DECODER);
  taec_pack_options o;
  taec_pack_options_init(&o);
  o.heights = heights.data();
  o.widths = widths.data();
  o.size_count = heights.size();
  o.layout = args.layout == "nchw" ? TAEC_LAYOUT_NCHW : TAEC_LAYOUT_NHWC;
  o.io_dtype = args.io == "fp32" ? TAEC_DTYPE_F32 : TAEC_DTYPE_F16;
  o.precision = args.precision;
  o.weights = args.weight_storage.c_str();
  o.out_path = args.out.c_str();
  o.zip = args.zip;
  o.threads = args.threads;
  o.tune = args.tune;
  o.model_name = args.name.empty() ? nullptr : args.name.c_str();
  o.random_inputs = args.random_inputs;
  o.seed = args.seed;
  o.image_dir = args.images.empty() ? nullptr : args.images.c_str();
  o.encoder_path = args.encoder.empty() ? nullptr : args.encoder.c_str();
  o.tolerance = args.tolerance;
  o.variant = args.variant.empty() ? nullptr : args.variant.c_str();
  o.clip_latents = args.clip_latents;
  o.progress = print_progress;
  std::fprintf(stderr, "packing %s: %zu sizes, %s, weights %s, layout %s, io %s -> %s\n", path.c_str(), heights.size(),
               args.precision == TAEC_PRECISION_BF16 ? "bf16 (FP16-class)" : precision_label(args.precision),
               args.precision == TAEC_PRECISION_INT8 && args.weight_storage == "none" ? "int8" : args.weight_storage.c_str(), args.layout.c_str(),
               args.io.c_str(), args.out.c_str());
  taec::check(taec_pack(path.c_str(), &o));
  return kExitOk;
}

void print_verdict(const char* file, int ok, const char* detail, void* user) {
  std::printf("%-6s %-24s %s\n", ok ? "ok" : "FAIL", file, detail);
  if (!ok) ++*static_cast<int*>(user);
}

int run_verify(const std::string& path) {
  int failures = 0, all_ok = 0;
  taec::check(taec_package_verify(path.c_str(), print_verdict, &failures, &all_ok));
  if (!all_ok) {
    std::fprintf(stderr, "taec: %s: %d file%s failed verification\n", path.c_str(), failures, failures == 1 ? "" : "s");
    return kExitBadInput;
  }
  std::printf("%s: package verified\n", path.c_str());
  return kExitOk;
}

}  // namespace

Command add_pack_command(CLI::App& app) {
  auto args = std::make_shared<PackArgs>();
  CLI::App* cmd = app.add_subcommand("pack", "Compile and validate every size of a model into one package sharing one weight.bin");
  cmd->add_option("weights", args->weights,
                  "Weights (.pth/.safetensors) or model name (taef2, taef1, …); a video TAE file (TAEHV family) packs its decoder")
      ->required();
  cmd->add_option("--sizes", args->sizes,
                  "Image / frame sizes: N (square) or HxW, multiples of the latent grid (8; video: 8 x patch) (default 768…2048)")
      ->delimiter(',');
  cmd->add_option("--variant", args->variant, "Override the detected variant (e.g. taecvx for a file of taew2_1's shapes)");
  cmd->add_option("--precision", args->precision,
                  "bf16 (FP16-class, default) | fp32 | int8 (int8 weights and activations, calibrated on the --images photos)")
      ->transform(CLI::CheckedTransformer(std::map<std::string, taec_precision>{
          {"fp32", TAEC_PRECISION_FP32}, {"bf16", TAEC_PRECISION_BF16}, {"int8", TAEC_PRECISION_INT8}}));
  cmd->add_option("--layout", args->layout, "nhwc (default) | nchw: layout of every plan's input and output")
      ->check(CLI::IsMember({"nhwc", "nchw"}));
  cmd->add_option("--io", args->io, "fp16 (default) | fp32: element type of input and output")->check(CLI::IsMember({"fp16", "fp32"}));
  add_weight_storage_option(cmd, args->weight_storage, "quantized storage of the conv weights");
  cmd->add_option("--out", args->out, "Package directory (or zip file with --zip); replaced atomically")->required();
  cmd->add_flag("--zip", args->zip, "Write one uncompressed zip instead of a directory");
  cmd->add_option("--threads", args->threads, "Threads for validation (0 = all cores)")->check(CLI::Range(0, 1024));
  add_tune_option(cmd, args->tune);
  cmd->add_option("--images", args->images, "Photos (.png/.jpg) whose latents validate each size (default $TAEC_IMAGE_DIR)");
  cmd->add_option("--encoder", args->encoder, "Encoder making those latents (default: beside the weights, or by name)");
  cmd->add_option("--random-inputs", args->random_inputs, "Seeded random validation inputs (video: clips) per size")->check(CLI::Range(0, 100));
  cmd->add_option("--clip-latents", args->clip_latents,
                  "Video: latents per validation clip, streamed one at a time (default 4, at least 3)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--seed", args->seed, "Seed of the random validation inputs");
  cmd->add_option("--tolerance", args->tolerance, "Max |err| allowed (default: 1e-3 fp32; bf16 0.05 FLUX.2, 0.03 FLUX.1; video 0.06, super decoder 0.16)");
  cmd->add_option("--name", args->name, "Model name for the manifest (default: from the weights file)");
  return {cmd, [args] { return run_pack(*args); }};
}

Command add_verify_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("verify", "Check a package: every file's hash and size, references, nothing missing or extra");
  cmd->add_option("package", *path, "Package directory or .zip")->required();
  return {cmd, [path] { return run_verify(*path); }};
}

}  // namespace taec_cli

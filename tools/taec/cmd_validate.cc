// taec validate WEIGHTS|PACKAGE: compiled plans (each size x precision, or a package's plans)
// against the fp32 reference, on seeded random inputs and on real images; exit 3 if any is over
// tolerance.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli_util.h"
#include "commands.h"
#include "quality_cli_util.h"
#include "taec/taec_quality.h"

namespace taec_cli {
namespace {

// Ran fine, but a plan is over its tolerance (or produced NaN/Inf).
constexpr int kExitOverTolerance = 3;

struct ValidateArgs {
  std::string weights;
  std::string encoder;
  std::string candidate;
  std::string variant;
  std::string role = "auto";
  std::string sizes = "256";
  std::string precisions = "fp32,bf16";
  std::vector<std::string> images;
  int random_count = 2;
  uint64_t seed = 0;
  bool seed_given = false;
  double tolerance = -1;
  int threads = 0;
  bool sizes_given = false;
};

struct Size {
  int height, width;
};

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::vector<Size> parse_sizes(const std::string& list) {
  std::vector<Size> out;
  for (const std::string& s : split(list)) {
    int h = 0, w = 0;
    if (!parse_image_size(s, &h, &w) || h > 16384 || w > 16384) {
      throw taec::Error(TAEC_ERR_INVALID_ARGUMENT, "--sizes: '" + s + "' is not a size (N or HxW)");
    }
    out.push_back({h, w});
  }
  if (out.empty()) throw taec::Error(TAEC_ERR_INVALID_ARGUMENT, "--sizes: no sizes given");
  return out;
}

std::vector<std::pair<std::string, taec_precision>> parse_precisions(const std::string& list) {
  std::vector<std::pair<std::string, taec_precision>> out;
  for (const std::string& p : split(list)) {
    if (p == "fp32")
      out.push_back({p, TAEC_PRECISION_FP32});
    else if (p == "bf16")
      out.push_back({p, TAEC_PRECISION_BF16});
    else if (p == "reference")
      out.push_back({p, TAEC_PRECISION_REFERENCE});
    else if (p == "int8")
      out.push_back({p, TAEC_PRECISION_INT8});
    else
      throw taec::Error(TAEC_ERR_INVALID_ARGUMENT, "--precision: unknown '" + p + "' (fp32, bf16, int8, reference)");
  }
  if (out.empty()) throw taec::Error(TAEC_ERR_INVALID_ARGUMENT, "--precision: none given");
  return out;
}

std::string num(const char* format, double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return "inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

void print_row(const std::string& label, const std::string& input, const taec_error_stats& e) {
  std::printf("%-34s %-24s %10s %10s %10s %8s\n", label.c_str(), input.c_str(), num("%.3g", e.max_abs).c_str(),
              num("%.3g", e.mae).c_str(), num("%.3g", e.rmse).c_str(), num("%.2f", e.psnr_db).c_str());
}

struct Target {
  std::string role_name;                   // "decoder" / "encoder"
  std::unique_ptr<taec::Model> reference;  // the model whose reference engine is the truth
  std::unique_ptr<taec::Model> candidate;  // plans under test are compiled from this one
  std::unique_ptr<taec::Calibration> calibration;  // int8, made at first use
};

std::unique_ptr<taec::Model> load(const std::string& path, const std::string& variant, taec_role role) {
  taec_load_options options = load_options(variant, role);
  return std::make_unique<taec::Model>(path, &options);
}

// Runs `plan` over the set, prints a row per input and a verdict; true if within tolerance.
bool check_plan(const taec_validation_set* set, taec::Plan& plan, double tolerance, const std::string& label) {
  taec_validation* raw = nullptr;
  taec::check(taec_validate_plan(set, plan.get(), tolerance, &raw));
  std::unique_ptr<taec_validation, void (*)(taec_validation*)> v(raw, taec_validation_free);
  taec_validation_summary s;
  taec::check(taec_validation_get_summary(v.get(), &s));
  for (size_t i = 0; i < s.case_count; ++i) {
    taec_validation_case c;
    taec::check(taec_validation_get_case(v.get(), i, &c));
    print_row(label, c.input, c.error);
  }
  print_row(label, "WORST", s.worst);
  std::printf("%-34s %s: max|err| %s %s tolerance %g\n", label.c_str(), s.passed ? "PASS" : "FAIL", num("%.3g", s.worst.max_abs).c_str(),
              s.passed ? "<=" : "over", s.tolerance);
  std::fflush(stdout);
  return s.passed;
}

// The inputs' recipe; `cstrs` keeps the path pointers alive for as long as the options are used.
taec_validation_options validation_options(const ValidateArgs& args, const std::vector<std::string>& image_paths,
                                           const taec::Model* encoder, std::vector<const char*>* cstrs) {
  for (const auto& p : image_paths) cstrs->push_back(p.c_str());
  taec_validation_options vo;
  taec_validation_options_init(&vo);
  vo.random_count = args.random_count;
  if (args.seed_given) vo.seed = args.seed;
  vo.image_paths = cstrs->data();
  vo.image_count = cstrs->size();
  vo.encoder = encoder ? encoder->get() : nullptr;
  return vo;
}

using SetPtr = std::unique_ptr<taec_validation_set, void (*)(taec_validation_set*)>;

// A package's plans against the reference engine on the package's own weights (the pack already
// compared them with the source checkpoint; this re-checks what is on disk, on this CPU). Sizes
// default to the package's smallest: the reference engine is slow at large sizes.
int run_validate_package(const ValidateArgs& args, const std::vector<std::string>& image_paths) {
  taec::Package pkg(args.weights);
  const taec_package_info info = pkg.info();
  taec::Model model = pkg.model();
  std::vector<Size> sizes;
  if (args.sizes_given) {
    sizes = parse_sizes(args.sizes);
  } else {
    Size smallest{1 << 30, 1 << 30};
    for (size_t i = 0; i < info.size_count; ++i) {
      const auto s = pkg.size(i);
      if (static_cast<int64_t>(s.height) * s.width < static_cast<int64_t>(smallest.height) * smallest.width) smallest = {s.height, s.width};
    }
    sizes.push_back(smallest);
  }
  std::unique_ptr<taec::Model> encoder;
  if (info.role == TAEC_ROLE_DECODER && !image_paths.empty()) {
    const std::string path = find_encoder_weights(info.model_name, args.encoder);
    if (path.empty()) {
      return fail(TAEC_ERR_INVALID_ARGUMENT, "real-image latents need " + std::string(info.model_name) + "'s encoder; pass --encoder");
    }
    encoder = load(path, "", TAEC_ROLE_ENCODER);
  }
  std::vector<const char*> image_cstrs;
  const taec_validation_options vo = validation_options(args, image_paths, encoder.get(), &image_cstrs);
  const char* precision = precision_label(info.precision);
  bool all_passed = true;
  std::printf("%-34s %-24s %10s %10s %10s %8s\n", "plan", "input", "max|err|", "MAE", "RMSE", "PSNR dB");
  for (const Size& size : sizes) {
    std::fprintf(stderr, "%s %dx%d: %d random + %zu image inputs, running the reference engine...\n", args.weights.c_str(),
                 size.height, size.width, args.random_count, image_paths.size());
    taec_validation_set* raw_set = nullptr;
    taec::check(taec_validation_set_create(model.get(), size.height, size.width, &vo, &raw_set));
    SetPtr set(raw_set, taec_validation_set_free);
    taec_plan_options opts;
    taec_plan_options_init(&opts);
    opts.threads = args.threads;
    opts.nonfinite = TAEC_NONFINITE_PROPAGATE;
    taec::Plan plan = pkg.load_plan(size.height, size.width, &opts);
    const double tolerance = args.tolerance >= 0 ? args.tolerance : taec_default_tolerance(info.variant, info.precision);
    const std::string label = std::string("package ") + info.variant + " " + std::to_string(size.height) + "x" +
                              std::to_string(size.width) + " " + precision;
    all_passed = check_plan(set.get(), plan, tolerance, label) && all_passed;
  }
  if (!all_passed) {
    std::fprintf(stderr, "taec: validation FAILED: a plan is over its tolerance (see FAIL above)\n");
    return kExitOverTolerance;
  }
  return kExitOk;
}

int run_validate(const ValidateArgs& args) {
  std::vector<std::string> images = args.images;
  if (images.empty()) {
    if (const char* dir = std::getenv("TAEC_IMAGE_DIR"); dir && *dir) images.push_back(dir);
  }
  const std::vector<std::string> image_paths = collect_images(images);
  // A package is a directory or a .zip; weights are files or names.
  if (std::filesystem::is_directory(args.weights) || std::filesystem::path(args.weights).extension() == ".zip") {
    return run_validate_package(args, image_paths);
  }
  const std::vector<Size> sizes = parse_sizes(args.sizes);
  const auto precisions = parse_precisions(args.precisions);

  // Which roles to check, and the weights of each.
  std::string decoder_path, encoder_path;
  const bool is_path = std::filesystem::exists(args.weights);
  if (is_path) {
    const taec::Model probe(args.weights, nullptr);
    (probe.info().role == TAEC_ROLE_DECODER ? decoder_path : encoder_path) = args.weights;
  } else {
    decoder_path = taec::resolve_weights(args.weights, TAEC_ROLE_DECODER);
  }
  if (encoder_path.empty()) encoder_path = find_encoder_weights(args.weights, args.encoder);
  const bool want_decoder = args.role != "encoder" && !decoder_path.empty();
  const bool want_encoder =
      args.role == "encoder" || args.role == "both" || (args.role == "auto" && !encoder_path.empty());
  if (args.role == "decoder" && decoder_path.empty())
    return fail(TAEC_ERR_INVALID_ARGUMENT, args.weights + " is not a decoder");
  if (want_encoder && encoder_path.empty()) {
    return fail(TAEC_ERR_INVALID_ARGUMENT, "no encoder found for " + args.weights + "; pass --encoder");
  }
  std::unique_ptr<taec::Model> encoder_model;
  if (!encoder_path.empty()) encoder_model = load(encoder_path, args.variant, TAEC_ROLE_ENCODER);
  if (want_decoder && !image_paths.empty() && !encoder_model) {
    return fail(TAEC_ERR_INVALID_ARGUMENT, "real-image latents need " + args.weights + "'s encoder; pass --encoder");
  }
  std::unique_ptr<taec::Model> candidate;
  if (!args.candidate.empty()) candidate = load(args.candidate, args.variant, TAEC_ROLE_ANY);

  std::vector<Target> targets;
  if (want_decoder) targets.push_back({"decoder", load(decoder_path, args.variant, TAEC_ROLE_DECODER), nullptr});
  if (want_encoder) targets.push_back({"encoder", load(encoder_path, args.variant, TAEC_ROLE_ENCODER), nullptr});
  if (candidate) {
    // A candidate checkpoint replaces the plans of its own role only.
    const std::string role = candidate->info().role == TAEC_ROLE_DECODER ? "decoder" : "encoder";
    std::erase_if(targets, [&](const Target& t) { return t.role_name != role; });
    if (targets.empty()) {
      return fail(TAEC_ERR_INVALID_ARGUMENT, args.candidate + " is a " + role + ", but " + args.weights + " has no " +
                                                 role + " to check it against");
    }
    targets[0].candidate = std::move(candidate);
  }
  if (image_paths.empty()) {
    std::fprintf(stderr,
                 "taec: warning: no real images (pass --images DIR or set TAEC_IMAGE_DIR): "
                 "validating on random inputs only\n");
  }

  std::vector<const char*> image_cstrs;
  const taec_validation_options vo = validation_options(args, image_paths, encoder_model.get(), &image_cstrs);

  bool all_passed = true;
  std::printf("%-34s %-24s %10s %10s %10s %8s\n", "plan", "input", "max|err|", "MAE", "RMSE", "PSNR dB");
  for (Target& t : targets) {
    const taec_model_info info = t.reference->info();
    const taec::Model& cand = t.candidate ? *t.candidate : *t.reference;
    for (const Size& size : sizes) {
      std::fprintf(stderr, "%s %s %dx%d: %d random + %zu image inputs, running the reference engine...\n", info.variant,
                   t.role_name.c_str(), size.height, size.width, args.random_count, image_paths.size());
      taec_validation_set* raw_set = nullptr;
      taec::check(taec_validation_set_create(t.reference->get(), size.height, size.width, &vo, &raw_set));
      std::unique_ptr<taec_validation_set, void (*)(taec_validation_set*)> set(raw_set, taec_validation_set_free);
      for (const auto& [name, precision] : precisions) {
        if (precision == TAEC_PRECISION_INT8 && t.role_name == "encoder") continue;  // int8 plans are decoders
        taec_plan_options opts;
        taec_plan_options_init(&opts);
        if (precision == TAEC_PRECISION_INT8) {
          // Calibrated on the validation photos, as `taec pack --precision int8` does.
          if (image_paths.empty() || !encoder_model) {
            return fail(TAEC_ERR_INVALID_ARGUMENT, "int8 calibrates on photos: pass --images (and the encoder)");
          }
          if (!t.calibration) {
            t.calibration = std::make_unique<taec::Calibration>(
                taec::Calibration::from_images(cand, *encoder_model, image_paths, 512, args.threads));
          }
          opts.calibration = t.calibration->get();
        }
        opts.image_height = size.height;
        opts.image_width = size.width;
        opts.precision = precision;
        opts.threads = args.threads;
        opts.nonfinite = TAEC_NONFINITE_PROPAGATE;  // a NaN output is reported, not refused
        taec::Plan plan(cand, opts);
        const double tolerance = args.tolerance >= 0 ? args.tolerance : taec_default_tolerance(info.variant, precision);
        const std::string label = std::string(info.variant) + " " + t.role_name + " " + std::to_string(size.height) +
                                  "x" + std::to_string(size.width) + " " + name +
                                  (precision == TAEC_PRECISION_BF16 && t.role_name == "encoder" ? "(=fp32)" : "");
        const bool passed = check_plan(set.get(), plan, tolerance, label);
        all_passed = all_passed && passed;
      }
    }
  }
  if (!all_passed) {
    std::fprintf(stderr, "taec: validation FAILED: a plan is over its tolerance (see FAIL above)\n");
    return kExitOverTolerance;
  }
  return kExitOk;
}

}  // namespace

Command add_validate_command(CLI::App& app) {
  auto args = std::make_shared<ValidateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "validate",
      "Check compiled plans against the fp32 reference on seeded random inputs and real images; "
      "exit 3 if a plan is over its tolerance (FP16-class 0.05 taef2 / 0.03 others, fp32 1e-3, on max |err|)");
  cmd->add_option("weights", args->weights,
                  "Model name (taef2, taef1, … : checks its decoder and encoder), a decoder/encoder weight file, or a "
                  "package (directory or .zip: checks its plans)")
      ->required();
  cmd->add_option("--sizes", args->sizes,
                  "Image sizes, comma-separated, N or HxW (default 256, for a package its smallest size; the "
                  "reference engine takes ~10 s per input at 512 for taef2)")
      ->each([args](const std::string&) { args->sizes_given = true; });
  cmd->add_option("--precision", args->precisions,
                  "Precisions to check, comma-separated: fp32,bf16,int8,reference (int8: decoders, calibrated on --images)");
  cmd->add_option("--images", args->images,
                  "Real images or folders of them (default $TAEC_IMAGE_DIR); fitted to each size, and for a decoder "
                  "encoded by the model's own fp32 encoder");
  cmd->add_option("--random", args->random_count, "Seeded random inputs per size (default 2)")
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--seed", args->seed, "Seed of the random inputs")->each([args](const std::string&) {
    args->seed_given = true;
  });
  cmd->add_option("--tolerance", args->tolerance, "Max |err| allowed for every precision (default: per precision)");
  cmd->add_option("--role", args->role, "auto|decoder|encoder|both: which plans to check")
      ->check(CLI::IsMember({"auto", "decoder", "encoder", "both"}));
  cmd->add_option("--encoder", args->encoder, "Encoder weights (default: found beside the decoder or by name)");
  cmd->add_option("--candidate", args->candidate,
                  "Compile the checked plans from these weights instead (e.g. a re-exported or modified checkpoint); "
                  "its role selects what is checked");
  cmd->add_option("--variant", args->variant, "Override the detected variant");
  cmd->add_option("--threads", args->threads, "Threads of the checked plans (0 = all cores)")
      ->check(CLI::NonNegativeNumber);
  return {cmd, [args] { return run_validate(*args); }};
}

}  // namespace taec_cli

// taec export coreml WEIGHTS --sizes 768,1024 --out DIR: Core ML .mlpackage export through the
// C API of the export library (include/taec/taec_coreml.h).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cli_util.h"
#include "commands.h"
#include "taec/taec_coreml.h"

namespace taec_cli {
namespace {

struct ExportArgs {
  std::string weights;
  std::string sizes = "1024";
  std::string layout = "nhwc";
  std::string io = "fp16";
  std::string out;
  std::string variant;
  std::string weights_storage = "none";
  int chunk = 1;
  std::string state = "tensors";
  bool multifunction = false;
  bool enumerated = false;
  bool print_mil = false;
};

// "768,1024x1536" -> {768, 768, 1024, 1536} (height, width pairs).
bool parse_sizes(const std::string& text, std::vector<int>& sizes, std::string& error) {
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    const size_t x = item.find('x');
    const std::string hs = item.substr(0, x), ws = x == std::string::npos ? hs : item.substr(x + 1);
    auto number = [](const std::string& s, int& v) {
      if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos) return false;
      v = std::stoi(s);
      return v > 0;
    };
    int height = 0, width = 0;
    if (!number(hs, height) || !number(ws, width)) {
      error = "--sizes: \"" + item + "\" is not a size (N or HxW pixels, comma-separated)";
      return false;
    }
    sizes.push_back(height);
    sizes.push_back(width);
    start = comma + 1;
  }
  return true;
}

int run_export(const ExportArgs& args) {
  std::vector<int> sizes;
  std::string error;
  if (!parse_sizes(args.sizes, sizes, error)) return fail(TAEC_ERR_INVALID_ARGUMENT, error);
  if (args.multifunction && args.enumerated) {
    return fail(TAEC_ERR_INVALID_ARGUMENT, "--multifunction and --enumerated exclude each other");
  }
  if (!args.print_mil && args.out.empty()) return fail(TAEC_ERR_INVALID_ARGUMENT, "--out DIR is required");
  taec_coreml_options options;
  taec_coreml_options_init(&options);
  options.sizes = sizes.data();
  options.size_count = sizes.size() / 2;
  options.layout = args.layout == "nhwc" ? TAEC_LAYOUT_NHWC : TAEC_LAYOUT_NCHW;
  options.io_dtype = args.io == "fp32" ? TAEC_DTYPE_F32 : TAEC_DTYPE_F16;
  options.packaging = args.multifunction ? TAEC_COREML_MULTIFUNCTION
                      : args.enumerated  ? TAEC_COREML_ENUMERATED
                                         : TAEC_COREML_PER_SIZE;
  options.variant = args.variant.empty() ? nullptr : args.variant.c_str();
  options.out_dir = args.out.c_str();
  options.print_mil = args.print_mil;
  options.weights = args.weights_storage.c_str();
  options.chunk_latents = args.chunk;
  options.state_style = args.state == "stateful" ? TAEC_COREML_STATE_STATEFUL : TAEC_COREML_STATE_TENSORS;

  const std::string path = taec::resolve_weights(args.weights, TAEC_ROLE_DECODER);
  char* report = nullptr;
  const taec_status status = taec_coreml_export(path.c_str(), &options, &report);
  if (status != TAEC_OK) return fail(status, taec_coreml_last_error());
  const std::unique_ptr<char, decltype(&std::free)> owned(report, &std::free);
  if (args.print_mil) {
    std::fputs(report, stdout);
    return kExitOk;
  }
  // One line per package: PATH, BYTES, SHA256, SUMMARY (tab-separated).
  std::string text(report);
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\n', start);
    std::string line = text.substr(start, end - start);
    std::vector<std::string> f;
    for (size_t a = 0;;) {
      const size_t tab = line.find('\t', a);
      f.push_back(line.substr(a, tab - a));
      if (tab == std::string::npos) break;
      a = tab + 1;
    }
    if (f.size() == 4) {
      std::printf("wrote %s: %s, %s bytes, weight.bin sha256 %s\n", f[0].c_str(), f[3].c_str(), f[1].c_str(),
                  f[2].c_str());
    }
    start = end == std::string::npos ? text.size() : end + 1;
  }
  return kExitOk;
}

}  // namespace

Command add_export_command(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* exp = app.add_subcommand("export", "Export a model to another runtime's format");
  exp->require_subcommand(1);
  CLI::App* cmd = exp->add_subcommand(
      "coreml", "Core ML ML Program .mlpackage (iOS18/macOS15: spec 9, CoreML8, fp16) of a decoder");
  cmd->add_option("weights", args->weights, "Decoder weights (.pth/.safetensors; TAEHV files: their decoder) or model name (taef2, taef1, …)")
      ->required();
  cmd->add_option("--sizes", args->sizes, "Image (video: frame) sizes in pixels, multiples of the spatial factor (8, TAEHV 8 x patch): N or HxW, comma-separated")
      ->capture_default_str();
  cmd->add_option("--layout", args->layout, "nhwc|nchw layout of the latent input and image output")
      ->check(CLI::IsMember({"nhwc", "nchw"}))
      ->capture_default_str();
  cmd->add_option("--io", args->io, "fp16|fp32 element type of input and output (compute is fp16)")
      ->check(CLI::IsMember({"fp16", "fp32"}))
      ->capture_default_str();
  cmd->add_option("-o,--out", args->out, "Directory for the .mlpackage(s); created if missing");
  cmd->add_option("--variant", args->variant, "Override the detected variant");
  add_weight_storage_option(cmd, args->weights_storage,
                            "conv weights as fp16 consts, or compressed with the iOS18 ops (quantized as `taec pack` does)");
  cmd->add_option("--chunk", args->chunk, "Video decoders: latents per call (1..16); frames per call = chunk x time factor")
      ->capture_default_str();
  cmd->add_option("--state", args->state,
                  "Video decoders: tensors (state inputs and NAME_next outputs the app feeds back) or stateful "
                  "(iOS18 states updated in place)")
      ->check(CLI::IsMember({"tensors", "stateful"}))
      ->capture_default_str();
  cmd->add_flag("--multifunction", args->multifunction,
                "One package, one fixed-shape function per size (r768, …) sharing one weight.bin (iOS18)");
  cmd->add_flag("--enumerated", args->enumerated,
                "One package, one function with Core ML enumerated shapes for the sizes (the flexible alternative)");
  cmd->add_flag("--print-mil", args->print_mil, "Print the program as MIL text instead of writing packages");
  return {cmd, [args] { return run_export(*args); }};
}

}  // namespace taec_cli

#include "cli_util.h"

#include <charconv>
#include <cstdint>
#include <cstdio>

namespace taec_cli {

int exit_code_for(taec_status status) {
  switch (status) {
    case TAEC_OK: return kExitOk;
    case TAEC_ERR_OUT_OF_MEMORY:
    case TAEC_ERR_INTERNAL: return kExitInternal;
    default: return kExitBadInput;
  }
}

namespace {

std::string escaped(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

int fail(taec_status status, const std::string& message) {
  std::fprintf(stderr, "taec: error: %s\n", escaped(message).c_str());
  return exit_code_for(status);
}

void warn(const std::string& message) { std::fprintf(stderr, "taec: warning: %s\n", escaped(message).c_str()); }

std::string command_line(int argc, char** argv) {
  std::string line = "taec";
  for (int i = 1; i < argc && line.size() < 200; ++i) line += std::string(" ") + argv[i];
  if (line.size() > 200) line = line.substr(0, 200) + "…";
  return escaped(line);
}

taec_layout choose_layout(LayoutChoice choice, const std::vector<int64_t>& shape, int channels,
                          const std::string& what) {
  if (choice == LayoutChoice::nchw) return TAEC_LAYOUT_NCHW;
  if (choice == LayoutChoice::nhwc) return TAEC_LAYOUT_NHWC;
  const bool nchw = shape[1] == channels;
  const bool nhwc = shape[3] == channels;
  if (nchw && nhwc) {
    throw taec::Error(TAEC_ERR_INVALID_ARGUMENT, what + ": both NCHW and NHWC readings have " +
                                                     std::to_string(channels) +
                                                     " channels; pass --layout nchw or --layout nhwc");
  }
  if (nhwc) return TAEC_LAYOUT_NHWC;
  return TAEC_LAYOUT_NCHW;  // also when neither fits: the shape check then names the mismatch
}

// [C,H,W] <-> [H,W,C]: `from` is the layout of `in`; `out` gets the other one.
void convert_layout(const float* in, int c, int h, int w, taec_layout from, float* out) {
  const size_t plane = static_cast<size_t>(h) * w;
  for (int ch = 0; ch < c; ++ch)
    for (size_t i = 0; i < plane; ++i) {
      if (from == TAEC_LAYOUT_NCHW) {
        out[i * c + ch] = in[ch * plane + i];
      } else {
        out[ch * plane + i] = in[i * c + ch];
      }
    }
}

std::string batch_path(const std::string& path, int64_t index, int64_t batch) {
  if (batch == 1) return path;
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  const std::string suffix = "_" + std::to_string(index);
  return has_ext ? path.substr(0, dot) + suffix + path.substr(dot) : path + suffix;
}

void add_precision_option(CLI::App* cmd, taec_precision& precision, bool with_int8) {
  std::map<std::string, taec_precision> names{
      {"fp32", TAEC_PRECISION_FP32}, {"bf16", TAEC_PRECISION_BF16}, {"reference", TAEC_PRECISION_REFERENCE}};
  if (with_int8) names["int8"] = TAEC_PRECISION_INT8;
  cmd->add_option("--precision", precision,
                  std::string("fp32 (compiled, default) | bf16 (FP16-class: bf16 Winograd products) | reference (plain fp32 oracle)") +
                      (with_int8 ? " | int8 (int8 weights and activations, calibrated on --calibration-images)" : ""))
      ->transform(CLI::CheckedTransformer(names));
}

void add_weight_storage_option(CLI::App* cmd, std::string& storage, const std::string& description) {
  cmd->add_option("--weights", storage, "none (default) | int8 | palette8 | palette4: " + description)
      ->check(CLI::IsMember({"none", "int8", "palette8", "palette4"}));
}

void add_tune_option(CLI::App* cmd, taec_tune& tune) {
  const std::map<std::string, taec_tune> names{{"off", TAEC_TUNE_OFF}, {"fast", TAEC_TUNE_FAST}, {"full", TAEC_TUNE_FULL}};
  cmd->add_option("--tune", tune,
                  "off | fast | full: each conv's algorithm measured on this CPU (fast: once per conv shape, remembered in the tune "
                  "cache; full: longer, replacing fast entries; off: the built-in defaults). Default $TAEC_TUNE, else fast")
      ->transform(CLI::CheckedTransformer(names));
}

const char* precision_label(taec_precision precision) {
  switch (precision) {
    case TAEC_PRECISION_REFERENCE: return "reference";
    case TAEC_PRECISION_FP32: return "fp32";
    case TAEC_PRECISION_BF16: return "bf16";
    case TAEC_PRECISION_INT8: return "int8";
  }
  return "?";
}

void print_plan_choice(const taec::Plan& plan) {
  const taec_plan_stats s = plan.stats();
  std::fprintf(stderr, "plan: %s engine, %s (%s), kernels %s, %d threads, %zu steps, arena %.1f MiB, weights %.1f MiB\n",
               s.engine, s.isa, s.isa_note[0] ? s.isa_note : "fixed", s.kernel, s.threads, s.steps,
               s.arena_bytes / 1048576.0, s.weight_bytes / 1048576.0);
  if (s.tuning[0] != 0) std::fprintf(stderr, "plan: %s\n", s.tuning);
}

taec_load_options load_options(const std::string& variant, taec_role role) {
  taec_load_options options;
  taec_load_options_init(&options);
  options.variant = variant.empty() ? nullptr : variant.c_str();
  options.role = role;
  return options;
}

bool parse_image_size(const std::string& text, int* height, int* width) {
  auto side = [](const char* begin, const char* end, int* out) {
    int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(begin, end, v);
    if (ec != std::errc() || ptr != end || v <= 0 || v > INT32_MAX) return false;
    *out = static_cast<int>(v);
    return true;
  };
  const char* begin = text.data();
  const char* end = begin + text.size();
  const size_t x = text.find_first_of("xX");
  if (x == std::string::npos) {
    if (!side(begin, end, height)) return false;
    *width = *height;
    return true;
  }
  return side(begin, begin + x, height) && side(begin + x + 1, end, width);
}

}  // namespace taec_cli

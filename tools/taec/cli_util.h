// Helpers shared by the CLI subcommands. The CLI uses only the public API (taec.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "taec/taec.hpp"

namespace taec_cli {

// Exit codes (documented in README.md): 0 success; 2 bad input or usage (the message says what);
// 1 internal failure or out of memory.
constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;
constexpr int kExitBadInput = 2;

int exit_code_for(taec_status status);

// Prints "taec: error: <message>" to stderr and returns the exit code for `status`. Control
// characters in the message (from file or tensor names) are printed escaped.
int fail(taec_status status, const std::string& message);

// Prints "taec: warning: <message>" (escaped likewise).
void warn(const std::string& message);

// "taec decode a.pth b.npy …" for messages: the arguments, escaped, at most ~200 bytes.
std::string command_line(int argc, char** argv);

// "auto" resolves to a layout from the array's shape where the channel count tells; error where
// both readings are possible.
enum class LayoutChoice { automatic, nchw, nhwc };
taec_layout choose_layout(LayoutChoice choice, const std::vector<int64_t>& shape, int channels,
                          const std::string& what);

// [C,H,W] <-> [H,W,C]: `from` is the layout of `in`; `out` gets the other one.
void convert_layout(const float* in, int c, int h, int w, taec_layout from, float* out);

// "out.png" -> "out_3.png" for batch item 3 of several; unchanged for a batch of one.
std::string batch_path(const std::string& path, int64_t index, int64_t batch);

// --precision fp32|bf16|reference.
// --precision fp32|bf16|reference, and int8 where `with_int8` (decoders: calibrated, see
// calibrate_on_images).
void add_precision_option(CLI::App* cmd, taec_precision& precision, bool with_int8 = false);

// --weights none|int8|palette8|palette4: how the conv weights are stored, one set of names for
// `taec pack` and `taec export coreml` (both pass the name on to their C API's `weights`).
void add_weight_storage_option(CLI::App* cmd, std::string& storage, const std::string& description);

// "fp32", "bf16", "int8", "reference".
// --tune off|fast|full (taec_tune; unset: TAEC_TUNE_DEFAULT).
void add_tune_option(CLI::App* cmd, taec_tune& tune);

const char* precision_label(taec_precision precision);

// Prints the plan's compile-time choices (engine, ISA and why, kernels, memory) to stderr.
void print_plan_choice(const taec::Plan& plan);

taec_load_options load_options(const std::string& variant, taec_role role);

// "1024" -> 1024x1024; "768x1344" -> height 768, width 1344. False if neither, or if a side is
// not a positive number below 2^31 (the library then refuses sizes outside its range by value).
bool parse_image_size(const std::string& text, int* height, int* width);

}  // namespace taec_cli

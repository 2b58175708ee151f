// How a convolution may run, and the per-conv choices a plan is compiled with. A conv that has
// several correct ways (a 3x3 stride-1 conv: Winograd F(6x6) or F(4x4) in fp32, F(4x4) with bf16
// products in an FP16-class plan, or direct; an upsample conv: phase-Winograd or direct phases)
// lists them as candidates; which one is fastest depends on the CPU, so it is measured
// (plan/tune.h) or taken from a package's plan file, never guessed from the instruction set.
#pragma once

#include <map>
#include <string>

namespace taec {

enum class ConvAlgo { direct, winograd_f4, winograd_f6, winograd_f4_bf16 };

const char* conv_algo_name(ConvAlgo algo);
// False for a name that is not one of conv_algo_name's.
bool parse_conv_algo(const std::string& name, ConvAlgo* out);
std::string conv_algo_names();  // "direct, winograd_f4, ...", for messages

// Graph node name -> algorithm. A name missing, or an algorithm the conv cannot run on this CPU,
// leaves that conv at the lowering's default.
using ConvChoices = std::map<std::string, ConvAlgo>;

// off: the lowering's defaults; fast: measure each conv's candidates once (a band of the plan's
// width), then take them from the cache; full: measure again, longer, and replace fast entries.
enum class TuneMode { off, fast, full };

const char* tune_mode_name(TuneMode mode);
bool parse_tune_mode(const std::string& name, TuneMode* out);
// $TAEC_TUNE when it names a mode, else fast: what a plan gets when its caller does not say.
TuneMode default_tune_mode();

}  // namespace taec

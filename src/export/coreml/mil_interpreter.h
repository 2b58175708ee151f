// Test support: runs one function of a read-back ML Program with the reference kernels, rounding
// every fp16-typed op output to fp16 (round to nearest even) the way the device stores it. The
// arithmetic of each op is fp32 (reductions in double), so this bounds what fp16 storage between
// ops costs; it does not model fp16 accumulation inside the device's kernels.
// Supports exactly the op types taec's exporter emits (mil_validate.h), batch 1, states included
// (read_state returns the state's tensor, coreml_update_state replaces it), and the
// iOS18 weight decompression ops, which it expands the way coremltools' reference decompress()
// does (LUT per block of indices; scale * (data - offset) per block), rounding to fp16 like any
// other fp16 op output.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "export/coreml/package_reader.h"

namespace taec::coreml {

struct HostTensor {
  std::vector<int64_t> dims;
  std::vector<float> data;  // C order
};

using NamedTensors = std::map<std::string, HostTensor>;

// Runs a function with any inputs: `inputs` holds every non-state input by name, `states` every
// iOS18 state input (state<tensor> inputs; may be null where there are none), which
// coreml_update_state overwrites in place as Core ML updates an MLState. Returns every block
// output by name. Video decoders: the tensor-style states go in and come out (NAME_next) as
// ordinary tensors.
Result<NamedTensors> run_function(const ReadPackage& package, const std::string& function_name, const NamedTensors& inputs,
                                  NamedTensors* states);

// input: the function's single input (`latent`), in its layout; any enumerated shape for a flexible
// function. Returns the function's single output.
Result<HostTensor> interpret_function(const ReadPackage& package, const std::string& function_name,
                                      const HostTensor& input);

// The dense tensor one constexpr op of a validated package stands for (its output type's dtype,
// fp16 rounded), e.g. to compare a compressed weight with what taec's own quantizers produce.
Result<HostTensor> materialize_constexpr(const ReadPackage& package, const mil::Operation& op);

}  // namespace taec::coreml

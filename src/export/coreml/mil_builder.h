// Lowers a decoder Graph (graph/graph.h) to one MIL function of an ML Program, op for op the way
// coremltools' torch frontend and its default passes lower taesd.py (shared docs COREML.md
// section 5): NCHW fp16 inside, a transpose at each end for NHWC I/O, a cast at each end for fp32
// I/O, GroupNorm as reshape/reduce_mean/sub/square/add/sqrt/real_div/reshape + batch_norm.
// Consts are emitted right before their first consumer so that blobs land in weight.bin in op
// order, which makes the FLUX.2 file byte-identical to the one coremltools writes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "export/coreml/blob_storage.h"
#include "export/coreml/mil_types.h"
#include "graph/model.h"

namespace taec::coreml {

constexpr const char* kInputName = "latent";
constexpr const char* kOutputName = "image";
constexpr const char* kOpset = "CoreML8";  // fixed by specification version 9 (iOS18/macOS15)
constexpr int kSpecificationVersion = 9;

struct LoweringOptions {
  bool nhwc = true;      // model input/output in NHWC (a transpose at each end), else NCHW
  bool fp32_io = false;  // fp32 model input/output (a cast at each end), else fp16
};

// The weight.bin of one package, shared by all its functions. A const with 100 or more elements
// is stored once per distinct content (coremltools' const_deduplication, which also shares weights
// across the functions of a multifunction program); smaller blob consts once per const name.
class WeightStore {
 public:
  // fp16 halves of one const; returns the offset of its blob's metadata record.
  uint64_t add_fp16(const std::string& const_name, const std::vector<uint16_t>& halves);
  const BlobWriter& blobs() const { return writer_; }

 private:
  BlobWriter writer_;
  std::map<std::string, uint64_t> offset_by_key_;
};

struct LoweredFunction {
  mil::Function function;
  std::vector<int64_t> input_dims;   // of `latent`, in the I/O layout; kUnknownDim = flexible
  std::vector<int64_t> output_dims;  // of `image`
};

// image_height/width: the fixed output size in pixels (multiples of the spatial factor), or both 0
// for a function whose spatial dims are flexible (enumerated shapes).
Result<LoweredFunction> lower_decoder(const Model& model, int image_height, int image_width,
                                      const LoweringOptions& options, WeightStore& weights);

}  // namespace taec::coreml

// Lowers a decoder Graph (graph/graph.h) to one MIL function of an ML Program, op for op the way
// coremltools' torch frontend and its default passes lower taesd.py (shared docs COREML.md
// section 5): NCHW fp16 inside, a transpose at each end for NHWC I/O, a cast at each end for fp32
// I/O, GroupNorm as reshape/reduce_mean/sub/square/add/sqrt/real_div/reshape + batch_norm.
// Consts are emitted right before their first consumer so that blobs land in weight.bin in op
// order, which makes the FLUX.2 file byte-identical to the one coremltools writes.
//
// Compressed conv weights (weight_compression.h) take the place of the weight const as the
// iOS18 op coremltools' compression passes put there, serialized as its MIL backend does for
// iOS18 constexpr ops (coremltools/converters/mil/backend/mil/load.py, translate_constexpr):
// the op's inputs are bound directly to values (blob references, or immediate values under 10
// elements), not to const ops, and it carries only a `name` attribute:
//
//   tensor<fp16, [O, I, KH, KW]> W_palettized = constexpr_lut_to_dense(
//       indices = tensor<uint4|uint8, [O, I, KH, KW]>(BLOBFILE), lut = tensor<fp16, [G, 1, 1, 1, 2^bits, 1]>(…))
//   tensor<fp16, [O, I, KH, KW]> W_quantized = constexpr_blockwise_shift_scale(
//       data = tensor<int8, [O, I, KH, KW]>(BLOBFILE), scale = tensor<fp16, [O, 1, 1, 1]>(…))
//
// with W the fp16 const's name; blobs in input order (indices then lut, data then scale).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "export/coreml/blob_storage.h"
#include "export/coreml/mil_types.h"
#include "export/coreml/weight_compression.h"
#include "graph/model.h"

namespace taec::coreml {

constexpr const char* kInputName = "latent";
constexpr const char* kOutputName = "image";
constexpr const char* kVideoInputName = "latents";   // video decoders: a chunk of K latents
constexpr const char* kVideoOutputName = "frames";   // and the raw frames they decode to
constexpr const char* kOpset = "CoreML8";  // fixed by specification version 9 (iOS18/macOS15)
constexpr int kSpecificationVersion = 9;

struct LoweringOptions {
  bool nhwc = true;      // model input/output in NHWC (a transpose at each end), else NCHW
  bool fp32_io = false;  // fp32 model input/output (a cast at each end), else fp16
};

// The weight.bin of one package, shared by all its functions, and how the conv weights are stored
// in it (`compressed`: null or method none = fp16). A blob of 100 or more elements is stored once
// per distinct dtype and content (coremltools' const_deduplication, which also shares weights
// across the functions of a multifunction program); smaller blobs once per const name.
class WeightStore {
 public:
  explicit WeightStore(const CompressedWeights* compressed = nullptr) : compressed_(compressed) {}

  // fp16 halves of one const; returns the offset of its blob's metadata record.
  uint64_t add_fp16(const std::string& const_name, const std::vector<uint16_t>& halves);
  // Raw little-endian bytes of `elems` elements of `dtype` (sub-byte dtypes packed as
  // blob_storage.h says); returns the offset of its blob's metadata record.
  uint64_t add(const std::string& const_name, BlobDType dtype, const std::string& bytes, int64_t elems);

  // The quantized form of graph weight `index`, or null where it stays fp16.
  const QuantizedTensor* compressed(int index) const { return compressed_ ? compressed_->find(index) : nullptr; }
  const BlobWriter& blobs() const { return writer_; }

 private:
  BlobWriter writer_;
  std::map<std::string, uint64_t> offset_by_key_;
  const CompressedWeights* compressed_;
};

// How a video decoder's MemBlock states travel between calls (docs/COREML_EXPORT.md "Video").
enum class StateStyle {
  tensors,   // one fp16 input and one output (NAME_next) per state; the caller feeds them back
  stateful,  // iOS18 state inputs, read with read_state and written with coreml_update_state
};

struct VideoLowering {
  int chunk_latents = 1;  // K latents per call, 1..kMaxChunkLatents
  StateStyle state = StateStyle::tensors;
};
constexpr int kMaxChunkLatents = 16;

// One MemBlock state of a video function: the block's input at the previous frame of its rate,
// NCHW fp16 [1, C, H, W]; named after the block's concat ("decoder_3_past").
struct StateIo {
  std::string name;
  std::vector<int64_t> dims;
};

struct LoweredFunction {
  mil::Function function;
  std::vector<int64_t> input_dims;   // of `latent`/`latents`, in the I/O layout; kUnknownDim = flexible
  std::vector<int64_t> output_dims;  // of `image`/`frames`
  std::vector<StateIo> states;       // video decoders, in graph order (the function's inputs after `latents`)
};

// image_height/width: the fixed output size in pixels (multiples of the spatial factor), or both 0
// for a function whose spatial dims are flexible (enumerated shapes).
// An image decoder (one latent, stateless).
Result<LoweredFunction> lower_decoder(const Model& model, int image_height, int image_width,
                                      const LoweringOptions& options, WeightStore& weights);

// A TAEHV video decoder at a fixed frame size (pixels), one call = K latents (mil_video.cc):
//   latents [1, K, h, w, Cz] (NHWC) or [1, K, Cz, h, w] (NCHW)  ->  frames [1, K*t, H, W, 3] or
//   [1, K*t, 3, H, W], every raw frame of the K steps (t = time factor, earliest first), plus the
//   states (StateStyle). Each latent runs one stream step: segments in time order, each TGrow
//   sub-frame through the blocks after it, each MemBlock reading its state, then its own input
//   becoming the next frame's state. The frame trim and the zero first state are the caller's.
Result<LoweredFunction> lower_video_decoder(const Model& model, int frame_height, int frame_width,
                                            const LoweringOptions& options, const VideoLowering& video,
                                            WeightStore& weights);

}  // namespace taec::coreml

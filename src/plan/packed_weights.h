// Convolution weights in the layouts the kernels read. Packing depends on the conv, the kernel
// set and the algorithm, never on the image size, so plans for several sizes of one model can
// share one copy (a package compiles all its plans against one PackedWeightCache).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace taec {

struct PackedConv {
  // conv: one matrix; up2x_conv: one 2x2 kernel per output phase (dy*2+dx); Winograd: (M+2)^2
  // 1x1 matrices, in fp32 (`f32`) or, for bf16 products, in the GEMM's bf16 layout (`bf16`).
  std::vector<std::vector<float>> f32;
  std::vector<std::vector<uint16_t>> bf16;
  // int8 precision: s8 matrices packed by pack_conv_weights_i8, and each one's per-output-channel
  // weight scale (symmetric, quant/int8_weights.h).
  std::vector<std::vector<int8_t>> i8;
  std::vector<std::vector<float>> i8_weight_scale;
  std::vector<std::vector<int32_t>> i8_weight_sum;  // per output channel, for a zero point's correction

  size_t bytes() const;
};

// Thread-safe map from a packing key (conv name + kernel set + algorithm) to packed weights.
class PackedWeightCache {
 public:
  std::shared_ptr<const PackedConv> get(const std::string& key, const std::function<PackedConv()>& pack);
  size_t bytes() const;
  size_t entries() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const PackedConv>> entries_;
};

}  // namespace taec

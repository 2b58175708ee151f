#include "plan/packed_weights.h"

namespace taec {

size_t PackedConv::bytes() const {
  size_t b = 0;
  for (const auto& w : f32) b += w.size() * sizeof(float);
  for (const auto& w : bf16) b += w.size() * sizeof(uint16_t);
  for (const auto& w : i8) b += w.size();
  for (const auto& s : i8_weight_scale) b += s.size() * sizeof(float);
  for (const auto& s : i8_weight_sum) b += s.size() * sizeof(int32_t);
  return b;
}

std::shared_ptr<const PackedConv> PackedWeightCache::get(const std::string& key, const std::function<PackedConv()>& pack) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end()) return it->second;
  auto packed = std::make_shared<const PackedConv>(pack());
  entries_.emplace(key, packed);
  return packed;
}

size_t PackedWeightCache::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t b = 0;
  for (const auto& [key, packed] : entries_) b += packed->bytes();
  return b;
}

size_t PackedWeightCache::entries() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

}  // namespace taec

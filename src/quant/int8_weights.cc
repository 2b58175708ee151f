#include "quant/int8_weights.h"

#include <algorithm>
#include <cmath>

namespace taec {

Result<Int8Tensor> quantize_int8(const float* w, const std::vector<int64_t>& shape) {
  const std::string what = "quantize_int8";
  TAEC_ASSIGN_OR_RETURN(const int64_t n, quant_element_count(shape, what));
  const int64_t channels = shape[0];
  const int64_t per_channel = n / channels;
  Int8Tensor t;
  t.shape = shape;
  t.scales.resize(channels);
  t.values.resize(n);
  for (int64_t o = 0; o < channels; ++o) {
    const float* wo = w + o * per_channel;
    float max_abs = 0;
    for (int64_t i = 0; i < per_channel; ++i) {
      if (!std::isfinite(wo[i])) {
        return Status(Code::nonfinite, what + ": weight " + std::to_string(o * per_channel + i) +
                                           " (output channel " + std::to_string(o) +
                                           ") is not finite");
      }
      max_abs = std::max(max_abs, std::fabs(wo[i]));
    }
    const float scale = max_abs / 127.0f;
    t.scales[o] = scale;
    int8_t* qo = t.values.data() + o * per_channel;
    for (int64_t i = 0; i < per_channel; ++i) {
      // Clamp because max_abs / scale can round to just above 127.
      const float q = scale > 0 ? std::round(wo[i] / scale) : 0.0f;
      qo[i] = static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f));
    }
  }
  const std::vector<float> restored = dequantize(t);
  t.error = measure_quant_error(w, restored.data(), static_cast<size_t>(n));
  return t;
}

Status check_int8(const Int8Tensor& t, const std::string& what) {
  TAEC_ASSIGN_OR_RETURN(const int64_t n, quant_element_count(t.shape, what));
  if (t.scales.size() != static_cast<size_t>(t.shape[0])) {
    return Status(Code::format, what + ": " + std::to_string(t.scales.size()) +
                                    " scales, expected one per output channel (" +
                                    std::to_string(t.shape[0]) + ")");
  }
  for (size_t o = 0; o < t.scales.size(); ++o) {
    if (!(t.scales[o] >= 0 && std::isfinite(t.scales[o]))) {
      return Status(Code::format, what + ": scale of output channel " + std::to_string(o) +
                                      " is negative, Inf or NaN");
    }
  }
  if (t.values.size() != static_cast<size_t>(n)) {
    return Status(Code::format, what + ": " + std::to_string(t.values.size()) +
                                    " values, expected " + std::to_string(n));
  }
  for (size_t i = 0; i < t.values.size(); ++i) {
    if (t.values[i] == -128) {
      return Status(Code::format, what + ": value " + std::to_string(i) +
                                      " is -128, outside the symmetric range [-127, 127]");
    }
  }
  return ok_status();
}

std::vector<float> dequantize(const Int8Tensor& t) {
  std::vector<float> out(t.values.size());
  const size_t per_channel = t.scales.empty() ? 0 : t.values.size() / t.scales.size();
  for (size_t i = 0; i < out.size(); ++i) out[i] = t.values[i] * t.scales[i / per_channel];
  return out;
}

}  // namespace taec

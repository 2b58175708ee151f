// The byte format of one quantized weight tensor (palettize.h, int8_weights.h), for packages to
// store as a blob. All integers little endian; no alignment is assumed (the reader copies).
//
//   offset  bytes  field
//    0      4      magic "TQW1"
//    4      1      method: 1 = palette, 2 = int8 per output channel
//    5      1      bits: palette 4 or 8; int8 8
//    6      2      reserved, 0
//    8      4      rank r, 1..8
//   12      4      group_channels: palette 0 (one LUT per tensor) or a divisor of dims[0]; int8 1
//   16      4      table_count: palette LUTs = 1 or dims[0] / group_channels; int8 scales = dims[0]
//   20      4      reserved, 0
//   24      8r     dims, u64 each, O first, each >= 1, product n <= 2^28
//   24+8r   8      payload_bytes, must equal the payload size the fields above imply
//   32+8r          payload
//                    palette: table_count * 2^bits fp16 LUT entries (u16), group 0's first; then
//                             ceil(n * bits / 8) packed index bytes (layout: palettize.h)
//                    int8:    table_count fp32 scales, then n int8 values in [-127, 127]
//
// A buffer holds exactly one record: trailing bytes are an error. The reader checks every field
// against the others and against the buffer size before it allocates, then runs check_palettized
// or check_int8 (finite LUT entries and scales, zero padding nibble, no -128), so a hostile
// record yields an error naming the field, never a crash. The measured QuantError is not stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "base/status.h"
#include "quant/int8_weights.h"
#include "quant/palettize.h"

namespace taec {

enum class QuantMethod : uint8_t { palette = 1, int8 = 2 };

using QuantizedTensor = std::variant<PalettizedTensor, Int8Tensor>;

// Fail (invalid_argument) if the tensor does not pass its check_* function.
Result<std::vector<uint8_t>> write_quantized(const PalettizedTensor& t);
Result<std::vector<uint8_t>> write_quantized(const Int8Tensor& t);

// `what` names the blob in messages.
Result<QuantizedTensor> read_quantized(const std::string& what, const uint8_t* data, size_t size);

}  // namespace taec

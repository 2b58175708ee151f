#include "io/npy_writer.h"

#include <cstring>

#include "base/half.h"
#include "io/npy.h"

namespace taec {

Result<NpyWriter> NpyWriter::open(const std::string& path, const std::vector<int64_t>& shape, bool fp16) {
  uint64_t elements = 1;
  for (int64_t d : shape) {
    if (d < 0) return Status(Code::invalid_argument, path + ": negative dimension");
    if (d > 0 && elements > (uint64_t{1} << 50) / static_cast<uint64_t>(d)) {
      return Status(Code::invalid_argument, path + ": shape too large for a .npy");
    }
    elements *= static_cast<uint64_t>(d);
  }
  TAEC_ASSIGN_OR_RETURN(OutputFile file, OutputFile::open(path));
  NpyWriter w(std::move(file));
  w.fp16_ = fp16;
  w.elements_ = elements;
  const std::vector<uint8_t> header = npy_header(shape, fp16);
  w.header_bytes_ = header.size();
  TAEC_RETURN_IF_ERROR(w.file_.write(header.data(), header.size()));
  return w;
}

Status NpyWriter::write(uint64_t offset, const float* data, size_t count) {
  if (offset > elements_ || count > elements_ - offset) {
    return Status(Code::internal, path() + ": write of " + std::to_string(count) + " elements at " + std::to_string(offset) +
                                      " runs past the array's " + std::to_string(elements_));
  }
  const size_t item = fp16_ ? 2 : 4;
  buffer_.resize(count * item);
  if (fp16_) {
    for (size_t i = 0; i < count; ++i) {
      const uint16_t h = float_to_fp16(data[i]);
      std::memcpy(buffer_.data() + 2 * i, &h, 2);
    }
  } else {
    std::memcpy(buffer_.data(), data, count * 4);
  }
  if (!file_.seekable()) {
    if (offset != next_) return Status(Code::invalid_argument, path() + ": not seekable (a pipe or terminal): this layout needs a regular file");
    next_ += count;
    TAEC_RETURN_IF_ERROR(file_.write(buffer_.data(), buffer_.size()));
  } else {
    TAEC_RETURN_IF_ERROR(file_.write_at(header_bytes_ + offset * item, buffer_.data(), buffer_.size()));
  }
  written_ += count;
  return ok_status();
}

Status NpyWriter::commit() {
  if (written_ != elements_) {
    return Status(Code::internal, path() + ": " + std::to_string(written_) + " of " + std::to_string(elements_) + " elements written");
  }
  return file_.commit();
}

}  // namespace taec

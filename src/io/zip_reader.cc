#include "io/zip_reader.h"

#include "base/text.h"

namespace taec {
namespace {

struct FileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

}  // namespace

Result<ZipReader> ZipReader::open(const std::string& path, std::span<const uint8_t> bytes, ZipLimits limits) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (source == nullptr) {
    std::string msg = zip_error_strerror(&error);
    zip_error_fini(&error);
    return Status(Code::out_of_memory, path + ": " + msg);
  }
  zip_t* zip = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (zip == nullptr) {
    zip_source_free(source);
    std::string msg = zip_error_strerror(&error);
    zip_error_fini(&error);
    return Status(Code::format, path + ": not a readable zip archive (" + msg + "; truncated or corrupt?)");
  }
  zip_error_fini(&error);
  ZipReader reader;
  reader.path_ = path;
  reader.bytes_ = bytes;
  reader.limits_ = limits;
  reader.zip_.reset(zip);
  return reader;
}

int64_t ZipReader::entries() const { return zip_get_num_entries(zip_.get(), 0); }

std::string ZipReader::name(int64_t index) const {
  const char* n = zip_get_name(zip_.get(), static_cast<zip_uint64_t>(index), 0);
  return n ? n : "";
}

bool ZipReader::stored(int64_t index) const {
  zip_stat_t st;
  zip_stat_init(&st);
  return zip_stat_index(zip_.get(), static_cast<zip_uint64_t>(index), 0, &st) == 0 && (st.valid & ZIP_STAT_COMP_METHOD) &&
         st.comp_method == ZIP_CM_STORE;
}

bool ZipReader::special(int64_t index) const {
  zip_uint8_t opsys = 0;
  zip_uint32_t attributes = 0;
  if (zip_file_get_external_attributes(zip_.get(), static_cast<zip_uint64_t>(index), 0, &opsys, &attributes) != 0) return true;
  if (opsys != ZIP_OPSYS_UNIX) return false;
  const unsigned type = (attributes >> 16) & 0170000;  // S_IFMT of the Unix mode in the high half
  return type != 0 && type != 0100000;                  // 0: no mode recorded; S_IFREG
}

Result<std::vector<uint8_t>> ZipReader::read(int64_t index) {
  const std::string record = printable(name(index));
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(zip_.get(), static_cast<zip_uint64_t>(index), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
      !(st.valid & ZIP_STAT_COMP_SIZE)) {
    return Status(Code::format, path_ + ": record " + record + ": unreadable zip entry");
  }
  if (st.size > limits_.max_record_bytes || (total_ += st.size) > limits_.max_total_bytes) {
    return Status(Code::format, path_ + ": record " + record + " claims " + std::to_string(st.size) +
                                    " bytes, more than this archive may hold");
  }
  if (st.comp_size > bytes_.size()) {
    return Status(Code::format, path_ + ": record " + record + " claims " + std::to_string(st.comp_size) +
                                    " stored bytes in a " + std::to_string(bytes_.size()) + "-byte file");
  }
  if (st.size > 0 && (st.comp_size == 0 || st.size / st.comp_size > limits_.max_compression_ratio)) {
    return Status(Code::format, path_ + ": record " + record + " expands " + std::to_string(st.comp_size ? st.size / st.comp_size : 0) +
                                    "x when decompressed (zip bomb?)");
  }
  std::unique_ptr<zip_file_t, FileCloser> file(zip_fopen_index(zip_.get(), static_cast<zip_uint64_t>(index), 0));
  if (!file) return Status(Code::format, path_ + ": record " + record + ": " + zip_strerror(zip_.get()));
  std::vector<uint8_t> data(st.size);
  const zip_int64_t n = st.size ? zip_fread(file.get(), data.data(), st.size) : 0;
  uint8_t extra;
  // Reading past the end makes libzip verify the CRC and notice size lies.
  const zip_int64_t tail = zip_fread(file.get(), &extra, 1);
  if (n != static_cast<zip_int64_t>(st.size) || tail != 0) {
    return Status(Code::format, path_ + ": record " + record + " is corrupt or truncated (" + zip_file_strerror(file.get()) + ")");
  }
  return data;
}

}  // namespace taec

#include "io/npy.h"

#include <cstring>

#include "base/file_util.h"
#include "base/half.h"

namespace taec {
namespace {

constexpr uint64_t kMaxNpyBytes = 4ull << 30;
constexpr int64_t kMaxElems = int64_t{1} << 30;

// Parses the header dict just far enough for the three keys; anything unexpected is an error.
class HeaderParser {
 public:
  HeaderParser(std::string text, std::string path) : s_(std::move(text)), path_(std::move(path)) {}

  Status parse(std::string* descr, bool* fortran, std::vector<int64_t>* shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    skip_ws();
    if (!eat('{')) return bad("header does not start with '{'");
    while (true) {
      skip_ws();
      if (eat('}')) break;
      std::string key;
      TAEC_RETURN_IF_ERROR(string_literal(&key));
      skip_ws();
      if (!eat(':')) return bad("expected ':' after '" + key + "'");
      skip_ws();
      if (key == "descr") {
        TAEC_RETURN_IF_ERROR(string_literal(descr));
        have_descr = true;
      } else if (key == "fortran_order") {
        if (s_.compare(pos_, 4, "True") == 0) {
          *fortran = true;
          pos_ += 4;
        } else if (s_.compare(pos_, 5, "False") == 0) {
          *fortran = false;
          pos_ += 5;
        } else {
          return bad("fortran_order is neither True nor False");
        }
        have_fortran = true;
      } else if (key == "shape") {
        TAEC_RETURN_IF_ERROR(shape_tuple(shape));
        have_shape = true;
      } else {
        return bad("unexpected key '" + key + "'");
      }
      skip_ws();
      if (eat(',')) continue;
      skip_ws();
      if (eat('}')) break;
      return bad("expected ',' or '}'");
    }
    if (!have_descr || !have_fortran || !have_shape) return bad("header lacks descr, fortran_order or shape");
    return ok_status();
  }

 private:
  Status bad(const std::string& msg) const { return Status(Code::format, path_ + ": .npy header: " + msg); }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t')) ++pos_;
  }
  bool eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  Status string_literal(std::string* out) {
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) return bad("expected a string");
    char quote = s_[pos_++];
    size_t end = s_.find(quote, pos_);
    if (end == std::string::npos) return bad("unterminated string");
    *out = s_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return ok_status();
  }
  Status shape_tuple(std::vector<int64_t>* shape) {
    if (!eat('(')) return bad("shape is not a tuple");
    while (true) {
      skip_ws();
      if (eat(')')) return ok_status();
      if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') return bad("shape holds a non-integer");
      int64_t v = 0;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        v = v * 10 + (s_[pos_++] - '0');
        if (v > kMaxElems) return bad("dimension exceeds 2^30");
      }
      shape->push_back(v);
      if (shape->size() > 8) return bad("more than 8 dimensions");
      skip_ws();
      if (eat(',')) continue;
      skip_ws();
      if (eat(')')) return ok_status();
      return bad("expected ',' or ')' in shape");
    }
  }

  std::string s_;
  std::string path_;
  size_t pos_ = 0;
};

}  // namespace

Result<NpyArray> parse_npy(const std::string& path, const std::vector<uint8_t>& bytes) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0) {
    return Status(Code::format, path + ": not a .npy file (bad magic)");
  }
  const int major = bytes[6];
  if (major < 1 || major > 3) {
    return Status(Code::unsupported, path + ": .npy format version " + std::to_string(major) + " is unknown");
  }
  size_t header_len, header_start;
  if (major == 1) {
    header_len = bytes[8] | (bytes[9] << 8);
    header_start = 10;
  } else {
    if (bytes.size() < 12) return Status(Code::format, path + ": truncated .npy header");
    header_len = bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (static_cast<size_t>(bytes[11]) << 24);
    header_start = 12;
  }
  if (header_len > bytes.size() - header_start) {
    return Status(Code::format, path + ": .npy header runs past the end of the file (truncated?)");
  }
  std::string descr;
  bool fortran = false;
  NpyArray out;
  HeaderParser parser(std::string(bytes.begin() + header_start, bytes.begin() + header_start + header_len), path);
  TAEC_RETURN_IF_ERROR(parser.parse(&descr, &fortran, &out.shape));
  if (fortran) return Status(Code::unsupported, path + ": Fortran-order arrays are not supported; save in C order");
  size_t esize;
  if (descr == "<f4") {
    esize = 4;
  } else if (descr == "<f2") {
    esize = 2;
  } else {
    return Status(Code::unsupported, path + ": dtype '" + descr + "' is not supported (use float32 '<f4' or float16 '<f2')");
  }
  int64_t numel = 1;
  for (int64_t d : out.shape) {
    if (d != 0 && numel > kMaxElems / d) return Status(Code::format, path + ": array has more than 2^30 elements");
    numel *= d;
  }
  const size_t data_start = header_start + header_len;
  const size_t want = static_cast<size_t>(numel) * esize;
  if (bytes.size() - data_start != want) {
    return Status(Code::format, path + ": data is " + std::to_string(bytes.size() - data_start) +
                                    " bytes but the header's shape and dtype need " + std::to_string(want) +
                                    " (truncated?)");
  }
  out.data.resize(static_cast<size_t>(numel));
  const uint8_t* p = bytes.data() + data_start;
  for (size_t i = 0; i < out.data.size(); ++i) {
    if (esize == 4) {
      std::memcpy(&out.data[i], p + 4 * i, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      out.data[i] = fp16_to_float(h);
    }
  }
  return out;
}

Result<NpyArray> read_npy(const std::string& path) {
  TAEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(path, kMaxNpyBytes));
  return parse_npy(path, bytes);
}

std::vector<uint8_t> npy_header(const std::vector<int64_t>& shape, bool fp16) {
  std::string header = std::string("{'descr': '") + (fp16 ? "<f2" : "<f4") + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) {
    header += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? ", " : "");
  }
  if (shape.size() == 1) header.pop_back();
  header += "), }";
  // Pad so the data starts on a 64-byte boundary, as NumPy does.
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                              static_cast<uint8_t>(header.size() & 0xff), static_cast<uint8_t>(header.size() >> 8)};
  out.insert(out.end(), header.begin(), header.end());
  return out;
}

std::vector<uint8_t> encode_npy(const float* data, const std::vector<int64_t>& shape, bool fp16) {
  size_t numel = 1;
  for (int64_t d : shape) numel *= static_cast<size_t>(d);
  std::vector<uint8_t> out = npy_header(shape, fp16);
  const size_t start = out.size();
  out.resize(start + numel * (fp16 ? 2 : 4));
  for (size_t i = 0; i < numel; ++i) {
    if (fp16) {
      uint16_t h = float_to_fp16(data[i]);
      std::memcpy(out.data() + start + 2 * i, &h, 2);
    } else {
      std::memcpy(out.data() + start + 4 * i, &data[i], 4);
    }
  }
  return out;
}

Status write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape, bool fp16) {
  std::vector<uint8_t> bytes = encode_npy(data, shape, fp16);
  return write_output_file(path, bytes.data(), bytes.size());
}

}  // namespace taec

// Checkpoint readers end to end: the shipped models load identically from both containers, and
// every kind of broken or hostile file is refused with a Status naming the file and the problem.
#include "io/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zip.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "test_util.h"

namespace {

using taec::Code;
using ::testing::HasSubstr;

struct Record {
  std::string name;
  std::vector<uint8_t> bytes;
  bool deflate = false;
};

// Writes a zip the way torch.save does (stored records), or deflated where a test needs it.
void make_pth(const std::string& path, const std::vector<Record>& records) {
  int err = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(zip, nullptr) << "zip_open error " << err;
  for (const Record& r : records) {
    zip_source_t* src = zip_source_buffer(zip, r.bytes.data(), r.bytes.size(), 0);
    ASSERT_NE(src, nullptr) << zip_strerror(zip);
    zip_int64_t index = zip_file_add(zip, r.name.c_str(), src, ZIP_FL_ENC_UTF_8);
    if (index < 0) zip_source_free(src);
    ASSERT_GE(index, 0) << zip_strerror(zip);
    ASSERT_EQ(zip_set_file_compression(zip, static_cast<zip_uint64_t>(index),
                                       r.deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0), 0);
  }
  ASSERT_EQ(zip_close(zip), 0) << zip_strerror(zip);
}

// The records of a real checkpoint, in archive order, to rebuild variants of it.
std::vector<Record> read_records(const std::string& path) {
  std::vector<Record> out;
  int err = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_RDONLY, &err);
  if (zip == nullptr) return out;
  for (zip_int64_t i = 0; i < zip_get_num_entries(zip, 0); ++i) {
    zip_stat_t st;
    zip_stat_index(zip, static_cast<zip_uint64_t>(i), 0, &st);
    Record r{st.name, std::vector<uint8_t>(st.size)};
    zip_file_t* f = zip_fopen_index(zip, static_cast<zip_uint64_t>(i), 0);
    if (f != nullptr && st.size > 0) zip_fread(f, r.bytes.data(), st.size);
    if (f != nullptr) zip_fclose(f);
    out.push_back(std::move(r));
  }
  zip_discard(zip);
  return out;
}

Record& record(std::vector<Record>& records, const std::string& name) {
  auto it = std::find_if(records.begin(), records.end(), [&](const Record& r) { return r.name == name; });
  if (it == records.end()) throw std::runtime_error("fixture has no record " + name);
  return *it;
}

// From a literal, embedded NULs included (pickles and magics are full of them).
template <size_t N>
std::vector<uint8_t> lit(const char (&s)[N]) {
  return {s, s + N - 1};
}

void expect_error(const taec::Result<taec::Checkpoint>& r, Code code, const std::string& path,
                  const std::vector<std::string>& needles) {
  ASSERT_FALSE(r.ok()) << "loaded " << path;
  EXPECT_EQ(r.status().code(), code) << r.status().message();
  EXPECT_THAT(r.status().message(), HasSubstr(path));
  for (const std::string& n : needles) EXPECT_THAT(r.status().message(), HasSubstr(n));
}

TEST(CheckpointTest, AllModelsLoad) {
  TAEC_REQUIRE_FIXTURES();
  for (const char* model : {"taef2", "taef1_synthetic"}) {
    for (const char* part : {"decoder", "encoder"}) {
      for (const char* format : {"pth", "safetensors"}) {
        const std::string path = taec_test::model_path(std::string(model) + "_" + part + "." + format);
        SCOPED_TRACE(path);
        auto r = taec::read_checkpoint(path);
        ASSERT_TRUE(r.ok()) << r.status().message();
        EXPECT_EQ(r->format, format);
        EXPECT_EQ(r->tensors.size(), std::string(model) == "taef2" ? 79u : 67u);
        for (const taec::RawTensor& t : r->tensors) {
          EXPECT_EQ(t.dtype, taec::DType::f16) << t.name;
          EXPECT_EQ(t.bytes.size(), static_cast<size_t>(t.numel()) * 2) << t.name;
        }
      }
    }
  }
}

TEST(CheckpointTest, PthAndSafetensorsHoldIdenticalTensors) {
  TAEC_REQUIRE_FIXTURES();
  for (const char* stem : {"taef2_decoder", "taef2_encoder", "taef1_synthetic_decoder",
                           "taef1_synthetic_encoder"}) {
    SCOPED_TRACE(stem);
    auto pth = taec::read_checkpoint(taec_test::model_path(std::string(stem) + ".pth"));
    auto st = taec::read_checkpoint(taec_test::model_path(std::string(stem) + ".safetensors"));
    ASSERT_TRUE(pth.ok()) << pth.status().message();
    ASSERT_TRUE(st.ok()) << st.status().message();
    ASSERT_EQ(pth->tensors.size(), st->tensors.size());
    for (size_t i = 0; i < pth->tensors.size(); ++i) {
      const taec::RawTensor& a = pth->tensors[i];
      const taec::RawTensor& b = st->tensors[i];
      EXPECT_EQ(a.name, b.name) << "tensor #" << i;
      EXPECT_EQ(a.dtype, b.dtype) << a.name;
      EXPECT_EQ(a.shape, b.shape) << a.name;
      EXPECT_TRUE(a.bytes == b.bytes) << a.name;
    }
  }
}

// Users rename files freely; the extension must not decide how the bytes are parsed.
TEST(CheckpointTest, FormatIsDetectedByContentNotName) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const struct { const char* fixture; const char* renamed; const char* format; } cases[] = {
      {"taef2_decoder.safetensors", "weights.pth", "safetensors"},
      {"taef2_decoder.pth", "weights.safetensors", "pth"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.renamed);
    const std::string path = dir + "/" + c.renamed;
    taec_test::write_bytes(path, taec_test::read_bytes(taec_test::model_path(c.fixture)));
    auto r = taec::read_checkpoint(path);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->format, c.format);
    EXPECT_EQ(r->path, path);
    EXPECT_EQ(r->tensors.size(), 79u);
  }
}

TEST(CheckpointTest, RejectsFilesThatAreNotCheckpoints) {
  const std::string dir = taec_test::temp_dir();
  std::mt19937 rng(42);
  std::vector<uint8_t> noise(4096);
  for (uint8_t& b : noise) b = static_cast<uint8_t>(rng());
  noise[0] = 0x13;  // keep the noise from starting like a pickle or a zip by chance
  noise[8] = 0x00;  // ... or like a safetensors header
  const struct { const char* file; std::vector<uint8_t> bytes; Code code; const char* needle; } cases[] = {
      {"empty.pth", {}, Code::format, "not a checkpoint"},
      {"noise.pth", noise, Code::format, "not a checkpoint"},
      {"gif.safetensors", lit("GIF89a\x01\x00\x01\x00\x80\x00\x00"), Code::format, "not a checkpoint"},
      // The end-of-central-directory magic alone: a zip with no records, not a torch archive.
      {"eocd.pth", lit("PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"), Code::format,
       "not a checkpoint"},
      // torch.save(..., _use_new_zipfile_serialization=False): protocol 2, then the LONG1 magic.
      {"legacy.pth", lit("\x80\x02\x8a\x0al\xfc\x9c" "F\xf9 j\xa8P\x19."),
       Code::unsupported, "legacy"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string path = dir + "/" + c.file;
    taec_test::write_bytes(path, c.bytes);
    expect_error(taec::read_checkpoint(path), c.code, path, {c.needle});
  }
  const std::string missing = dir + "/missing.pth";
  expect_error(taec::read_checkpoint(missing), Code::io, missing, {"cannot open"});
}

// The zip central directory and the safetensors data both sit at the end, so any cut is fatal.
TEST(CheckpointTest, TruncatedFilesFailCleanly) {
  TAEC_REQUIRE_FIXTURES();
  for (const char* file : {"taef2_decoder.pth", "taef2_decoder.safetensors"}) {
    const std::vector<uint8_t> full = taec_test::read_bytes(taec_test::model_path(file));
    ASSERT_FALSE(full.empty());
    for (size_t n : {size_t{9}, full.size() / 10, full.size() / 2, full.size() * 99 / 100, full.size() - 1}) {
      SCOPED_TRACE(std::string(file) + " cut to " + std::to_string(n) + " bytes");
      const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
      expect_error(taec::parse_checkpoint(file, cut), Code::format, file, {});
    }
  }
}

// Stored records have no redundancy but the CRC; a flipped weight byte must not load silently.
TEST(CheckpointTest, FlippedDataByteFailsTheCrcCheck) {
  TAEC_REQUIRE_FIXTURES();
  const std::string path = taec_test::model_path("taef2_decoder.pth");
  std::vector<uint8_t> bytes = taec_test::read_bytes(path);
  std::vector<Record> records = read_records(path);
  const Record& data0 = record(records, "taef2_decoder/data/0");
  auto at = std::search(bytes.begin(), bytes.end(), data0.bytes.begin(), data0.bytes.end());
  ASSERT_NE(at, bytes.end()) << "record is not stored uncompressed";
  at[data0.bytes.size() / 2] ^= 0x01;
  expect_error(taec::parse_checkpoint(path, bytes), Code::format, path,
               {"record taef2_decoder/data/0 is corrupt", "CRC"});
}

TEST(CheckpointTest, MissingStorageRecordIsNamed) {
  TAEC_REQUIRE_FIXTURES();
  std::vector<Record> records = read_records(taec_test::model_path("taef2_decoder.pth"));
  std::erase_if(records, [](const Record& r) { return r.name == "taef2_decoder/data/1"; });
  const std::string path = taec_test::temp_dir() + "/missing_record.pth";
  make_pth(path, records);
  expect_error(taec::read_checkpoint(path), Code::format, path,
               {"tensor \"1.bias\" refers to missing record taef2_decoder/data/1"});
}

TEST(CheckpointTest, HostilePickleIsRefused) {
  const std::string path = taec_test::temp_dir() + "/evil.pth";
  make_pth(path, {{"archive/data.pkl", lit("\x80\x02" "cos\nsystem\nX\x02\x00\x00\x00id\x85R.")},
                  {"archive/version", lit("3\n")}});
  expect_error(taec::read_checkpoint(path), Code::unsupported, path, {"archive/data.pkl", "os.system"});
}

// The pickle's view (offset, size, stride) is untrusted: it must fit the bytes actually stored.
TEST(CheckpointTest, StorageTooSmallForTheViewIsRefused) {
  TAEC_REQUIRE_FIXTURES();
  const std::vector<Record> fixture = read_records(taec_test::model_path("taef2_decoder.pth"));
  // "1.weight" is the first tensor; its storage offset is the BININT1 0 right after BINPERSID.
  auto huge_offset = [](std::vector<Record>& records) {
    std::vector<uint8_t>& pkl = record(records, "taef2_decoder/data.pkl").bytes;
    const uint8_t first_offset[] = {'Q', 'K', 0x00};
    auto at = std::search(pkl.begin(), pkl.end(), std::begin(first_offset), std::end(first_offset));
    ASSERT_NE(at, pkl.end());
    const uint8_t long1_max[] = {0x8a, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    at = pkl.erase(at + 1, at + 3);
    pkl.insert(at, std::begin(long1_max), std::end(long1_max));
  };
  const struct {
    const char* label;
    std::function<void(std::vector<Record>&)> edit;
    std::vector<std::string> needles;
  } cases[] = {
      {"record cut in half",
       [](auto& r) { record(r, "taef2_decoder/data/1").bytes.resize(64); },
       {"tensor \"1.bias\"", "storage record data/1 holds 32 elements but the pickle declares 64"}},
      {"odd byte count",
       [](auto& r) { record(r, "taef2_decoder/data/1").bytes.resize(127); },
       {"tensor \"1.bias\"", "data/1 has 127 bytes, not a whole number of f16"}},
      {"offset near 2^63", huge_offset, {"tensor \"1.weight\"", "invalid storage offset 9223372036854775807"}},
  };
  const std::string dir = taec_test::temp_dir();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    std::vector<Record> records = fixture;
    c.edit(records);
    const std::string path = dir + "/view.pth";
    make_pth(path, records);
    expect_error(taec::read_checkpoint(path), Code::format, path, c.needles);
  }
}

// 64 MiB of zeros deflate ~1000:1; the reader must refuse from the sizes alone, before inflating.
TEST(CheckpointTest, ZipBombIsRefusedQuickly) {
  const std::string path = taec_test::temp_dir() + "/bomb.pth";
  make_pth(path, {{"archive/data.pkl", std::vector<uint8_t>(64u << 20, 0), /*deflate=*/true}});
  const auto start = std::chrono::steady_clock::now();
  auto r = taec::read_checkpoint(path);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  expect_error(r, Code::format, path, {"archive/data.pkl", "zip bomb"});
  // Generous for sanitizer builds; inflating 64 MiB would be the slow path being guarded against.
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST(CheckpointTest, SafetensorsWriterRoundTrips) {
  std::vector<taec::RawTensor> tensors(2);
  tensors[0] = {"a.weight", taec::DType::f32, {2, 1}, {0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}};
  tensors[1] = {"a.bias", taec::DType::bf16, {3}, {0x80, 0x3f, 0, 0, 0x00, 0x40}};
  const std::vector<uint8_t> bytes = taec::write_safetensors(tensors, {{"format", "pt"}});
  auto r = taec::parse_checkpoint("mem.safetensors", bytes);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->format, "safetensors");
  EXPECT_EQ(r->metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
  ASSERT_EQ(r->tensors.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(r->tensors[i].name, tensors[i].name);
    EXPECT_EQ(r->tensors[i].dtype, tensors[i].dtype);
    EXPECT_EQ(r->tensors[i].shape, tensors[i].shape);
    EXPECT_EQ(r->tensors[i].bytes, tensors[i].bytes);
  }
  EXPECT_EQ(r->tensors[0].to_float(), (std::vector<float>{1.0f, -2.0f}));
}

std::vector<uint8_t> safetensors(const std::string& header, size_t data_bytes,
                                 std::optional<uint64_t> header_len = std::nullopt) {
  std::string out(8, '\0');
  const uint64_t len = header_len.value_or(header.size());
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(len >> (8 * i));
  out += header;
  out.append(data_bytes, '\0');
  return {out.begin(), out.end()};
}

TEST(CheckpointTest, RejectsMalformedSafetensors) {
  const std::string path = "/models/bad.safetensors";
  auto one = [](const std::string& dtype, const std::string& shape, const std::string& offsets) {
    return "{\"t\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}}";
  };
  const struct {
    const char* label;
    std::vector<uint8_t> bytes;
    Code code;
    std::vector<std::string> needles;
  } cases[] = {
      {"header past the end", safetensors("{}", 0, 1000), Code::format, {"header length 1000 runs past the end"}},
      {"header over 100 MB", safetensors("{}", 0, 200'000'000), Code::format, {"exceeds the 100 MB limit"}},
      {"header not JSON", safetensors("{\"t\": {\"dtype\"", 0), Code::format, {"not valid JSON"}},
      {"offsets past the data", safetensors(one("F16", "[2]", "[0,4]"), 2), Code::format,
       {"tensor \"t\"", "data_offsets [0, 4) lie outside the 2-byte data section"}},
      {"offsets reversed", safetensors(one("F16", "[0]", "[4,0]"), 4), Code::format,
       {"tensor \"t\"", "data_offsets [4, 0)"}},
      {"negative offset", safetensors(one("F16", "[0]", "[-2,0]"), 4), Code::format,
       {"tensor \"t\"", "not non-negative integers"}},
      {"span vs dtype x shape", safetensors(one("F16", "[3]", "[0,4]"), 4), Code::format,
       {"tensor \"t\"", "span 4 bytes but dtype and shape need 6"}},
      {"overlapping tensors",
       safetensors(R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
                   R"("b":{"dtype":"F16","shape":[2],"data_offsets":[2,6]}})", 6),
       Code::format, {"tensors \"a\" and \"b\" overlap"}},
      {"unknown dtype", safetensors(one("I64", "[1]", "[0,8]"), 8), Code::unsupported,
       {"tensor \"t\"", "dtype \"I64\""}},
      {"negative dim", safetensors(one("F16", "[-1]", "[0,0]"), 0), Code::format,
       {"tensor \"t\"", "is not a non-negative integer"}},
      {"fractional dim", safetensors(one("F16", "[1.5]", "[0,2]"), 2), Code::format,
       {"tensor \"t\"", "is not a non-negative integer"}},
      {"huge dim", safetensors(one("F16", "[4294967296]", "[0,2]"), 2), Code::format,
       {"tensor \"t\"", "dimension 4294967296 is implausibly large"}},
      {"rank 9", safetensors(one("F16", "[1,1,1,1,1,1,1,1,1]", "[0,2]"), 2), Code::format,
       {"tensor \"t\"", "rank 9 exceeds 8"}},
      {"entry without offsets", safetensors(R"({"t":{"dtype":"F16","shape":[1]}})", 2), Code::format,
       {"tensor \"t\"", "two data_offsets"}},
      {"metadata not strings", safetensors(R"({"__metadata__":{"k":1}})", 0), Code::format,
       {"__metadata__ value \"k\""}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    expect_error(taec::parse_checkpoint(path, c.bytes), c.code, path, c.needles);
  }
  // Content sniffing wants '{' at byte 8, so a non-object header only reaches the reader directly.
  expect_error(taec::read_safetensors(path, safetensors("[1, 2]", 0)), Code::format, path,
               {"not a JSON object"});
}

}  // namespace

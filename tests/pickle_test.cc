// The restricted unpickler on hand-built pickles: what torch.save writes must parse, anything
// that could import or call code must be refused by name, and malformed input must fail cleanly.
#include "io/pickle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using taec::Code;
using taec::DType;
using ::testing::HasSubstr;

// Opcodes by their pickletools names; hostile cases read better spelled out than as hex.
enum Op : uint8_t {
  PROTO = 0x80, FRAME = 0x95, STOP = '.', MARK = '(', EMPTY_DICT = '}', EMPTY_LIST = ']',
  EMPTY_TUPLE = ')', NEWFALSE = 0x89, BININT = 'J', BININT1 = 'K', BININT2 = 'M', LONG1 = 0x8a,
  BINUNICODE = 'X', SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, TUPLE = 't', TUPLE2 = 0x86,
  BINPUT = 'q', LONG_BINPUT = 'r', MEMOIZE = 0x94, BINGET = 'h', LONG_BINGET = 'j', GLOBAL = 'c',
  STACK_GLOBAL = 0x93, REDUCE = 'R', BINPERSID = 'Q', BUILD = 'b', SETITEM = 's', APPEND = 'a',
  POP = '0', INST = 'i', OBJ = 'o', NEWOBJ = 0x81, EXT1 = 0x82, EXT2 = 0x83, EXT4 = 0x84,
  PERSID = 'P', SETITEMS = 'u', APPENDS = 'e',
};

class Pickle {
 public:
  Pickle& op(uint8_t o) { bytes_.push_back(o); return *this; }
  Pickle& raw(const std::string& s) { bytes_.insert(bytes_.end(), s.begin(), s.end()); return *this; }
  Pickle& le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) op(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  Pickle& proto(int p) { return op(PROTO).op(static_cast<uint8_t>(p)); }
  Pickle& global(const std::string& module, const std::string& name) {
    return op(GLOBAL).raw(module + "\n" + name + "\n");
  }
  Pickle& str(const std::string& s) { return op(BINUNICODE).le(s.size(), 4).raw(s); }
  Pickle& integer(int64_t v) {
    if (v >= 0 && v < 256) return op(BININT1).le(static_cast<uint64_t>(v), 1);
    if (v >= 0 && v < 65536) return op(BININT2).le(static_cast<uint64_t>(v), 2);
    return op(BININT).le(static_cast<uint64_t>(v), 4);
  }
  Pickle& int_tuple(const std::vector<int64_t>& v) {
    op(MARK);
    for (int64_t x : v) integer(x);
    return op(TUPLE);
  }
  Pickle& ordered_dict() { return global("collections", "OrderedDict").op(EMPTY_TUPLE).op(REDUCE); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

struct TensorSpec {
  std::string name = "1.weight";
  std::string storage_type = "HalfStorage";
  std::string key = "0";
  int64_t numel = 6;
  int64_t offset = 0;
  std::vector<int64_t> shape = {2, 3};
  std::vector<int64_t> stride = {3, 1};
};

// _rebuild_tensor_v2((persistent storage id), offset, size, stride, requires_grad, hooks)
Pickle& add_tensor(Pickle& p, const TensorSpec& t) {
  p.global("torch._utils", "_rebuild_tensor_v2").op(MARK);
  p.op(MARK).str("storage").global("torch", t.storage_type).str(t.key).str("cpu").integer(t.numel);
  p.op(TUPLE).op(BINPERSID);
  p.integer(t.offset).int_tuple(t.shape).int_tuple(t.stride).op(NEWFALSE).ordered_dict();
  return p.op(TUPLE).op(REDUCE);
}

// What torch.save(state_dict, _use_new_zipfile_serialization=True) writes, minus the memo traffic.
std::vector<uint8_t> state_dict(const std::vector<TensorSpec>& tensors) {
  Pickle p;
  p.proto(2).ordered_dict();
  for (const TensorSpec& t : tensors) {
    p.str(t.name);
    add_tensor(p, t).op(SETITEM);
  }
  return p.op(EMPTY_DICT).op(BUILD).op(STOP).bytes();
}

const std::string kWhat = "model.pth: archive/data.pkl";

taec::Result<taec::PickledStateDict> unpickle(const std::vector<uint8_t>& bytes) {
  return taec::unpickle_state_dict(bytes.data(), bytes.size(), kWhat);
}

struct ErrorCase {
  std::string label;
  std::vector<uint8_t> bytes;
  Code code;
  std::string needle;  // the offending global/opcode/key the message must name
};

void expect_error(const ErrorCase& c) {
  SCOPED_TRACE(c.label);
  auto r = unpickle(c.bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), c.code) << r.status().message();
  EXPECT_THAT(r.status().message(), HasSubstr(kWhat));
  EXPECT_THAT(r.status().message(), HasSubstr(c.needle));
}

TEST(PickleTest, ParsesMinimalStateDict) {
  TensorSpec spec{.name = "3.conv.0.weight", .key = "7", .numel = 40, .offset = 4,
                  .shape = {2, 3, 1, 4}, .stride = {12, 4, 4, 1}};
  auto r = unpickle(state_dict({spec}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->tensors.size(), 1u);
  ASSERT_EQ(r->storages.size(), 1u);
  const taec::PickledTensor& t = r->tensors[0];
  EXPECT_EQ(t.name, "3.conv.0.weight");
  EXPECT_EQ(t.shape, (std::vector<int64_t>{2, 3, 1, 4}));
  EXPECT_EQ(t.stride, (std::vector<int64_t>{12, 4, 4, 1}));
  EXPECT_EQ(t.offset, 4);
  EXPECT_EQ(t.storage, 0u);
  EXPECT_EQ(r->storages[0].key, "7");
  EXPECT_EQ(r->storages[0].dtype, DType::f16);
  EXPECT_EQ(r->storages[0].numel, 40);
}

TEST(PickleTest, MapsStorageTypesToDTypes) {
  const std::pair<std::string, DType> cases[] = {
      {"HalfStorage", DType::f16}, {"FloatStorage", DType::f32}, {"BFloat16Storage", DType::bf16}};
  for (const auto& [type, dtype] : cases) {
    SCOPED_TRACE(type);
    auto r = unpickle(state_dict({{.storage_type = type}}));
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_EQ(r->storages.size(), 1u);
    EXPECT_EQ(r->storages[0].dtype, dtype);
  }
}

// Views of one storage (e.g. tied weights) must share it, and insertion order must survive.
TEST(PickleTest, TensorsSharingAStorageShareOneEntry) {
  auto r = unpickle(state_dict({{.name = "b"}, {.name = "a", .offset = 3, .shape = {3}, .stride = {1}},
                                {.name = "c", .key = "1"}}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->tensors.size(), 3u);
  ASSERT_EQ(r->storages.size(), 2u);
  EXPECT_EQ(r->tensors[0].name, "b");
  EXPECT_EQ(r->tensors[1].name, "a");
  EXPECT_EQ(r->tensors[1].storage, r->tensors[0].storage);
  EXPECT_EQ(r->tensors[1].offset, 3);
  EXPECT_EQ(r->storages[r->tensors[2].storage].key, "1");
}

// Newer protocols spell the same thing with STACK_GLOBAL, MEMOIZE, FRAME and short strings.
TEST(PickleTest, AcceptsProtocol4Spelling) {
  Pickle p;
  p.proto(4).op(FRAME).le(0, 8);
  p.op(SHORT_BINUNICODE).le(11, 1).raw("collections").op(MEMOIZE);
  p.op(SHORT_BINUNICODE).le(11, 1).raw("OrderedDict").op(MEMOIZE);
  p.op(STACK_GLOBAL).op(MEMOIZE).op(EMPTY_TUPLE).op(REDUCE).op(MEMOIZE);
  p.op(BINUNICODE8).le(1, 8).raw("w");
  add_tensor(p, {}).op(SETITEM).op(STOP);
  auto r = unpickle(p.bytes());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->tensors.size(), 1u);
  EXPECT_EQ(r->tensors[0].name, "w");
}

// Memo indices are keys, not array slots: a huge one must not allocate anything.
TEST(PickleTest, HugeMemoIndexIsFine) {
  Pickle p;
  p.proto(2).op(EMPTY_DICT).op(LONG_BINPUT).le(0xffffffff, 4).op(POP);
  p.op(LONG_BINGET).le(0xffffffff, 4).op(STOP);
  auto r = unpickle(p.bytes());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->tensors.empty());
}

TEST(PickleTest, RefusesGlobalsOutsideTheAllowList) {
  auto reduce_global = [](const std::string& module, const std::string& name) {
    return Pickle().proto(2).global(module, name).op(EMPTY_TUPLE).op(REDUCE).op(STOP).bytes();
  };
  const ErrorCase cases[] = {
      {"os.system", reduce_global("os", "system"), Code::unsupported, "global os.system"},
      {"builtins.eval", reduce_global("builtins", "eval"), Code::unsupported, "global builtins.eval"},
      {"posix.system", reduce_global("posix", "system"), Code::unsupported, "global posix.system"},
      // Near misses of allowed names must not slip through a prefix or suffix match.
      {"torch.LongStorage", reduce_global("torch", "LongStorage"), Code::unsupported,
       "global torch.LongStorage"},
      {"torch._utils._rebuild_parameter", reduce_global("torch._utils", "_rebuild_parameter"),
       Code::unsupported, "global torch._utils._rebuild_parameter"},
      {"STACK_GLOBAL subprocess.Popen",
       Pickle().proto(4).str("subprocess").str("Popen").op(STACK_GLOBAL).op(EMPTY_TUPLE)
           .op(REDUCE).op(STOP).bytes(),
       Code::unsupported, "global subprocess.Popen"},
  };
  for (const ErrorCase& c : cases) expect_error(c);
}

// REDUCE can never reach a forbidden callable: the GLOBAL itself (byte 2) is what fails.
TEST(PickleTest, ForbiddenGlobalIsRefusedBeforeReduce) {
  auto r = unpickle(Pickle().proto(2).global("builtins", "eval").str("1").op(REDUCE).op(STOP).bytes());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unsupported);
  EXPECT_THAT(r.status().message(), HasSubstr("builtins.eval"));
  EXPECT_THAT(r.status().message(), HasSubstr("(at byte 2)"));
}

TEST(PickleTest, RefusesOpcodesThatCouldRunCode) {
  auto p = [] { return Pickle().proto(2); };
  const ErrorCase cases[] = {
      {"INST", p().op(MARK).op(INST).raw("os\nsystem\n").op(STOP).bytes(), Code::unsupported, "0x69 ('i')"},
      {"OBJ", p().op(MARK).ordered_dict().op(OBJ).op(STOP).bytes(), Code::unsupported, "0x6f ('o')"},
      {"NEWOBJ", p().global("collections", "OrderedDict").op(EMPTY_TUPLE).op(NEWOBJ).bytes(),
       Code::unsupported, "0x81"},
      {"EXT1", p().op(EXT1).le(1, 1).op(STOP).bytes(), Code::unsupported, "0x82"},
      {"EXT2", p().op(EXT2).le(1, 2).op(STOP).bytes(), Code::unsupported, "0x83"},
      {"EXT4", p().op(EXT4).le(1, 4).op(STOP).bytes(), Code::unsupported, "0x84"},
      {"PERSID", p().op(PERSID).raw("0\n").op(STOP).bytes(), Code::unsupported, "0x50 ('P')"},
      // Allowed opcodes used in ways torch never does would call __setstate__, append, etc.
      {"REDUCE on a str", p().str("os.system").op(EMPTY_TUPLE).op(REDUCE).bytes(),
       Code::unsupported, "REDUCE on a str"},
      {"calling a storage type", p().global("torch", "HalfStorage").op(EMPTY_TUPLE).op(REDUCE).bytes(),
       Code::unsupported, "calling torch.HalfStorage"},
      {"OrderedDict with arguments",
       p().global("collections", "OrderedDict").int_tuple({1}).op(REDUCE).bytes(), Code::unsupported,
       "OrderedDict called with arguments"},
      {"BUILD on an int", p().integer(1).op(EMPTY_DICT).op(BUILD).bytes(), Code::unsupported,
       "BUILD on a int"},
      {"SETITEM on a list", p().op(EMPTY_LIST).str("k").str("v").op(SETITEM).bytes(),
       Code::unsupported, "SETITEM(S) on a list"},
      {"persistent id not a storage", p().str("x").op(BINPERSID).bytes(), Code::unsupported,
       "persistent id"},
  };
  for (const ErrorCase& c : cases) expect_error(c);
}

TEST(PickleTest, RejectsMalformedStructure) {
  auto p = [] { return Pickle().proto(2); };
  std::vector<uint8_t> no_stop = state_dict({{}});
  no_stop.pop_back();
  const ErrorCase cases[] = {
      {"missing STOP", no_stop, Code::format, "no STOP"},
      {"SETITEM on empty stack", p().op(SETITEM).op(STOP).bytes(), Code::format, "stack underflow"},
      {"POP on empty stack", p().op(POP).op(STOP).bytes(), Code::format, "stack underflow"},
      {"TUPLE2 with one item", p().integer(1).op(TUPLE2).op(STOP).bytes(), Code::format, "stack underflow"},
      // Values below a MARK belong to the enclosing frame; SETITEM must not reach them.
      {"SETITEM across a MARK", p().op(EMPTY_DICT).str("k").str("v").op(MARK).op(SETITEM).bytes(),
       Code::format, "stack underflow"},
      {"TUPLE without MARK", p().integer(1).op(TUPLE).bytes(), Code::format, "MARK that was never set"},
      {"BINGET of unknown index", p().op(EMPTY_DICT).op(BINPUT).le(0, 1).op(BINGET).le(1, 1).bytes(),
       Code::format, "memo index 1 was never stored"},
      {"LONG_BINGET of unknown index", p().op(LONG_BINGET).le(0xfffffffe, 4).bytes(), Code::format,
       "memo index 4294967294"},
      {"BINPUT on empty stack", p().op(BINPUT).le(0, 1).bytes(), Code::format, "empty stack"},
      {"BINUNICODE past the end", p().op(BINUNICODE).le(100, 4).raw("abc").bytes(), Code::format,
       "string runs past the end"},
      {"BINUNICODE8 of 2^63 bytes", p().op(BINUNICODE8).le(uint64_t{1} << 63, 8).raw("abc").bytes(),
       Code::format, "string runs past the end"},
      {"unknown protocol", Pickle().proto(9).op(STOP).bytes(), Code::format, "protocol 9"},
      {"LONG1 wider than 64 bits", p().op(LONG1).le(9, 1).le(0, 8).le(0, 1).op(STOP).bytes(),
       Code::format, "wider than 64 bits"},
      {"STOP with an empty stack", p().op(STOP).bytes(), Code::format, "0 values on the stack"},
      {"STOP with two values", p().op(EMPTY_DICT).op(EMPTY_DICT).op(STOP).bytes(), Code::format,
       "2 values on the stack"},
      {"one storage, two dtypes",
       state_dict({{.name = "a"}, {.name = "b", .storage_type = "FloatStorage"}}), Code::format,
       "storage 0 used with two dtypes"},
      {"size and stride ranks differ", state_dict({{.shape = {2, 3}, .stride = {1}}}), Code::format,
       "ranks differ"},
  };
  for (const ErrorCase& c : cases) expect_error(c);
}

// Every cut of a valid pickle must end in a clean error; run under ASan, exact-size copies make
// any read past the cut a reported heap overflow.
TEST(PickleTest, EveryPrefixOfAValidPickleFailsCleanly) {
  const std::vector<uint8_t> full = state_dict({{.name = "a"}, {.name = "b", .key = "1"}});
  ASSERT_TRUE(unpickle(full).ok());
  for (size_t n = 0; n < full.size(); ++n) {
    SCOPED_TRACE("prefix of " + std::to_string(n) + " bytes");
    const std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    auto r = unpickle(prefix);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::format);
    EXPECT_THAT(r.status().message(), HasSubstr("truncated pickle"));
  }
}

TEST(PickleTest, RefusesPicklesThatAreNotPlainStateDicts) {
  auto entry = [](const std::string& key, auto&& push_value) {
    Pickle p;
    p.proto(2).ordered_dict().str(key);
    push_value(p);
    return p.op(SETITEM).op(STOP).bytes();
  };
  const ErrorCase cases[] = {
      {"top-level list", Pickle().proto(2).op(EMPTY_LIST).op(STOP).bytes(), Code::unsupported,
       "holds a list, not a state_dict"},
      {"top-level int", Pickle().proto(2).integer(5).op(STOP).bytes(), Code::unsupported,
       "holds a int"},
      // A training checkpoint wrapping the weights: the message must say which key to look in.
      {"nested state_dict", entry("state_dict", [](Pickle& p) { p.op(EMPTY_DICT); }),
       Code::unsupported, "entry \"state_dict\" is a dict"},
      {"int value", entry("epoch", [](Pickle& p) { p.integer(3); }), Code::unsupported,
       "entry \"epoch\" is a int"},
      {"non-string key",
       Pickle().proto(2).ordered_dict().integer(1).integer(2).op(SETITEM).op(STOP).bytes(),
       Code::unsupported, "key is a int"},
  };
  for (const ErrorCase& c : cases) expect_error(c);
}

// Cycles are legal pickle; the unpickler must neither recurse forever nor leak them (ASan job).
TEST(PickleTest, SelfReferencingContainersDoNotCrashOrLeak) {
  const ErrorCase cases[] = {
      {"dict holding itself",
       Pickle().proto(2).op(EMPTY_DICT).op(BINPUT).le(0, 1).str("self").op(BINGET).le(0, 1)
           .op(SETITEM).op(STOP).bytes(),
       Code::unsupported, "entry \"self\" is a dict"},
      {"list holding itself",
       Pickle().proto(2).op(EMPTY_LIST).op(BINPUT).le(0, 1).op(BINGET).le(0, 1).op(APPEND).op(STOP)
           .bytes(),
       Code::unsupported, "holds a list"},
  };
  for (const ErrorCase& c : cases) expect_error(c);
}

}  // namespace

// Bombs: pickles that are small on disk but would make the unpickler hold gigabytes or run for
// long. Each is refused at its cap, quickly, naming the cap.
TEST(PickleTest, RefusesPicklesThatBuildTooManyObjects) {
  Pickle p;
  p.proto(2).op(MARK);
  for (int i = 0; i < (1 << 20) + 8; ++i) p.op(EMPTY_TUPLE);  // one value each
  expect_error({"2^20 values", p.op(TUPLE).op(STOP).bytes(), Code::format, "more than 2^20 objects"});
}

TEST(PickleTest, RefusesPicklesThatRunTooManyOpcodes) {
  Pickle p;
  p.proto(2).op(EMPTY_DICT);
  for (int i = 0; i < (8 << 20) + 8; ++i) p.op(BINPUT).le(0, 1);  // allocates nothing, only takes time
  expect_error({"2^23 opcodes", p.op(STOP).bytes(), Code::format, "more than 2^23 opcodes"});
}

TEST(PickleTest, RefusesPicklesThatHoldTooManyBytes) {
  // One memoized 500,000-entry tuple used as the size and stride of many tensors: a few MB of
  // pickle, but each tensor copies it (8 MB), so the unpickler's holdings pass its cap.
  Pickle p;
  p.proto(2).op(MARK);
  for (int i = 0; i < 500000; ++i) p.op(BININT1).le(1, 1);
  p.op(TUPLE).op(BINPUT).le(0, 1).op(POP).op(MARK);
  for (int i = 0; i < 40; ++i) {
    p.global("torch._utils", "_rebuild_tensor_v2").op(MARK);
    p.op(MARK).str("storage").global("torch", "HalfStorage").str("0").str("cpu").integer(1).op(TUPLE).op(BINPERSID);
    p.integer(0).op(BINGET).le(0, 1).op(BINGET).le(0, 1).op(NEWFALSE).ordered_dict().op(TUPLE).op(REDUCE);
  }
  expect_error({"held bytes", p.op(TUPLE).op(STOP).bytes(), Code::format, "MiB of objects"});
}

TEST(PickleTest, RefusesStateDictsWithMoreEntriesThanAnyModelHas) {
  Pickle p;
  p.proto(2).ordered_dict();
  TensorSpec t;
  add_tensor(p, t).op(BINPUT).le(0, 1).op(POP);  // one tensor, memoized
  p.op(MARK);
  for (int i = 0; i <= 100000; ++i) p.str("t" + std::to_string(i)).op(BINGET).le(0, 1);
  expect_error({"100001 entries", p.op(SETITEMS).op(STOP).bytes(), Code::format, "more than 100000 entries"});
}

// torch.save(tensor) (latents saved from a pipeline): one tensor, named "tensor".
TEST(PickleTest, ReadsABareTensorAsOneNamedTensor) {
  Pickle p;
  p.proto(2);
  TensorSpec t;
  add_tensor(p, t);
  auto r = unpickle(p.op(STOP).bytes());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->tensors.size(), 1u);
  EXPECT_EQ(r->tensors[0].name, "tensor");
  EXPECT_EQ(r->tensors[0].shape, (std::vector<int64_t>{2, 3}));
}

#include "io/pickle.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "base/text.h"

namespace taec {
namespace {

// Caps far above what a state_dict of any known TAE needs (TAEHV: 128 tensors, a pickle of about
// 6,000 opcodes making 4,000 values in about 1 MB of this unpickler's memory), and far below
// what hurts: a pickle is refused once it runs more opcodes, makes more values or makes the
// unpickler hold more bytes than these (a 1.3 MB deflated data.pkl of 66 M one-byte opcodes
// would otherwise make 8 GB of values).
constexpr size_t kMaxStack = 1 << 20;
constexpr size_t kMaxMemo = 1 << 20;
constexpr size_t kMaxOps = size_t{8} << 20;
constexpr size_t kMaxValues = size_t{1} << 20;
constexpr size_t kMaxHeldBytes = size_t{256} << 20;

enum class Kind { none, boolean, integer, floating, string, tuple, list, dict, global, storage, tensor };

enum class Global { ordered_dict, rebuild_tensor_v2, half_storage, float_storage, bf16_storage };

// Values live in an arena owned by the unpickler and refer to each other by raw pointer, so the
// reference cycles a hostile pickle can build (a dict holding itself) cannot leak.
struct Value {
  Kind kind = Kind::none;
  int64_t integer = 0;
  double floating = 0;
  std::string text;
  std::vector<Value*> items;  // tuple/list items; dict keys and values interleaved
  Global global = Global::ordered_dict;
  size_t storage_index = 0;
  PickledTensor tensor;
};

const char* kind_name(Kind k) {
  static const char* kNames[] = {"None", "bool", "int", "float", "str", "tuple",
                                 "list", "dict", "global", "storage", "tensor"};
  return kNames[static_cast<int>(k)];
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, std::string what)
      : data_(data), size_(size), what_(std::move(what)) {}

  Result<PickledStateDict> run();

 private:
  Status error(const std::string& msg) const {
    return Status(Code::format, what_ + ": " + msg + " (at byte " + std::to_string(op_pos_) + ")");
  }
  Status refuse(const std::string& msg) const {
    return Status(Code::unsupported, what_ + ": refused: " + msg + " (at byte " +
                                         std::to_string(op_pos_) + "); taec reads plain "
                                         "state_dicts of tensors and never runs pickled code");
  }

  // Every value, string byte and item slot the pickle makes is counted against kMaxHeldBytes.
  Status charge(size_t bytes) {
    held_bytes_ += bytes;
    if (held_bytes_ > kMaxHeldBytes) {
      return error("the pickle builds more than " + std::to_string(kMaxHeldBytes >> 20) + " MiB of objects; no state_dict needs that");
    }
    return ok_status();
  }
  Result<Value*> make(Kind kind) {
    if (arena_.size() >= kMaxValues) return error("the pickle makes more than 2^20 objects; no state_dict needs that");
    TAEC_RETURN_IF_ERROR(charge(sizeof(Value)));
    arena_.push_back(std::make_unique<Value>());
    arena_.back()->kind = kind;
    return arena_.back().get();
  }
  Status push_new(Kind kind) {
    TAEC_ASSIGN_OR_RETURN(Value* v, make(kind));
    return push(v);
  }

  Status need(size_t n) {
    if (size_ - pos_ < n) return error("truncated pickle");
    return ok_status();
  }
  uint64_t read_le(size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(data_[pos_ + i]) << (8 * i);
    pos_ += n;
    return v;
  }
  Result<std::string> read_line() {
    const void* nl = std::memchr(data_ + pos_, '\n', size_ - pos_);
    if (nl == nullptr) return error("truncated pickle (unterminated line)");
    size_t end = static_cast<const uint8_t*>(nl) - data_;
    std::string s(reinterpret_cast<const char*>(data_ + pos_), end - pos_);
    pos_ = end + 1;
    return s;
  }

  Status push(Value* v) {
    if (stack_.size() >= kMaxStack) return error("pickle stack exceeds 2^20 entries");
    stack_.push_back(v);
    return ok_status();
  }
  Result<Value*> pop() {
    if (stack_.size() <= stack_floor()) return error("pickle stack underflow");
    Value* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  size_t stack_floor() const { return marks_.empty() ? 0 : marks_.back(); }
  Result<std::vector<Value*>> pop_to_mark() {
    if (marks_.empty()) return error("pickle pops to a MARK that was never set");
    size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  Status memo_put(uint64_t index) {
    if (stack_.empty()) return error("memo store with an empty stack");
    if (memo_.size() >= kMaxMemo && !memo_.count(index)) return error("pickle memo exceeds 2^20 entries");
    memo_[index] = stack_.back();
    return ok_status();
  }
  Status memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) return error("memo index " + std::to_string(index) + " was never stored");
    return push(it->second);
  }

  Result<Value*> resolve_global(const std::string& module, const std::string& name);
  Status reduce();
  Status persistent_load();
  Status set_items(Value* dict, const std::vector<Value*>& kv);
  Result<PickledStateDict> finish(Value* root);
  Status step(uint8_t op, bool* stop);

  const uint8_t* data_;
  size_t size_;
  std::string what_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value*> memo_;
  std::vector<std::unique_ptr<Value>> arena_;
  size_t held_bytes_ = 0;
  std::vector<PickledStorage> storages_;
  std::unordered_map<std::string, size_t> storage_by_key_;
};

Result<Value*> Unpickler::resolve_global(const std::string& module, const std::string& name) {
  static const struct {
    const char* module;
    const char* name;
    Global global;
  } kAllowed[] = {
      {"collections", "OrderedDict", Global::ordered_dict},
      {"torch._utils", "_rebuild_tensor_v2", Global::rebuild_tensor_v2},
      {"torch", "HalfStorage", Global::half_storage},
      {"torch", "FloatStorage", Global::float_storage},
      {"torch", "BFloat16Storage", Global::bf16_storage},
  };
  for (const auto& a : kAllowed) {
    if (module == a.module && name == a.name) {
      TAEC_ASSIGN_OR_RETURN(Value* v, make(Kind::global));
      v->global = a.global;
      v->text = module + "." + name;
      return v;
    }
  }
  return refuse("global " + printable(module + "." + name) + " is not allowed");
}

Status Unpickler::persistent_load() {
  TAEC_ASSIGN_OR_RETURN(Value* pid, pop());
  // ('storage', <storage type>, key, location, numel)
  if (pid->kind != Kind::tuple || pid->items.size() != 5 || pid->items[0]->kind != Kind::string ||
      pid->items[0]->text != "storage") {
    return refuse("persistent id that is not a ('storage', type, key, location, numel) tuple");
  }
  Value* type = pid->items[1];
  Value* key = pid->items[2];
  Value* numel = pid->items[4];
  if (type->kind != Kind::global || key->kind != Kind::string || numel->kind != Kind::integer ||
      numel->integer < 0) {
    return error("malformed storage persistent id");
  }
  DType dtype;
  switch (type->global) {
    case Global::half_storage: dtype = DType::f16; break;
    case Global::float_storage: dtype = DType::f32; break;
    case Global::bf16_storage: dtype = DType::bf16; break;
    default: return refuse("persistent id storage type " + printable(type->text));
  }
  auto it = storage_by_key_.find(key->text);
  size_t index;
  if (it != storage_by_key_.end()) {
    index = it->second;
    if (storages_[index].dtype != dtype) return error("storage " + printable(key->text) + " used with two dtypes");
  } else {
    index = storages_.size();
    storages_.push_back({key->text, dtype, numel->integer});
    storage_by_key_[key->text] = index;
  }
  TAEC_ASSIGN_OR_RETURN(Value* v, make(Kind::storage));
  v->storage_index = index;
  return push(v);
}

Status Unpickler::reduce() {
  TAEC_ASSIGN_OR_RETURN(Value* args, pop());
  TAEC_ASSIGN_OR_RETURN(Value* callable, pop());
  if (callable->kind != Kind::global) return refuse("REDUCE on a " + std::string(kind_name(callable->kind)));
  if (args->kind != Kind::tuple) return error("REDUCE arguments are not a tuple");
  const auto& a = args->items;
  if (callable->global == Global::ordered_dict) {
    if (!a.empty()) return refuse("OrderedDict called with arguments");
    return push_new(Kind::dict);
  }
  if (callable->global != Global::rebuild_tensor_v2) return refuse("calling " + callable->text);
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (a.size() != 6 && a.size() != 7) return error("_rebuild_tensor_v2 takes 6 or 7 arguments");
  if (a[0]->kind != Kind::storage || a[1]->kind != Kind::integer || a[2]->kind != Kind::tuple ||
      a[3]->kind != Kind::tuple) {
    return error("_rebuild_tensor_v2 arguments have the wrong types");
  }
  TAEC_ASSIGN_OR_RETURN(Value* t, make(Kind::tensor));
  TAEC_RETURN_IF_ERROR(charge(a[2]->items.size() * 2 * sizeof(int64_t)));
  t->tensor.storage = a[0]->storage_index;
  t->tensor.offset = a[1]->integer;
  if (a[2]->items.size() != a[3]->items.size()) return error("tensor size and stride ranks differ");
  for (size_t i = 0; i < a[2]->items.size(); ++i) {
    Value* d = a[2]->items[i];
    Value* s = a[3]->items[i];
    if (d->kind != Kind::integer || s->kind != Kind::integer) return error("non-integer tensor size or stride");
    t->tensor.shape.push_back(d->integer);
    t->tensor.stride.push_back(s->integer);
  }
  return push(t);
}

Status Unpickler::set_items(Value* dict, const std::vector<Value*>& kv) {
  if (dict->kind != Kind::dict) return refuse("SETITEM(S) on a " + std::string(kind_name(dict->kind)));
  if (kv.size() % 2 != 0) return error("SETITEMS with an odd number of items");
  TAEC_RETURN_IF_ERROR(charge(kv.size() * sizeof(Value*)));
  dict->items.insert(dict->items.end(), kv.begin(), kv.end());
  return ok_status();
}

Status Unpickler::step(uint8_t op, bool* stop) {
  switch (op) {
    case 0x80: {  // PROTO
      TAEC_RETURN_IF_ERROR(need(1));
      uint64_t proto = read_le(1);
      if (proto > 5) return error("pickle protocol " + std::to_string(proto) + " is unknown");
      return ok_status();
    }
    case 0x95:  // FRAME: framing is only a read-ahead hint
      TAEC_RETURN_IF_ERROR(need(8));
      read_le(8);
      return ok_status();
    case '.': *stop = true; return ok_status();  // STOP
    case '(':  // MARK
      if (marks_.size() >= kMaxStack) return error("too many MARKs");
      marks_.push_back(stack_.size());
      return ok_status();
    case '}': return push_new(Kind::dict);   // EMPTY_DICT
    case ']': return push_new(Kind::list);   // EMPTY_LIST
    case ')': return push_new(Kind::tuple);  // EMPTY_TUPLE
    case 'N': return push_new(Kind::none);   // NONE
    case 0x88: case 0x89: {  // NEWTRUE, NEWFALSE
      TAEC_ASSIGN_OR_RETURN(Value* v, make(Kind::boolean));
      v->integer = op == 0x88;
      return push(v);
    }
    case 'J': case 'K': case 'M': {  // BININT, BININT1, BININT2
      size_t n = op == 'J' ? 4 : op == 'K' ? 1 : 2;
      TAEC_RETURN_IF_ERROR(need(n));
      uint64_t raw = read_le(n);
      TAEC_ASSIGN_OR_RETURN(Value* v, make(Kind::integer));
      v->integer = op == 'J' ? static_cast<int32_t>(raw) : static_cast<int64_t>(raw);
      return push(v);
    }
    case 0x8a: {  // LONG1: little-endian two's complement of n bytes
      TAEC_RETURN_IF_ERROR(need(1));
      size_t n = read_le(1);
      if (n > 8) return error("integer wider than 64 bits");
      TAEC_RETURN_IF_ERROR(need(n));
      uint64_t raw = read_le(n);
      if (n > 0 && n < 8 && (raw >> (8 * n - 1)) & 1) raw |= ~uint64_t{0} << (8 * n);
      TAEC_ASSIGN_OR_RETURN(Value* v, make(Kind::integer));
      v->integer = static_cast<int64_t>(raw);
      return push(v);
    }
    case 'G': {  // BINFLOAT (big endian double)
      TAEC_RETURN_IF_ERROR(need(8));
      uint64_t raw = 0;
      for (int i = 0; i < 8; ++i) raw = (raw << 8) | data_[pos_ + i];
      pos_ += 8;
      TAEC_ASSIGN_OR_RETURN(Value* v, make(Kind::floating));
      std::memcpy(&v->floating, &raw, 8);
      return push(v);
    }
    case 'X': case 0x8c: case 0x8d: {  // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
      size_t n = op == 'X' ? 4 : op == 0x8c ? 1 : 8;
      TAEC_RETURN_IF_ERROR(need(n));
      uint64_t len = read_le(n);
      if (len > size_ - pos_) return error("truncated pickle (string runs past the end)");
      TAEC_ASSIGN_OR_RETURN(Value* v, make(Kind::string));
      TAEC_RETURN_IF_ERROR(charge(len));
      v->text.assign(reinterpret_cast<const char*>(data_ + pos_), len);
      pos_ += len;
      return push(v);
    }
    case 't': case 'l': {  // TUPLE, LIST
      TAEC_ASSIGN_OR_RETURN(std::vector<Value*> items, pop_to_mark());
      TAEC_ASSIGN_OR_RETURN(Value* v, make(op == 't' ? Kind::tuple : Kind::list));
      TAEC_RETURN_IF_ERROR(charge(items.size() * sizeof(Value*)));
      v->items = std::move(items);
      return push(v);
    }
    case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
      size_t n = op - 0x84;
      if (stack_.size() < stack_floor() + n) return error("pickle stack underflow");
      TAEC_ASSIGN_OR_RETURN(Value* v, make(Kind::tuple));
      v->items.assign(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
      stack_.resize(stack_.size() - n);
      return push(v);
    }
    case 'q': TAEC_RETURN_IF_ERROR(need(1)); return memo_put(read_le(1));  // BINPUT
    case 'r': TAEC_RETURN_IF_ERROR(need(4)); return memo_put(read_le(4));  // LONG_BINPUT
    case 0x94: return memo_put(memo_.size());                              // MEMOIZE
    case 'h': TAEC_RETURN_IF_ERROR(need(1)); return memo_get(read_le(1));  // BINGET
    case 'j': TAEC_RETURN_IF_ERROR(need(4)); return memo_get(read_le(4));  // LONG_BINGET
    case 'c': {  // GLOBAL "module\nname\n"
      TAEC_ASSIGN_OR_RETURN(std::string module, read_line());
      TAEC_ASSIGN_OR_RETURN(std::string name, read_line());
      TAEC_ASSIGN_OR_RETURN(Value* v, resolve_global(module, name));
      return push(v);
    }
    case 0x93: {  // STACK_GLOBAL
      TAEC_ASSIGN_OR_RETURN(Value* name, pop());
      TAEC_ASSIGN_OR_RETURN(Value* module, pop());
      if (name->kind != Kind::string || module->kind != Kind::string) return error("STACK_GLOBAL needs two strings");
      TAEC_ASSIGN_OR_RETURN(Value* v, resolve_global(module->text, name->text));
      return push(v);
    }
    case 'R': return reduce();            // REDUCE
    case 'Q': return persistent_load();   // BINPERSID
    case 'b': {  // BUILD: only the OrderedDict's `_metadata` state, which we do not need
      TAEC_ASSIGN_OR_RETURN(Value* state, pop());
      if (stack_.size() <= stack_floor()) return error("pickle stack underflow");
      Value* target = stack_.back();
      if (target->kind != Kind::dict || (state->kind != Kind::dict && state->kind != Kind::tuple)) {
        return refuse("BUILD on a " + std::string(kind_name(target->kind)));
      }
      return ok_status();
    }
    case 's': {  // SETITEM
      TAEC_ASSIGN_OR_RETURN(Value* value, pop());
      TAEC_ASSIGN_OR_RETURN(Value* key, pop());
      if (stack_.size() <= stack_floor()) return error("pickle stack underflow");
      return set_items(stack_.back(), {key, value});
    }
    case 'u': {  // SETITEMS
      TAEC_ASSIGN_OR_RETURN(std::vector<Value*> kv, pop_to_mark());
      if (stack_.size() <= stack_floor()) return error("pickle stack underflow");
      return set_items(stack_.back(), kv);
    }
    case 'a': case 'e': {  // APPEND, APPENDS
      std::vector<Value*> items;
      if (op == 'a') {
        TAEC_ASSIGN_OR_RETURN(Value* v, pop());
        items.push_back(v);
      } else {
        TAEC_ASSIGN_OR_RETURN(items, pop_to_mark());
      }
      if (stack_.size() <= stack_floor()) return error("pickle stack underflow");
      Value* list = stack_.back();
      if (list->kind != Kind::list) return refuse("APPEND on a " + std::string(kind_name(list->kind)));
      TAEC_RETURN_IF_ERROR(charge(items.size() * sizeof(Value*)));
      list->items.insert(list->items.end(), items.begin(), items.end());
      return ok_status();
    }
    case '0':  // POP
      return pop().status();
    default: {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", op);
      return refuse(std::string("pickle opcode ") + hex +
                    (op >= 0x20 && op < 0x7f ? std::string(" ('") + static_cast<char>(op) + "')" : "") +
                    " is not allowed in a state_dict");
    }
  }
}

Result<PickledStateDict> Unpickler::finish(Value* root) {
  if (root->kind == Kind::tensor) {  // torch.save(tensor): one tensor, named "tensor"
    PickledStateDict out;
    out.storages = std::move(storages_);
    out.tensors.push_back(root->tensor);
    out.tensors.back().name = "tensor";
    return out;
  }
  if (root->kind != Kind::dict) {
    return Status(Code::unsupported, what_ + ": the pickle holds a " + kind_name(root->kind) +
                                         ", not a state_dict (a dict of tensors)");
  }
  if (root->items.size() / 2 > CheckpointLimits::kMaxTensors) {
    return Status(Code::format, what_ + ": the state_dict has more than " + std::to_string(CheckpointLimits::kMaxTensors) + " entries");
  }
  PickledStateDict out;
  out.storages = std::move(storages_);
  for (size_t i = 0; i < root->items.size(); i += 2) {
    Value* key = root->items[i];
    Value* value = root->items[i + 1];
    if (key->kind != Kind::string) return Status(Code::unsupported, what_ + ": state_dict key is a " + kind_name(key->kind));
    if (value->kind != Kind::tensor) {
      return Status(Code::unsupported, what_ + ": state_dict entry \"" + printable(key->text) + "\" is a " +
                                           kind_name(value->kind) +
                                           ", not a tensor (taec reads plain state_dicts)");
    }
    PickledTensor t = value->tensor;
    t.name = key->text;
    out.tensors.push_back(std::move(t));
  }
  return out;
}

Result<PickledStateDict> Unpickler::run() {
  bool stop = false;
  for (size_t ops = 0; !stop; ++ops) {
    if (pos_ >= size_) return error("truncated pickle (no STOP opcode)");
    if (ops >= kMaxOps) return error("the pickle runs more than 2^23 opcodes; no state_dict needs that");
    op_pos_ = pos_;
    uint8_t op = data_[pos_++];
    TAEC_RETURN_IF_ERROR(step(op, &stop));
  }
  if (stack_.size() != 1) return error("pickle ends with " + std::to_string(stack_.size()) + " values on the stack");
  return finish(stack_.back());
}

}  // namespace

Result<PickledStateDict> unpickle_state_dict(const uint8_t* data, size_t size,
                                             const std::string& what) {
  Unpickler unpickler(data, size, what);
  return unpickler.run();
}

}  // namespace taec

// Restricted unpickler for PyTorch state_dicts (`data.pkl` inside a .pth zip).
//
// It understands exactly what `torch.save(model.state_dict())` writes — or `torch.save(tensor)`,
// read as one tensor named "tensor" — : an OrderedDict (with its
// `_metadata` BUILD state, ignored) of tensors rebuilt by torch._utils._rebuild_tensor_v2 over
// persistent-id storages (torch.{Half,Float,BFloat16}Storage). Any other global, and every opcode
// that could import or call something else (INST, OBJ, NEWOBJ, EXT*, …), is refused with an error
// naming it and its byte offset. Nothing is ever executed: "calls" to the allowed globals are
// interpreted here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/checkpoint.h"

namespace taec {

struct PickledStorage {
  std::string key;  // record name under <archive>/data/
  DType dtype = DType::f32;
  int64_t numel = 0;  // as declared by the pickle; checked against the record's size later
};

struct PickledTensor {
  std::string name;
  size_t storage = 0;  // index into PickledStateDict::storages
  int64_t offset = 0;  // in elements
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;
};

struct PickledStateDict {
  std::vector<PickledStorage> storages;
  std::vector<PickledTensor> tensors;  // in pickle (= insertion) order
};

// `what` names the source for messages (e.g. "model.pth: data.pkl").
Result<PickledStateDict> unpickle_state_dict(const uint8_t* data, size_t size,
                                             const std::string& what);

}  // namespace taec

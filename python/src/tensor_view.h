// Tensors borrowed from Python without copying: anything with the buffer protocol (numpy arrays,
// memoryview) or DLPack (`__dlpack__`: CPU torch tensors, bfloat16 included).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <pybind11/pybind11.h>

namespace taec_py {

enum class ElemType { f32, f16, bf16, u8 };

const char* elem_name(ElemType type);  // numpy's names: "float32", "float16", "bfloat16", "uint8"
size_t elem_bytes(ElemType type);

// A dense C-order view of a Python object's memory. `owner` holds the export (a Py_buffer or a
// DLPack capsule's tensor) and releases it when the last copy goes: destroy views with the GIL held.
struct TensorView {
  void* data = nullptr;
  ElemType type = ElemType::f32;
  std::vector<int64_t> shape;
  std::shared_ptr<void> owner;

  size_t elems() const;
  std::string shape_text() const;  // "[1, 32, 8, 8]"
};

// Refuses (taec.errors, naming `what`) a dtype other than float32/float16/bfloat16 (uint8 too when
// allow_u8), a strided or non-CPU tensor, and, when writable, a read-only buffer.
TensorView borrow_tensor(pybind11::handle obj, const char* what, bool writable = false, bool allow_u8 = false);

}  // namespace taec_py

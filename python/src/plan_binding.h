// A compiled plan as Python sees it: fixed size, layout, dtype and threads; called on arrays.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <pybind11/pybind11.h>

#include "taec/taec.hpp"
#include "tensor_view.h"

namespace taec_py {

struct PlanDescription {
  taec_role role;
  bool is_video;
  int height, width;       // image size
  taec_layout layout;
  ElemType dtype;          // what callers pass: the plan's I/O type, or bfloat16 (widened to float32)
  taec_precision precision;
  int threads;             // as asked (0 = all cores)
};

class PyPlan {
 public:
  PyPlan(taec::Plan plan, const PlanDescription& d);

  // image plans: input [N,...] or one item (the plan's input shape without the batch) -> output
  // of the same rank; out: a preallocated array of that shape; uint8: [N,H,W,3] levels.
  pybind11::object run(pybind11::handle input, pybind11::object out, const std::string& output);

  const PlanDescription& desc() const { return desc_; }
  const taec_plan_io& io() const { return io_; }
  taec::Plan& plan() { return plan_; }
  // A plan runs one call at a time (taec.h): calls from several Python threads queue here, with
  // the GIL released, while other plans run.
  std::mutex& mutex() { return mutex_; }

  // Debug hooks (tests): the input pointer the C plan last received, and whether that run held the GIL.
  uintptr_t last_input_address() const { return last_input_.load(); }
  bool last_run_held_gil() const { return last_held_gil_.load(); }
  void note_input(const void* p, bool held_gil) {
    last_input_.store(reinterpret_cast<uintptr_t>(p));
    last_held_gil_.store(held_gil);
  }
  // The items of `v` in the plan's I/O type: v's own memory, or (bfloat16) widened into scratch.
  const void* io_input(const TensorView& v, size_t item, std::vector<float>& scratch) const;
  std::vector<int64_t> item_shape(bool input) const;

 private:
  taec::Plan plan_;
  PlanDescription desc_;
  taec_plan_io io_;
  std::mutex mutex_;
  std::atomic<uintptr_t> last_input_{0};
  std::atomic<bool> last_held_gil_{false};
};

// Checks `v` is `count` items of the plan's input (rank 4 [N,...] or rank 3); returns N, or 0 for
// one unbatched item.
int64_t check_input(const PyPlan& plan, const TensorView& v, const char* what);

ElemType parse_dtype(const std::string& name);
taec_layout parse_layout(const std::string& name);
taec_precision parse_precision(const std::string& name);
const char* precision_name(taec_precision p);

void register_plans(pybind11::module_& m);

}  // namespace taec_py

// The static row schedule: pulls rows from the output backwards, one band per step, and records
// which rows of each tensor are still needed, which sizes every ring buffer; then places tensors
// in one arena by lifetime (greedy, largest first), like a classic memory planner.
#include <algorithm>
#include <functional>

#include "plan/program.h"

namespace taec {
namespace {

struct RowRange {
  int begin, end;
};

enum class InputRole { main, residual, stats };

// The (input, role) pairs an op reads.
std::vector<std::pair<int, InputRole>> op_inputs(const FusedOp& op) {
  std::vector<std::pair<int, InputRole>> in;
  if (op.input >= 0) in.push_back({op.input, InputRole::main});
  for (int t : op.sources) in.push_back({t, InputRole::main});
  if (op.residual >= 0) in.push_back({op.residual, InputRole::residual});
  if (op.stats_input >= 0) in.push_back({op.stats_input, InputRole::stats});
  return in;
}

// Input rows op needs to produce output rows [a, b) (clipped to the tensor).
RowRange input_rows(const FusedOp& op, const TensorDesc& in, int a, int b, InputRole role) {
  RowRange r{a, b};
  if (role == InputRole::residual) return r;
  if (role == InputRole::stats) return {0, in.height};
  switch (op.kind) {
    case FusedKind::conv:
      r = {a * op.stride - op.pad, (b - 1) * op.stride - op.pad + op.kernel};
      break;
    case FusedKind::up2x_conv:  // output row 2i+dy reads low-res rows i-1+dy and i+dy
      r = {(a >> 1) - 1 + (a & 1), ((b - 1) >> 1) + ((b - 1) & 1) + 1};
      break;
    case FusedKind::group_norm_relu:
      if (op.stats_input < 0) r = {0, in.height};  // statistics from the tensor itself: every row
      break;
    case FusedKind::pixel_shuffle:
      r = {a / op.factor, (b - 1) / op.factor + 1};
      break;
    case FusedKind::import_input:
    case FusedKind::export_output:
    case FusedKind::concat:
      break;
  }
  return {std::clamp(r.begin, 0, in.height), std::clamp(r.end, 0, in.height)};
}

class Scheduler {
 public:
  explicit Scheduler(Program& p) : p_(p), done_(p.ops.size(), 0) {
    for (size_t i = 0; i < p.ops.size(); ++i) {
      for (auto [t, role] : op_inputs(p.ops[i])) p.tensors[t].consumers.push_back(static_cast<int>(i));
    }
  }

  // Every output frame in time order, each whole before the next: frames leave a step in order,
  // and the later instances of a node run after the earlier ones (see after_op).
  void run() {
    for (size_t i = 0; i < p_.ops.size(); ++i) {
      if (p_.ops[i].kind == FusedKind::export_output) produce(static_cast<int>(i), p_.ops[i].out_height);
    }
  }

 private:
  // Lowest row of tensor t that some consumer still needs for its next step.
  int lowest_needed(int t) const {
    const TensorDesc& desc = p_.tensors[t];
    int lowest = desc.height;
    for (int c : desc.consumers) {
      const FusedOp& op = p_.ops[c];
      if (done_[c] >= op.out_height) continue;
      const int b = std::min(done_[c] + op.band_rows, op.out_height);
      for (auto [input, role] : op_inputs(op)) {
        if (input == t) lowest = std::min(lowest, input_rows(op, desc, done_[c], b, role).begin);
      }
    }
    return lowest;
  }

  void touch(int t, int step) {
    TensorDesc& d = p_.tensors[t];
    if (d.first_step < 0) d.first_step = step;
    d.last_step = step;
  }

  void produce(int op_index, int upto) {
    FusedOp& op = p_.ops[op_index];
    if (done_[op_index] == 0 && upto > 0 && op.after_op >= 0) produce(op.after_op, p_.ops[op.after_op].out_height);
    while (done_[op_index] < upto) {
      const int a = done_[op_index];
      const int b = std::min(a + op.band_rows, op.out_height);
      for (auto [t, role] : op_inputs(op)) produce(p_.tensors[t].producer, input_rows(op, p_.tensors[t], a, b, role).end);
      const int step = static_cast<int>(p_.steps.size());
      p_.steps.push_back({op_index, a, b});
      for (auto [t, role] : op_inputs(op)) touch(t, step);
      if (op.output >= 0) {
        touch(op.output, step);
        TensorDesc& out = p_.tensors[op.output];
        // Rows [lowest needed, b) must all fit when this step writes.
        out.capacity = std::max(out.capacity, std::min(out.height, b - std::min(lowest_needed(op.output), a)));
      }
      done_[op_index] = b;
    }
  }

  Program& p_;
  std::vector<int> done_;
};

}  // namespace

// Greedy placement by size: each tensor goes at the lowest offset that overlaps no already placed
// tensor whose lifetime overlaps its own.
void place_tensors(Program& p) {
  std::vector<int> order(p.tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return p.tensors[a].bytes() > p.tensors[b].bytes(); });
  std::vector<int> placed;
  size_t end = 0;
  for (int t : order) {
    TensorDesc& d = p.tensors[t];
    const size_t size = (d.bytes() + sizeof(float) - 1) / sizeof(float);
    std::vector<std::pair<size_t, size_t>> busy;
    for (int q : placed) {
      const TensorDesc& o = p.tensors[q];
      if (o.last_step < d.first_step || d.last_step < o.first_step) continue;
      busy.push_back({o.offset, o.offset + (o.bytes() + sizeof(float) - 1) / sizeof(float)});
    }
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    for (const auto& [b, e] : busy) {
      if (offset + size <= b) break;
      offset = std::max(offset, e);
    }
    d.offset = offset;
    end = std::max(end, offset + size);
    placed.push_back(t);
  }
  size_t max_stride = 0;
  for (const auto& d : p.tensors) max_stride = std::max(max_stride, d.row_stride);
  p.zero_row_offset = (end + 15) / 16 * 16;
  p.arena_floats = p.zero_row_offset + max_stride;
}

Status schedule_program(Program& program, bool whole_tensors) {
  Scheduler scheduler(program);
  scheduler.run();
  for (auto& t : program.tensors) {
    if (whole_tensors) t.capacity = t.height;
    if (t.capacity <= 0 || t.first_step < 0) {
      return Status(Code::internal, "schedule left a tensor unproduced (bug in the plan compiler)");
    }
  }
  place_tensors(program);
  return ok_status();
}

}  // namespace taec

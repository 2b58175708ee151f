// Program::describe(): the canonical text whose SHA-256 a package's plan file records, so a
// loader can tell whether this build of taec would run exactly the program that was validated.
#include <cstdio>
#include <string>

#include "plan/program.h"

namespace taec {
namespace {

void append(std::string& s, const char* fmt, auto... args) {
  char buf[256];
  const int n = std::snprintf(buf, sizeof buf, fmt, args...);
  s.append(buf, static_cast<size_t>(n));
}

}  // namespace

std::string Program::describe() const {
  std::string s = "taec-program 1\n";
  append(s, "arena %zu zero_row %zu final %d\n", arena_floats, zero_row_offset, final_tensor);
  for (const TensorDesc& t : tensors) {
    append(s, "tensor c=%d h=%d w=%d stride=%zu cap=%d off=%zu producer=%d life=%d..%d\n", t.channels, t.height, t.width,
           t.row_stride, t.capacity, t.offset, t.producer, t.first_step, t.last_step);
    if (t.u8_shadow) {
      s.pop_back();
      append(s, " u8 off=%zu stride=%zu scale=%a zp=%d only=%d\n", t.u8_offset(), t.u8_row_stride, double(t.q_scale), t.q_zero_point,
             int(t.u8_only));
    }
  }
  for (const FusedOp& op : ops) {
    append(s, "op %s '", fused_op_name(op.kind));
    s += op.name;
    append(s, "' in=%d res=%d out=%d %dx%d band=%d k=%d s=%d p=%d cin=%d cout=%d relu=%d", op.input, op.residual, op.output,
           op.out_height, op.out_width, op.band_rows, op.kernel, op.stride, op.pad, op.cin, op.cout, int(op.relu));
    append(s, " winograd=%d m=%d bf16=%d bias=%zu stats=%d/%d groups=%d eps=%a clamp=%a\n", int(op.winograd), op.winograd_m,
           int(op.bf16), op.bias.size(), op.stats_input, op.stats_conv_op, op.groups, double(op.eps), double(op.clamp_limit));
    if (op.frame || op.factor != 1 || !op.sources.empty() || op.state >= 0 || op.after_op >= 0) {  // video programs only
      s.pop_back();
      append(s, " frame=%d factor=%d state=%d after=%d sources", op.frame, op.factor, op.state, op.after_op);
      for (int t : op.sources) append(s, " %d", t);
      s += "\n";
    }
    if (op.int8) {  // the calibrated step is part of the program: another calibration is another program
      s.pop_back();
      append(s, " int8 in_scale=%a zero_point=%d\n", double(op.in_scale), op.zero_point);
    }
  }
  for (const StateDesc& st : states) append(s, "state c=%d h=%d w=%d off=%zu\n", st.channels, st.height, st.width, st.offset);
  s += "steps";
  for (const Step& st : steps) append(s, " %d:%d-%d", st.op, st.row_begin, st.row_end);
  s += "\n";
  return s;
}

}  // namespace taec

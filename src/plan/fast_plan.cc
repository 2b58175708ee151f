#include "plan/fast_plan.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "base/cpu.h"
#include "base/half.h"
#include "base/thread_pool.h"
#include "kernels/conv/depthwise_nhwc.h"
#include "plan/io_convert.h"
#include "plan/program.h"
#include "plan/tune.h"

namespace taec {
namespace {

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

class FastPlan final : public Plan {
 public:
  FastPlan(std::shared_ptr<const Model> model, const PlanOptions& options, const PlanShapes& shapes,
           Program program, const ConvKernelSet& kernels, const WinogradBf16KernelSet* bf16, const ConvI8KernelSet* i8,
           std::string isa_note)
      : Plan(std::move(model), options, shapes),
        program_(std::move(program)),
        kernels_(kernels),
        bf16_(bf16),
        i8_(i8),
        pool_(options.threads),
        isa_note_(std::move(isa_note)) {
    if (options.winograd_tiles > 0) winograd_tiles_ = options.winograd_tiles;
    if (options.shared_arena && options.shared_arena_floats >= program_.arena_floats) {
      arena_ = options.shared_arena;  // the caller (a flexible plan) zeroes it before each run
    } else {
      arena_.reset(static_cast<float*>(std::aligned_alloc(64, (program_.arena_floats * sizeof(float) + 63) / 64 * 64)), FreeDeleter());
    }
    if (arena_) std::memset(arena_.get(), 0, program_.arena_floats * sizeof(float));
    size_t scratch_floats = 0, stat_channels = 0;
    for (const auto& op : program_.ops) {
      scale_shift_.emplace_back(op.kind == FusedKind::group_norm_relu ? 2 * program_.tensors[op.input].channels : 0);
      if (op.stats_conv_op >= 0) {
        const FusedOp& conv = program_.ops[op.stats_conv_op];
        scratch_floats = std::max(scratch_floats, static_cast<size_t>(conv.out_width) * conv.cout);
        stat_channels = std::max(stat_channels, static_cast<size_t>(conv.cout));
      }
    }
    gn_scratch_.assign(scratch_floats ? kStatSegments : 0, std::vector<float>(scratch_floats));
    size_t winograd_floats = 0;
    for (const auto& op : program_.ops) {
      const size_t positions = static_cast<size_t>(op.winograd_m + 2) * (op.winograd_m + 2);
      if (op.winograd) winograd_floats = std::max(winograd_floats, positions * (winograd_tiles_ * (op.cin + op.gemm_cout) + 32));
    }
    winograd_scratch_.assign(winograd_floats ? pool_.threads() : 0, std::vector<float>(winograd_floats));
    size_t bf16_elems = 0;
    for (const auto& op : program_.ops) {
      if (op.bf16) bf16_elems = std::max(bf16_elems, static_cast<size_t>(36) * (winograd_tiles_ * op.cin + 16));
    }
    winograd_bf16_scratch_.assign(bf16_elems ? pool_.threads() : 0, std::vector<uint16_t>(bf16_elems));
    gn_partials_.assign(stat_channels ? kStatSegments : 0, std::vector<double>(2 * stat_channels));
    op_seconds_.assign(program_.ops.size(), 0.0);
    // Quantized input rows of the step being run (for int8 convs whose input has no u8 shadow),
    // then the zero rows standing in for rows outside the image (every int8 conv reads those).
    size_t i8_bytes = 0, i8_zero = 0;
    for (const Step& st : program_.steps) {
      const FusedOp& op = program_.ops[st.op];
      if (!op.int8) continue;
      const size_t stride = i8_row_stride(op);
      i8_zero = std::max(i8_zero, stride);
      if (program_.tensors[op.input].u8_shadow) continue;
      const auto [first, last] = int8_input_rows(op, st);
      i8_bytes = std::max(i8_bytes, static_cast<size_t>(last - first + 1) * stride);
    }
    if (i8_zero) {  // a row of zero-point-0 zeros and one of zero-point-128 zeros
      i8_rows_.assign(i8_bytes + 2 * i8_zero, 0);
      i8_zero_rows_[0] = i8_rows_.data() + i8_bytes;
      i8_zero_rows_[1] = i8_zero_rows_[0] + i8_zero;
      std::memset(i8_rows_.data() + i8_bytes + i8_zero, 128, i8_zero);
    }
    if (options.calibrate_into) tensor_max_.assign(program_.tensors.size(), 0.0f);
    io_row_elems_ = static_cast<size_t>(std::max(shapes.input.width * shapes.input.channels, shapes.output.width * shapes.output.channels));
    io_row_.resize(io_row_elems_ * pool_.threads());
    size_t band_rows = 0;  // the most output rows one export step writes
    for (const Step& st : program_.steps) {
      const FusedOp& op = program_.ops[st.op];
      if (op.kind == FusedKind::export_output) band_rows = std::max(band_rows, static_cast<size_t>(st.row_end - st.row_begin) * op.factor);
    }
    band_.resize(band_rows * shapes.output.width * shapes.output.channels * (options.io_dtype == IoDtype::f16 ? 2 : 4));
  }

  bool allocated() const { return arena_ != nullptr; }

  Status run_step(const void* input, void* output, float* state) override {
    output_ = output;
    band_sink_ = nullptr;
    band_status_ = ok_status();
    return run_steps(input, state);
  }

  Status run_step_bands(const void* input, const OutputBand& band, float* state) override {
    output_ = band_.data();
    band_sink_ = &band;
    band_status_ = ok_status();
    const Status s = run_steps(input, state);
    band_sink_ = nullptr;
    TAEC_RETURN_IF_ERROR(band_status_);
    return s;
  }

  std::string program_description() const override { return program_.describe(); }
  const Program* program() const override { return &program_; }
  void set_tuning(const TuneOutcome& t) { tuning_ = t; }
  size_t state_floats() const override { return program_.state_floats; }

  PlanStats stats() const override {
    PlanStats s;
    s.engine = "compiled";
    s.isa = isa_name(kernels_.isa);
    s.isa_note = isa_note_ + (note_.empty() || isa_note_.empty() ? "" : "; ") + note_;
    s.kernel = std::string(kernels_.name) + (bf16_ ? std::string(" + ") + bf16_->name : "") + (i8_ ? std::string(" + ") + i8_->name : "");
    s.arena_bytes = program_.arena_floats * sizeof(float);
    s.weight_bytes = program_.weight_bytes();
    s.model_flops = program_.model_flops();
    s.executed_flops = program_.flops();
    s.steps = program_.steps.size();
    s.threads = pool_.threads();
    s.tuning = !tuning_.note.empty()             ? tuning_.note
               : options_.conv_choices != nullptr ? "conv algorithms as recorded (" + std::to_string(options_.conv_choices->size()) + " choices)"
                                                  : "tune off: default conv algorithms";
    for (size_t i = 0; i < program_.ops.size(); ++i) {
      const FusedOp& op = program_.ops[i];
      const std::string kind = op.bf16 ? "conv_winograd_bf16" : op.winograd ? "conv_winograd" : fused_op_name(op.kind);
      PlanStats::Op o{op.name, op.int8 ? kind + "_int8" : kind, op.flops, op_seconds_[i]};
      if (!op.choice.empty()) {
        o.algo = conv_algo_name(op.algo);
        o.choice = op.choice;
        const auto it = tuning_.measured.find(op.choice);
        if (it != tuning_.measured.end()) o.tuning = it->second;
      }
      s.ops.push_back(std::move(o));
      s.winograd_convs += op.winograd;
    }
    for (const TensorDesc& t : program_.tensors) {
      s.tensors.push_back({program_.ops[t.producer].name, t.channels, t.height, t.width, t.capacity, t.bytes(),
                           t.offset * sizeof(float), t.first_step, t.last_step});
    }
    return s;
  }

 private:
  // The steps of one run, the output going to output_ (a whole buffer, or band_ with band_sink_).
  Status run_steps(const void* input, float* state) {
    if (options_.nonfinite == NonfinitePolicy::reject) {
      for (int f = 0; f < shapes_.frames_in; ++f) {
        TAEC_RETURN_IF_ERROR(check_finite_external(static_cast<const uint8_t*>(input) + f * in_frame_bytes(), options_.layout,
                                                   options_.io_dtype, shapes_.input, model_->role == Role::decoder ? "latent" : "image"));
      }
    }
    if (program_.state_floats > 0 && state == nullptr) return Status(Code::invalid_argument, "a video plan's step needs its state");
    state_ = state;
    std::unique_lock<std::mutex> lock;
    if (options_.shared_arena_mutex) lock = std::unique_lock<std::mutex>(*options_.shared_arena_mutex);
    // Another plan may have used a shared arena since: every row a step reads is written (pads
    // included) earlier in this run, except the row of zeros standing in for rows outside.
    if (options_.shared_arena == arena_) {
      std::memset(arena_.get() + program_.zero_row_offset, 0, (program_.arena_floats - program_.zero_row_offset) * sizeof(float));
    }
    input_ = input;
    std::fill(op_seconds_.begin(), op_seconds_.end(), 0.0);
    for (const Step& step : program_.steps) {
      const auto start = std::chrono::steady_clock::now();
      execute(step);
      op_seconds_[step.op] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (options_.calibrate_into) observe_max(step);
      if (!band_status_.ok()) return ok_status();  // the band's error is the step's
    }
    if (options_.calibrate_into) record_calibration(*options_.calibrate_into);
    return ok_status();
  }

  float* row(int t, int r) const {
    const TensorDesc& d = program_.tensors[t];
    if (r < 0 || r >= d.height) return arena_.get() + program_.zero_row_offset + d.channels;
    return arena_.get() + d.offset + static_cast<size_t>(r % d.capacity) * d.row_stride + d.channels;
  }

  void zero_pads(int t, int r) const {
    const TensorDesc& d = program_.tensors[t];
    float* p = row(t, r);
    std::memset(p - d.channels, 0, d.channels * sizeof(float));
    std::memset(p + static_cast<size_t>(d.width) * d.channels, 0, static_cast<size_t>(kRightPadPixels) * d.channels * sizeof(float));
  }

  // Input rows an int8 step reads, first..last (may reach outside the image: zero rows).
  static std::pair<int, int> int8_input_rows(const FusedOp& op, const Step& st) {
    if (op.kind == FusedKind::up2x_conv) return {(st.row_begin >> 1) - 1, ((st.row_end - 1) >> 1) + 1};
    return {st.row_begin * op.stride - op.pad, (st.row_end - 1) * op.stride - op.pad + op.kernel - 1};
  }

  size_t i8_row_stride(const FusedOp& op) const {
    const TensorDesc& in = program_.tensors[op.input];
    return u8_row_bytes(in.width, in.channels);
  }

  // Quantizes rows first..last of op's input into i8_rows_ (row r at index r - first).
  void quantize_input_rows(const FusedOp& op, int first, int last) {
    const TensorDesc& in = program_.tensors[op.input];
    const size_t stride = i8_row_stride(op), row_bytes = static_cast<size_t>(in.width) * in.channels;
    const float inv_scale = 1.0f / op.in_scale;
    i8_first_row_ = first;
    auto quantize = [&](size_t i, int) {
      const int r = first + static_cast<int>(i);
      if (r < 0 || r >= in.height) return;
      uint8_t* dst = i8_rows_.data() + i * stride;
      std::memset(dst, op.zero_point, in.channels);
      i8_->quantize_row(row(op.input, r), row_bytes, inv_scale, static_cast<float>(op.zero_point), dst + in.channels);
      std::memset(dst + in.channels + row_bytes, op.zero_point, in.channels);
    };
    pool_.parallel_for(static_cast<size_t>(last - first + 1), quantize);
  }

  // Quantized row r of an int8 conv's input, positioned at pixel 0: from the input's u8 shadow,
  // else from the rows the current step quantized.
  const uint8_t* i8_row(const FusedOp& op, int r) const {
    const TensorDesc& in = program_.tensors[op.input];
    if (r < 0 || r >= in.height) return i8_zero_rows_[op.zero_point ? 1 : 0] + in.channels;
    if (in.u8_shadow) return u8_row(in, r);
    return i8_rows_.data() + static_cast<size_t>(r - i8_first_row_) * i8_row_stride(op) + in.channels;
  }

  uint8_t* u8_row(const TensorDesc& t, int r) const {
    return reinterpret_cast<uint8_t*>(arena_.get()) + t.u8_offset() + static_cast<size_t>(r % t.capacity) * t.u8_row_stride + t.channels;
  }

  // After a step: the pad pixels of every row it wrote, fp32 and u8 (the arena is shared by
  // tensors with disjoint lifetimes, and perhaps by other plans, so nothing stays put).
  void finish_rows(const FusedOp& op, const Step& s) {
    const TensorDesc& out = program_.tensors[op.output];
    for (int y = s.row_begin; y < s.row_end; ++y) {
      if (!out.u8_only) zero_pads(op.output, y);
      if (out.u8_shadow) {
        uint8_t* r = u8_row(out, y);
        std::memset(r - out.channels, out.q_zero_point, out.channels);
        std::memset(r + static_cast<size_t>(out.width) * out.channels, out.q_zero_point, out.channels);
      }
    }
  }

  // Points a's out_q at the output's shadow (pixel offset `px` of row y), if it has one; with
  // nobody reading the fp32 rows, they are not written.
  void set_out_q(ConvRowI8Args& a, const FusedOp& op, int y, size_t px, size_t px_step) const {
    const TensorDesc& out = program_.tensors[op.output];
    if (!out.u8_shadow) return;
    if (out.u8_only) a.out = nullptr;
    a.out_q = u8_row(out, y) + px * out.channels;
    a.out_q_px_step = px_step * out.channels;
    a.out_q_inv_scale = 1.0f / out.q_scale;
    a.out_q_zero_point = static_cast<float>(out.q_zero_point);
  }

  ConvRowI8Args conv_row_i8_args(const FusedOp& op, int matrix) const {
    ConvRowI8Args a{};
    a.cin = op.cin;
    a.cout = op.cout;
    a.in_px_step = a.tap_step = op.cin;
    a.weights = op.packed->i8[matrix].data();
    a.scale = op.i8_scale[matrix].data();
    a.zero_point_sum = op.zero_point ? op.i8_zero_point_sum[matrix].data() : nullptr;
    a.bias = op.bias.empty() ? nullptr : op.bias.data();
    a.relu = op.relu;
    return a;
  }

  void run_int8_conv_step(const FusedOp& op, const Step& s) {
    const auto [first, last] = int8_input_rows(op, s);
    if (!program_.tensors[op.input].u8_shadow) quantize_input_rows(op, first, last);
    const int rows = s.row_end - s.row_begin;
    for_items(rows, chunks_per_row(rows, op.out_width), op.out_width, [&](int r, int x0, int x1) {
      const int y = s.row_begin + r;
      ConvRowI8Args a = conv_row_i8_args(op, 0);
      for (int ky = 0; ky < op.kernel; ++ky) {
        a.rows[ky] = i8_row(op, y * op.stride - op.pad + ky) + static_cast<ptrdiff_t>(x0 * op.stride - op.pad) * op.cin;
      }
      a.kh = a.kw = op.kernel;
      a.in_px_step = static_cast<size_t>(op.stride) * op.cin;
      a.residual = op.residual >= 0 ? row(op.residual, y) + static_cast<size_t>(x0) * op.cout : nullptr;
      a.out = row(op.output, y) + static_cast<size_t>(x0) * op.cout;
      a.out_px_step = op.cout;
      a.pixels = x1 - x0;
      set_out_q(a, op, y, x0, 1);
      i8_->conv_row(a);
    });
    finish_rows(op, s);
  }

  void run_int8_up2x_step(const FusedOp& op, const Step& s) {
    const auto [first, last] = int8_input_rows(op, s);
    if (!program_.tensors[op.input].u8_shadow) quantize_input_rows(op, first, last);
    const int rows = s.row_end - s.row_begin, low_width = program_.tensors[op.input].width;
    for_items(2 * rows, chunks_per_row(2 * rows, low_width), low_width, [&](int rp, int j0, int j1) {
      const int y = s.row_begin + rp / 2, dx = rp % 2, dy = y & 1, i = y >> 1;
      ConvRowI8Args a = conv_row_i8_args(op, dy * 2 + dx);
      for (int ty = 0; ty < 2; ++ty) a.rows[ty] = i8_row(op, i - 1 + dy + ty) + static_cast<ptrdiff_t>(j0 - 1 + dx) * op.cin;
      a.kh = a.kw = 2;
      const size_t out_offset = static_cast<size_t>(2 * j0 + dx) * op.cout;
      a.residual = op.residual >= 0 ? row(op.residual, y) + out_offset : nullptr;
      a.out = row(op.output, y) + out_offset;
      a.out_px_step = 2 * static_cast<size_t>(op.cout);
      a.pixels = j1 - j0;
      set_out_q(a, op, y, 2 * j0 + dx, 2);
      i8_->conv_row(a);
    });
    finish_rows(op, s);
  }

  // Calibration: the max |x| of every tensor over the rows each step wrote.
  void observe_max(const Step& s) {
    const FusedOp& op = program_.ops[s.op];
    if (op.output < 0) return;
    const TensorDesc& d = program_.tensors[op.output];
    float m = tensor_max_[op.output];
    for (int y = s.row_begin; y < s.row_end; ++y) {
      const float* r = row(op.output, y);
      for (size_t i = 0; i < static_cast<size_t>(d.width) * d.channels; ++i) m = std::max(m, std::fabs(r[i]));
    }
    tensor_max_[op.output] = m;
  }

  void record_calibration(ActivationCalibration& cal) const {
    for (const FusedOp& op : program_.ops) {
      if (op.kind != FusedKind::conv && op.kind != FusedKind::up2x_conv) continue;
      float& m = cal.input_absmax[op.name];
      m = std::max(m, tensor_max_[op.input]);
    }
  }

  // Splits each of `rows` rows into column chunks: at least two items per thread, and a multiple
  // of the thread count where the row width allows, so no thread idles through the step's tail.
  int chunks_per_row(int rows, int pixels) const {
    const int threads = pool_.threads();
    if (threads == 1) return 1;
    const int max_chunks = std::max(1, pixels / 32);
    int chunks = 1;
    while (chunks < max_chunks && (rows * chunks < 2 * threads || (rows * chunks) % threads != 0)) ++chunks;
    return chunks;
  }

  // The per-position products in fp32, each a 1x1 conv of the transformed tiles.
  void winograd_products_fp32(const FusedOp& op, int positions, int tiles, const float* v, size_t v_stride, float* m,
                              size_t m_stride) const {
    ConvRowArgs a{};
    a.kh = a.kw = 1;
    a.in_px_step = a.tap_step = op.cin;
    a.cin = op.cin;
    a.cout = op.gemm_cout;
    a.out_px_step = op.gemm_cout;
    a.pixels = tiles;
    for (int p = 0; p < positions; ++p) {
      a.rows[0] = v + p * v_stride;
      a.weights = op.packed->f32[p].data();
      a.out = m + p * m_stride;
      kernels_.conv_row(a);
    }
  }

  // One step of a Winograd conv (an up2x conv's at the input's resolution, see lower.cc). Items
  // are runs of consecutive tiles of the step's tiles in row-major order, crossing tile rows; each
  // transforms its tiles, runs the (M+2)^2 per-position GEMMs over all of them, and transforms
  // back. Grouping does not change a bit.
  void run_winograd_step(const FusedOp& op, const Step& s) {
    const int mt = op.winograd_m, t = mt + 2, positions = t * t, gc = op.gemm_cout;
    const bool up = op.kind == FusedKind::up2x_conv;
    const int width = up ? op.out_width / 2 : op.out_width;  // tile grid resolution
    const int row_begin = up ? s.row_begin / 2 : s.row_begin, row_end = up ? (s.row_end + 1) / 2 : s.row_end;
    const int tiles_x = (width + mt - 1) / mt;
    const int tile_rows = (row_end - row_begin + mt - 1) / mt;
    const int total = tile_rows * tiles_x;
    // Up to a tile row per item (more measured slower: the transformed tiles outgrow L2), but at
    // least 24 tiles where rows are short, so the weights are not streamed for a handful of tiles;
    // enough items that every thread gets an equal share (a 3-item step on 2 threads idles one
    // for a third of it).
    const int threads = pool_.threads();
    const int cap = std::min(winograd_tiles_, std::max(tiles_x, 24));
    int items = (total + cap - 1) / cap;
    while (threads > 1 && items < total && (items < 2 * threads || items % threads != 0)) ++items;
    const int per_item = (total + items - 1) / items;
    const auto& fns = kernels_.winograd_for(mt);
    // Calls f(first slot, tile row's y0, first tile in the row, tiles) for each tile-row run.
    auto for_runs = [&](int begin, int end, auto&& f) {
      for (int k = begin; k < end;) {
        const int ty = k / tiles_x, t0 = k % tiles_x, n = std::min(end - k, tiles_x - t0);
        f(k - begin, row_begin + mt * ty, t0, n);
        k += n;
      }
    };
    const float* bias = op.bias.empty() ? nullptr : op.bias.data();
    auto item = [&](size_t i, int thread) {
      const int begin = static_cast<int>(i) * per_item, end = std::min(total, begin + per_item);
      const int tiles = end - begin;
      if (tiles <= 0) return;
      // Position planes a cache line apart from a power of two, so the transforms' streams do
      // not all land in the same L1 sets.
      const size_t v_stride = static_cast<size_t>(tiles) * op.cin + 16, m_stride = static_cast<size_t>(tiles) * gc + 16;
      float* v = winograd_scratch_[thread].data();
      float* m = v + positions * v_stride;
      uint16_t* v16 = op.bf16 ? winograd_bf16_scratch_[thread].data() : nullptr;
      for_runs(begin, end, [&](int slot, int y0, int t0, int n) {
        const float* in_rows[8];
        for (int r = 0; r < t; ++r) in_rows[r] = row(op.input, y0 - 1 + r) + static_cast<ptrdiff_t>(mt * t0 - 1) * op.cin;
        const size_t at = static_cast<size_t>(slot) * op.cin;
        if (op.bf16) bf16_->winograd_input(in_rows, n, op.cin, v16 + at, v_stride);
        else fns.input(in_rows, n, op.cin, v + at, v_stride);
      });
      if (op.bf16) {
        for (int p = 0; p < positions; ++p) {
          bf16_->gemm({v16 + p * v_stride, static_cast<size_t>(op.cin), op.packed->bf16[p].data(), m + p * m_stride,
                       static_cast<size_t>(gc), tiles, gc, op.cin});
        }
      } else {
        winograd_products_fp32(op, positions, tiles, v, v_stride, m, m_stride);
      }
      for_runs(begin, end, [&](int slot, int y0, int t0, int n) {
        WinogradOutArgs a{};
        a.m_pos_stride = m_stride;
        a.m_tile_stride = gc;
        a.tiles = n;
        a.channels = op.cout;
        a.bias = bias;
        a.rows_valid = std::min(mt, row_end - y0);
        a.cols_valid = width - mt * t0;
        a.relu = op.relu;
        float* out_rows[6];
        const float* res_rows[6];
        a.out_rows = out_rows;
        if (!up) {
          for (int r = 0; r < mt; ++r) {
            const int y = std::min(y0 + r, row_end - 1);  // rows past the band are not written
            out_rows[r] = row(op.output, y) + static_cast<size_t>(mt * t0) * op.cout;
            res_rows[r] = op.residual >= 0 ? row(op.residual, y) + static_cast<size_t>(mt * t0) * op.cout : nullptr;
          }
          a.m = m + static_cast<size_t>(slot) * gc;
          a.res_rows = op.residual >= 0 ? res_rows : nullptr;
          a.out_px_step = op.cout;
          fns.output(a);
          return;
        }
        // Phase (dy, dx) of low-resolution pixel (y, x) is output pixel (2y + dy, 2x + dx).
        a.out_px_step = 2 * static_cast<size_t>(op.cout);
        for (int phase = 0; phase < 4; ++phase) {
          const int dy = phase / 2, dx = phase % 2;
          for (int r = 0; r < mt; ++r) {
            const int y = std::min(y0 + r, row_end - 1);
            out_rows[r] = row(op.output, 2 * y + dy) + static_cast<size_t>(2 * mt * t0 + dx) * op.cout;
          }
          a.m = m + static_cast<size_t>(slot) * gc + static_cast<size_t>(phase) * op.cout;
          fns.output(a);
        }
      });
    };
    pool_.parallel_for(static_cast<size_t>(items), item);
    for (int y = s.row_begin; y < s.row_end; ++y) zero_pads(op.output, y);
  }

  template <typename F>
  void for_items(int rows, int chunks, int pixels, F&& body) {
    auto item = [&](size_t i, int) {
      const int r = static_cast<int>(i) / chunks, c = static_cast<int>(i) % chunks;
      const int per = (pixels + chunks - 1) / chunks;
      const int x0 = std::min(pixels, c * per), x1 = std::min(pixels, x0 + per);
      if (x0 < x1) body(r, x0, x1);
    };
    pool_.parallel_for(static_cast<size_t>(rows) * chunks, item);
  }

  size_t in_frame_bytes() const { return shapes_.input_frame_elems() * (options_.io_dtype == IoDtype::f16 ? 2 : 4); }
  size_t out_frame_bytes() const { return shapes_.output_frame_elems() * (options_.io_dtype == IoDtype::f16 ? 2 : 4); }

  float* state_row(int state, int r) const {
    const StateDesc& d = program_.states[state];
    return state_ + d.offset + static_cast<size_t>(r) * d.width * d.channels;
  }

  // Row y of the import's output: an external row, or with a pixel unshuffle by f the f external
  // rows it gathers (channel ch*f*f + i*f + j of pixel x = external channel ch at (y*f+i, x*f+j)).
  void import_rows(const FusedOp& op, const Step& s) {
    const void* frame = static_cast<const uint8_t*>(input_) + op.frame * in_frame_bytes();
    const ValueShape& ext = shapes_.input;
    for_rows(s, [&](int y, int thread) {
      float* dst = row(op.output, y);
      if (op.factor == 1) {
        import_row(frame, options_.layout, options_.io_dtype, ext, y, op.clamp_limit, dst);
      } else {
        const int f = op.factor, w = ext.width / f, c = ext.channels;
        float* io = io_row(thread);
        for (int i = 0; i < f; ++i) {
          import_row(frame, options_.layout, options_.io_dtype, ext, y * f + i, op.clamp_limit, io);
          for (int x = 0; x < w; ++x)
            for (int j = 0; j < f; ++j)
              for (int ch = 0; ch < c; ++ch) dst[static_cast<size_t>(x) * c * f * f + (ch * f + i) * f + j] = io[(static_cast<size_t>(x) * f + j) * c + ch];
        }
      }
      zero_pads(op.output, y);
    });
  }

  // Row y of the export's input to the output frame: one external row, or with a pixel shuffle by f
  // the f rows y*f + i it spreads to.
  // Bands: the step's rows go to band_ as a frame of just those rows, then to the sink.
  void export_rows(const FusedOp& op, const Step& s) {
    const int f = op.factor;
    ValueShape ext = shapes_.output;
    void* frame = band_sink_ ? output_ : static_cast<uint8_t*>(output_) + op.frame * out_frame_bytes();
    const int first = band_sink_ ? s.row_begin * f : 0;
    if (band_sink_) ext.height = (s.row_end - s.row_begin) * f;
    for_rows(s, [&](int y, int thread) {
      const float* src = row(op.input, y);
      if (f == 1) {
        export_row(src, ext, y - first, options_.layout, options_.io_dtype, frame);
        return;
      }
      const int w = ext.width / f, c = ext.channels;
      float* io = io_row(thread);
      for (int i = 0; i < f; ++i) {
        shuffle_row(src, w, c, f, i, io);
        export_row(io, ext, y * f + i - first, options_.layout, options_.io_dtype, frame);
      }
    });
    if (band_sink_) band_status_ = (*band_sink_)(op.frame, first, s.row_end * f, frame);
  }

  float* io_row(int thread) { return io_row_.data() + static_cast<size_t>(thread) * io_row_elems_; }

  // body(y, thread) for each row of the step, rows shared among the threads: the copies at a
  // plan's edges and a MemBlock's concat are memory-bound but still 10 % of a video step.
  template <typename F>
  void for_rows(const Step& s, F&& body) {
    auto item = [&](size_t r, int thread) { body(s.row_begin + static_cast<int>(r), thread); };
    pool_.parallel_for(static_cast<size_t>(s.row_end - s.row_begin), item);
  }

  // Output row i (of f) of a pixel shuffle of one NHWC row of w pixels x c*f*f channels.
  static void shuffle_row(const float* src, int w, int c, int f, int i, float* dst) {
    for (int x = 0; x < w; ++x)
      for (int j = 0; j < f; ++j)
        for (int ch = 0; ch < c; ++ch) dst[(static_cast<size_t>(x) * f + j) * c + ch] = src[static_cast<size_t>(x) * c * f * f + (ch * f + i) * f + j];
  }

  // Sources side by side in each pixel, then the state's row; the state row then takes source 0's.
  void concat_rows(const FusedOp& op, const Step& s) {
    const TensorDesc& out = program_.tensors[op.output];
    for_rows(s, [&](int y, int) {
      float* dst = row(op.output, y);
      int at = 0;
      for (int t : op.sources) {
        const int c = program_.tensors[t].channels;
        const float* src = row(t, y);
        for (int x = 0; x < out.width; ++x) std::memcpy(dst + static_cast<size_t>(x) * out.channels + at, src + static_cast<size_t>(x) * c, c * sizeof(float));
        at += c;
      }
      if (op.state >= 0) {
        const int c = program_.states[op.state].channels;
        float* st = state_row(op.state, y);
        const float* x0 = row(op.sources[0], y);
        for (int x = 0; x < out.width; ++x) {
          std::memcpy(dst + static_cast<size_t>(x) * out.channels + at, st + static_cast<size_t>(x) * c, c * sizeof(float));
          std::memcpy(st + static_cast<size_t>(x) * c, x0 + static_cast<size_t>(x) * c, c * sizeof(float));
        }
      }
      zero_pads(op.output, y);
    });
  }

  void pixel_shuffle_rows(const FusedOp& op, const Step& s) {
    const TensorDesc& out = program_.tensors[op.output];
    for (int y = s.row_begin; y < s.row_end; ++y) {
      shuffle_row(row(op.input, y / op.factor), out.width / op.factor, out.channels, op.factor, y % op.factor, row(op.output, y));
      zero_pads(op.output, y);
    }
  }

  // A depthwise conv: packed weights [ky][kx][c], one work item per output row.
  void depthwise_rows(const FusedOp& op, const Step& s) {
    const TensorDesc& in = program_.tensors[op.input];
    auto item = [&](size_t r, int) {
      const int y = s.row_begin + static_cast<int>(r);
      DepthwiseRowArgs a{};
      for (int ky = 0; ky < op.kernel; ++ky) a.rows[ky] = row(op.input, y * op.stride - op.pad + ky);
      a.kernel = op.kernel;
      a.stride = op.stride;
      a.pad = op.pad;
      a.channels = op.cout;
      a.in_width = in.width;
      a.out_width = op.out_width;
      a.weights = op.packed->f32[0].data();
      a.bias = op.bias.empty() ? nullptr : op.bias.data();
      a.residual = op.residual >= 0 ? row(op.residual, y) : nullptr;
      a.relu = op.relu;
      a.out = row(op.output, y);
      depthwise_row_f32(a);
    };
    pool_.parallel_for(static_cast<size_t>(s.row_end - s.row_begin), item);
    for (int y = s.row_begin; y < s.row_end; ++y) zero_pads(op.output, y);
  }

  void execute(const Step& s) {
    const FusedOp& op = program_.ops[s.op];
    const int rows = s.row_end - s.row_begin;
    switch (op.kind) {
      case FusedKind::import_input:
        import_rows(op, s);
        break;
      case FusedKind::concat:
        concat_rows(op, s);
        break;
      case FusedKind::pixel_shuffle:
        pixel_shuffle_rows(op, s);
        break;
      case FusedKind::conv: {
        if (op.groups > 1) {
          depthwise_rows(op, s);
          break;
        }
        if (op.int8) {
          run_int8_conv_step(op, s);
          break;
        }
        if (op.winograd) {
          run_winograd_step(op, s);
          break;
        }
        for_items(rows, chunks_per_row(rows, op.out_width), op.out_width, [&](int r, int x0, int x1) {
          const int y = s.row_begin + r;
          kernels_.conv_row(conv_row_args(op, y, x0, x1, row(op.output, y)));
        });
        for (int y = s.row_begin; y < s.row_end; ++y) zero_pads(op.output, y);
        break;
      }
      case FusedKind::up2x_conv: {
        if (op.winograd) {
          run_winograd_step(op, s);
          break;
        }
        if (op.int8) {
          run_int8_up2x_step(op, s);
          break;
        }
        const TensorDesc& in = program_.tensors[op.input];
        const TensorDesc& out = program_.tensors[op.output];
        const int low_width = in.width;
        // Items: (row, phase dx) pairs, each split into column chunks of low-res pixels.
        const int chunks = chunks_per_row(2 * rows, low_width);
        for_items(2 * rows, chunks, low_width, [&](int rp, int j0, int j1) {
          const int y = s.row_begin + rp / 2, dx = rp % 2, dy = y & 1, i = y >> 1;
          ConvRowArgs a{};
          for (int ty = 0; ty < 2; ++ty) {
            a.rows[ty] = row(op.input, i - 1 + dy + ty) + static_cast<ptrdiff_t>(j0 - 1 + dx) * in.channels;
          }
          a.kh = a.kw = 2;
          a.in_px_step = in.channels;
          a.tap_step = in.channels;
          a.cin = op.cin;
          a.cout = op.cout;
          a.weights = op.packed->f32[dy * 2 + dx].data();
          a.bias = op.bias.empty() ? nullptr : op.bias.data();
          const size_t out_offset = static_cast<size_t>(2 * j0 + dx) * out.channels;
          a.residual = op.residual >= 0 ? row(op.residual, y) + out_offset : nullptr;
          a.out = row(op.output, y) + out_offset;
          a.out_px_step = 2 * out.channels;
          a.pixels = j1 - j0;
          a.relu = op.relu;
          kernels_.conv_row(a);
        });
        for (int y = s.row_begin; y < s.row_end; ++y) zero_pads(op.output, y);
        break;
      }
      case FusedKind::group_norm_relu:
        if (s.row_begin == 0) group_norm_statistics(s.op);
        for (int y = s.row_begin; y < s.row_end; ++y) {
          const TensorDesc& d = program_.tensors[op.input];
          const float* ss = scale_shift_[s.op].data();
          const float* src = row(op.input, y);
          float* dst = row(op.output, y);
          for (int x = 0; x < d.width; ++x) {
            for (int c = 0; c < d.channels; ++c) {
              const float v = src[x * d.channels + c] * ss[c] + ss[d.channels + c];
              dst[x * d.channels + c] = v < 0.0f ? 0.0f : v;
            }
          }
          zero_pads(op.output, y);
        }
        break;
      case FusedKind::export_output:
        export_rows(op, s);
        break;
    }
  }

  // Arguments for output pixels [x0, x1) of row y of a plain conv op, written to out_row.
  ConvRowArgs conv_row_args(const FusedOp& op, int y, int x0, int x1, float* out_row) const {
    const TensorDesc& in = program_.tensors[op.input];
    ConvRowArgs a{};
    for (int ky = 0; ky < op.kernel; ++ky) {
      a.rows[ky] = row(op.input, y * op.stride - op.pad + ky) + static_cast<ptrdiff_t>(x0 * op.stride - op.pad) * in.channels;
    }
    a.kh = a.kw = op.kernel;
    a.in_px_step = static_cast<size_t>(op.stride) * in.channels;
    a.tap_step = in.channels;
    a.cin = op.cin;
    a.cout = op.cout;
    a.weights = op.packed->f32[0].data();
    a.bias = op.bias.empty() ? nullptr : op.bias.data();
    a.residual = op.residual >= 0 ? row(op.residual, y) + static_cast<size_t>(x0) * op.cout : nullptr;
    a.out = out_row + static_cast<size_t>(x0) * op.cout;
    a.out_px_step = op.cout;
    a.pixels = x1 - x0;
    a.relu = op.relu;
    return a;
  }

  // GroupNorm statistics in double, folded with the affine parameters into a scale and shift per
  // channel. With a stats conv, its rows are recomputed into scratch rows, so the normalized
  // tensor itself is never needed whole. Rows are summed in fixed segments combined in order, so
  // the result does not depend on the thread count.
  void group_norm_statistics(int op_index) {
    const FusedOp& op = program_.ops[op_index];
    if (op.stats_conv_op < 0) {
      group_norm_statistics_direct(op_index);
      return;
    }
    const FusedOp& conv = program_.ops[op.stats_conv_op];
    const int channels = conv.cout, height = conv.out_height, width = conv.out_width;
    std::vector<std::vector<double>>& partial = gn_partials_;
    auto segment = [&](size_t seg, int) {
      std::vector<double>& sums = partial[seg];
      std::fill(sums.begin(), sums.end(), 0.0);
      float* scratch = gn_scratch_[seg].data();
      const int y0 = static_cast<int>(seg * height / kStatSegments), y1 = static_cast<int>((seg + 1) * height / kStatSegments);
      for (int y = y0; y < y1; ++y) {
        kernels_.conv_row(conv_row_args(conv, y, 0, width, scratch));
        for (int x = 0; x < width; ++x) {
          const float* v = scratch + static_cast<size_t>(x) * channels;
          for (int c = 0; c < channels; ++c) {
            sums[c] += v[c];
            sums[channels + c] += static_cast<double>(v[c]) * v[c];
          }
        }
      }
    };
    pool_.parallel_for(kStatSegments, segment);
    const int per = channels / op.groups;
    float* ss = scale_shift_[op_index].data();
    const double n = static_cast<double>(per) * height * width;
    for (int g = 0; g < op.groups; ++g) {
      double sum = 0, sq = 0;
      for (int seg = 0; seg < kStatSegments; ++seg) {
        for (int c = g * per; c < (g + 1) * per; ++c) {
          sum += partial[seg][c];
          sq += partial[seg][channels + c];
        }
      }
      const double mean = sum / n;
      const double inv_std = 1.0 / std::sqrt(std::max(0.0, sq / n - mean * mean) + op.eps);
      for (int c = g * per; c < (g + 1) * per; ++c) {
        ss[c] = static_cast<float>(inv_std * op.gamma[c]);
        ss[channels + c] = static_cast<float>(op.beta[c] - mean * inv_std * op.gamma[c]);
      }
    }
  }

  // Statistics straight from a whole input tensor (two passes in double, as the reference).
  void group_norm_statistics_direct(int op_index) {
    const FusedOp& op = program_.ops[op_index];
    const TensorDesc& d = program_.tensors[op.input];
    const int per = d.channels / op.groups;
    float* ss = scale_shift_[op_index].data();
    for (int g = 0; g < op.groups; ++g) {
      double sum = 0, sq = 0;
      for (int y = 0; y < d.height; ++y) {
        const float* r = row(op.input, y);
        for (int x = 0; x < d.width; ++x)
          for (int c = g * per; c < (g + 1) * per; ++c) sum += r[x * d.channels + c];
      }
      const double n = static_cast<double>(per) * d.height * d.width;
      const double mean = sum / n;
      for (int y = 0; y < d.height; ++y) {
        const float* r = row(op.input, y);
        for (int x = 0; x < d.width; ++x)
          for (int c = g * per; c < (g + 1) * per; ++c) sq += (r[x * d.channels + c] - mean) * (r[x * d.channels + c] - mean);
      }
      const double inv_std = 1.0 / std::sqrt(sq / n + op.eps);
      for (int c = g * per; c < (g + 1) * per; ++c) {
        ss[c] = static_cast<float>(inv_std * op.gamma[c]);
        ss[d.channels + c] = static_cast<float>(op.beta[c] - mean * inv_std * op.gamma[c]);
      }
    }
  }

  Program program_;
  const ConvKernelSet& kernels_;
  const WinogradBf16KernelSet* bf16_;  // FP16-class products, or null
  const ConvI8KernelSet* i8_;          // int8 precision, or null
  std::vector<uint8_t> i8_rows_;       // the current int8 step's quantized input rows, then a zero row
  const uint8_t* i8_zero_rows_[2] = {nullptr, nullptr};  // zero point 0, 128
  int i8_first_row_ = 0;
  std::vector<float> tensor_max_;      // calibration only: max |x| per tensor
  ThreadPool pool_;
  std::string isa_note_;
  TuneOutcome tuning_;
  std::shared_ptr<float> arena_;
  static constexpr int kStatSegments = 8;
  // Tiles per Winograd work item (PlanOptions::winograd_tiles): its transformed input and products
  // ((M+2)^2 x tiles x channels floats each); more tiles read each position's weights fewer times.
  int winograd_tiles_ = 32;
  std::vector<std::vector<float>> winograd_scratch_;  // per thread: [positions][tiles][cin], then [..][cout]
  std::vector<std::vector<uint16_t>> winograd_bf16_scratch_;  // per thread: [36][tiles][cin] in bf16
  std::vector<std::vector<float>> scale_shift_;
  std::vector<std::vector<float>> gn_scratch_;    // [segment][width * channels]
  std::vector<std::vector<double>> gn_partials_;  // [segment][sums | sums of squares]
  std::vector<double> op_seconds_;
  const void* input_ = nullptr;
  void* output_ = nullptr;
  std::vector<uint8_t> band_;               // run_step_bands: one export step's rows
  const OutputBand* band_sink_ = nullptr;  // set during run_step_bands
  Status band_status_;
  float* state_ = nullptr;
  std::vector<float> io_row_;  // one external row per thread, for pixel (un)shuffles at the plan's edges
  size_t io_row_elems_ = 0;
};

}  // namespace

namespace {

struct Lowered {
  Program program;
  const ConvKernelSet* kernels;
  const WinogradBf16KernelSet* bf16;
  const ConvI8KernelSet* i8;
  std::string why;
};

Result<Lowered> lower_for(const Model& model, const PlanOptions& options, const PlanShapes& shapes) {
  std::string why;
  const Isa isa = usable_isa(&why);
  const ConvKernelSet& kernels = conv_kernels(isa);
  const WinogradBf16KernelSet* bf16 = options.precision == Precision::bf16 ? winograd_bf16_kernels(isa) : nullptr;
  if (options.precision == Precision::bf16 && bf16 == nullptr) why += "; no AVX512_BF16: bf16 precision runs fp32 kernels";
  LowerOptions lo;
  if (options.precision == Precision::int8) {
    if (!options.calibration) {
      return Status(Code::invalid_argument,
                    "int8 precision needs an activation calibration (taec_calibrate, or a package packed with --precision int8)");
    }
    lo.int8 = &conv_i8_kernels();
    lo.calibration = options.calibration.get();
    lo.int8_shadows = !options.int8_no_shadows;
    if (!has_avx512_vnni()) why += "; no AVX512_VNNI: int8 precision runs the portable int8 kernels (slow)";
  }
  lo.kernels = &kernels;
  lo.bf16 = options.direct_conv_only ? nullptr : bf16;
  lo.whole_tensors = options.memory == MemoryMode::whole;
  lo.packed_cache = options.packed_cache.get();
  if (options.band_pixels > 0) lo.band_pixels = options.band_pixels;
  // For A/B measurements: TAEC_CONV_ALGO=direct turns Winograd off; TAEC_UPSAMPLE_ALGO=direct
  // keeps upsample convs as direct 2x2 phases where the plan would run them as Winograd.
  const char* up_algo = std::getenv("TAEC_UPSAMPLE_ALGO");
  lo.winograd_upsample = options.winograd_upsample > 0 && !(up_algo && std::string(up_algo) == "direct");
  const char* algo = std::getenv("TAEC_CONV_ALGO");
  lo.winograd = !options.direct_conv_only && !(algo && std::string(algo) == "direct");
  lo.choices = options.conv_choices.get();
  TAEC_ASSIGN_OR_RETURN(Program program, lower_program(model, shapes.input, lo));
  return Lowered{std::move(program), &kernels, lo.bf16, lo.int8, why};
}

}  // namespace

Result<size_t> fast_plan_arena_floats(const Model& model, const PlanOptions& options, const PlanShapes& shapes) {
  TAEC_ASSIGN_OR_RETURN(Lowered lowered, lower_for(model, options, shapes));
  return lowered.program.arena_floats;
}

Result<std::unique_ptr<Plan>> make_fast_plan(std::shared_ptr<const Model> model, const PlanOptions& requested,
                                             const PlanShapes& shapes) {
  PlanOptions options = requested;
  TuneOutcome tuning;
  if (options.tune != TuneMode::off && options.conv_choices == nullptr) {
    TAEC_ASSIGN_OR_RETURN(tuning, tune_conv_choices(model, options, shapes));
    options.conv_choices = std::make_shared<const ConvChoices>(tuning.choices);
  }
  TAEC_ASSIGN_OR_RETURN(Lowered lowered, lower_for(*model, options, shapes));
  auto plan = std::make_unique<FastPlan>(std::move(model), options, shapes, std::move(lowered.program), *lowered.kernels,
                                         lowered.bf16, lowered.i8, lowered.why);
  plan->set_tuning(tuning);
  if (!plan->allocated()) return Status(Code::out_of_memory, "cannot allocate the plan's activation arena");
  return std::unique_ptr<Plan>(std::move(plan));
}

}  // namespace taec

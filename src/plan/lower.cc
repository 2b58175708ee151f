// Graph -> fused ops. The fusions are the ones the TAESD family needs:
//   conv -> relu                      => conv(relu)
//   conv -> add(other) [-> relu]      => conv(residual = other [, relu])
//   upsample_nearest2x -> conv3x3     => up2x_conv (four 2x2 phase kernels at low resolution)
//   group_norm -> relu                => group_norm_relu
//   input -> tanh_clamp               => import_input(clamp)
//   input -> pixel_unshuffle          => import_input(unshuffle)
//   pixel_shuffle -> output           => export_output(shuffle)
//   [upsample ->] tgrow / tpool -> conv => the conv, its weights composed with the 1x1 time map
//                                        (the map is linear and bias-free, and a pointwise map
//                                        commutes with a nearest upsample), reading the map's input
//   concat_past                       => concat(x, state), the state then taking x
// Video graphs are unrolled: each node is lowered once per frame of its rate in a step
// ("instance"); a tgrow's instance k reads instance k / s of its input and channel group k % s, a
// tpool's instance k concatenates instances k*s .. k*s+s-1.
// Anything else is reported as not lowerable (the reference plan still runs it).
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "plan/program.h"
#include "quant/int8_weights.h"

namespace taec {
namespace {

class Lowering {
 public:
  Lowering(const Model& model, ValueShape input, const LowerOptions& options)
      : graph_(model.graph),
        decoder_(model.role == Role::decoder),
        options_(options),
        shapes_(graph_.infer_shapes(input.height, input.width)),
        time_(graph_.temporal()) {
    consumers_.resize(graph_.nodes.size());
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      for (int in : graph_.nodes[i].inputs) consumers_[in].push_back(static_cast<int>(i));
    }
    tensor_of_.resize(graph_.nodes.size());
    for (size_t i = 0; i < graph_.nodes.size(); ++i) tensor_of_[i].assign(time_.per_step[i], -1);
    fused_.assign(graph_.nodes.size(), false);
    state_of_.assign(graph_.nodes.size(), -1);
    last_concat_.assign(graph_.nodes.size(), -1);
    // bf16 products run in the Winograd convs of the highest resolution that has any: an image
    // decoder's output resolution; a video decoder's last MemBlock stage (its output-resolution
    // convs are an upsample conv and the RGB conv).
    const int lanes = options_.kernels ? options_.kernels->lanes : 1;
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      const Node& n = graph_.nodes[i];
      int src = n.inputs.empty() ? -1 : n.inputs[0];
      if (src >= 0 && graph_.nodes[src].op == OpKind::tgrow) src = graph_.nodes[src].inputs[0];
      const bool upsampled = src >= 0 && graph_.nodes[src].op == OpKind::upsample_nearest2x;
      if (n.op == OpKind::conv2d && n.kernel == 3 && n.stride == 1 && n.groups <= 1 && !upsampled && n.in_channels % lanes == 0 &&
          n.channels % lanes == 0) {
        widest_winograd_ = std::max(widest_winograd_, shapes_[i].width);
      }
    }
  }

  Result<Program> run() {
    if (const std::string e = graph_.temporal_error(); !e.empty()) return Status(Code::internal, "malformed graph: " + e);
    for (const Segment& seg : time_.segments) {
      for (instance_ = 0; instance_ < seg.per_step; ++instance_) {
        for (int i = seg.begin; i < seg.end; ++i) {
          if (!fused_[i]) TAEC_RETURN_IF_ERROR(lower_node(i));
        }
      }
    }
    // One export per output frame, in time order (the scheduler produces them in this order).
    const int out = graph_.output();
    const bool shuffle = graph_.nodes[out].op == OpKind::pixel_shuffle;
    const int src = shuffle ? graph_.nodes[out].inputs[0] : out;
    for (int k = 0; k < time_.frames_out; ++k) {
      FusedOp op;
      op.kind = FusedKind::export_output;
      op.name = "output";
      op.input = tensor_of_[src][k];
      op.frame = k;
      op.factor = shuffle ? graph_.nodes[out].factor : 1;
      op.out_height = shapes_[src].height;
      op.out_width = shapes_[src].width;
      if (op.input < 0) return unsupported(out, "its input was not lowered");
      add_op(std::move(op));
    }
    program_.final_tensor = tensor_of_[src].back();
    return std::move(program_);
  }

 private:
  int sole_consumer(int node) const {
    return consumers_[node].size() == 1 ? consumers_[node][0] : -1;
  }

  // The tensor of `node` for the instance being lowered (same segment).
  int tensor(int node) const { return tensor_of_[node][instance_]; }

  int new_tensor(ValueShape s) {
    TensorDesc t;
    t.channels = s.channels;
    t.height = s.height;
    t.width = s.width;
    // Round rows to 16 floats so every row starts 64-byte aligned.
    t.row_stride = (static_cast<size_t>(s.width + 1 + kRightPadPixels) * s.channels + 15) / 16 * 16;
    program_.tensors.push_back(t);
    return static_cast<int>(program_.tensors.size()) - 1;
  }

  int add_op(FusedOp op) {
    program_.ops.push_back(std::move(op));
    return static_cast<int>(program_.ops.size()) - 1;
  }

  Status unsupported(int node, const std::string& why) const {
    const Node& n = graph_.nodes[node];
    return Status(Code::unsupported, "compiled plans cannot lower node " + std::to_string(node) + " (" +
                                         op_kind_name(n.op) + " " + n.name + "): " + why);
  }

  // OIHW -> OHWI.
  static std::vector<float> to_ohwi(const Weight& w) {
    const int64_t co = w.shape[0], ci = w.shape[1], kh = w.shape[2], kw = w.shape[3];
    std::vector<float> out(w.data.size());
    for (int64_t o = 0; o < co; ++o)
      for (int64_t i = 0; i < ci; ++i)
        for (int64_t y = 0; y < kh; ++y)
          for (int64_t x = 0; x < kw; ++x) out[((o * kh + y) * kw + x) * ci + i] = w.data[((o * ci + i) * kh + y) * kw + x];
    return out;
  }

  // Nearest-2x upsample then 3x3 conv (pad 1): output pixel (2i+dy, 2j+dx) reads upsampled rows
  // 2i+dy-1 .. 2i+dy+1, i.e. low-res rows i-1+dy and i+dy, with the 3 kernel rows summed into 2:
  // dy = 0: {w0, w1+w2}; dy = 1: {w0+w1, w2} (likewise for columns).
  static std::vector<float> fold_phase_ohwi(const std::vector<float>& ohwi3, int cout, int cin, int dy, int dx) {
    static const int kGroups[2][2][2] = {{{0, 0}, {1, 2}}, {{0, 1}, {2, 2}}};  // [phase][tap] -> k range
    std::vector<float> out(static_cast<size_t>(cout) * 4 * cin, 0.0f);
    for (int o = 0; o < cout; ++o)
      for (int ty = 0; ty < 2; ++ty)
        for (int tx = 0; tx < 2; ++tx)
          for (int ky = kGroups[dy][ty][0]; ky <= kGroups[dy][ty][1]; ++ky)
            for (int kx = kGroups[dx][tx][0]; kx <= kGroups[dx][tx][1]; ++kx)
              for (int i = 0; i < cin; ++i)
                out[((static_cast<size_t>(o) * 2 + ty) * 2 + tx) * cin + i] += ohwi3[((static_cast<size_t>(o) * 3 + ky) * 3 + kx) * cin + i];
    return out;
  }

  // Appends op as the producer of a new tensor holding graph value `result`.
  int emit(FusedOp op, int result) {
    op.output = new_tensor(shapes_[result]);
    op.out_height = shapes_[result].height;
    op.out_width = shapes_[result].width;
    set_band(op);
    tensor_of_[result][instance_] = op.output;
    const int index = add_op(std::move(op));
    program_.tensors[program_.ops[index].output].producer = index;
    return index;
  }

  // A tgrow / tpool `map` read by a conv: its 1x1 weights as [rows][cols] for this instance (a
  // tgrow's channel group), and the tensor holding its input (for a tpool, the concat of its
  // frames; for a tgrow, its input, or the input of an upsample before it, `through_upsample`).
  struct TimeMap {
    std::vector<float> matrix;  // [rows][cols]
    int rows = 0, cols = 0;
    int tensor = -1;
    bool through_upsample = false;
    std::string tag;  // distinguishes a tgrow's channel groups in packing keys
  };

  bool foldable_map(int map, int conv) const {
    const OpKind op = graph_.nodes[map].op;
    return (op == OpKind::tgrow || op == OpKind::tpool) && sole_consumer(map) == conv;
  }

  Result<TimeMap> time_map(int map) const {
    const Node& m = graph_.nodes[map];
    const std::vector<float>& w = graph_.weights[m.weight].data;
    TimeMap t;
    if (m.op == OpKind::tpool) {
      t.rows = m.channels;
      t.cols = m.in_channels;
      t.matrix = w;
      t.tensor = pooled_.at(map)[instance_];
      return t;
    }
    const int c = m.channels, j = instance_ % m.time_stride, k = instance_ / m.time_stride;
    t.rows = t.cols = c;
    t.matrix.assign(w.begin() + static_cast<std::ptrdiff_t>(j) * c * c, w.begin() + static_cast<std::ptrdiff_t>(j + 1) * c * c);
    t.tag = "/t" + std::to_string(j);
    int x = m.inputs[0];
    if (graph_.nodes[x].op == OpKind::upsample_nearest2x && sole_consumer(x) == map) {
      t.through_upsample = true;
      x = graph_.nodes[x].inputs[0];
    }
    t.tensor = tensor_of_[x][k];
    if (t.tensor < 0) return unsupported(map, "its input was not lowered");
    return t;
  }

  // conv weight [cout][mid][k][k] composed with a map [mid][cin] -> [cout][cin][k][k], in double.
  static Weight compose(const Weight& w, const TimeMap& map) {
    const int64_t cout = w.shape[0], mid = w.shape[1], kk = w.shape[2] * w.shape[3];
    Weight out{w.name, {cout, map.cols, w.shape[2], w.shape[3]}, std::vector<float>(static_cast<size_t>(cout) * map.cols * kk)};
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t i = 0; i < map.cols; ++i)
        for (int64_t t = 0; t < kk; ++t) {
          double sum = 0;
          for (int64_t m = 0; m < mid; ++m) sum += double(w.data[(o * mid + m) * kk + t]) * map.matrix[m * map.cols + i];
          out.data[(o * map.cols + i) * kk + t] = static_cast<float>(sum);
        }
    return out;
  }

  void set_band(FusedOp& op) const {
    op.band_rows = options_.whole_tensors ? op.out_height
                                          : std::max(1, std::min(op.out_height, options_.band_pixels / std::max(1, op.out_width)));
    // Whole tile rows (of the low-resolution input for an up2x conv: two output rows per tile row).
    const int tile_rows = op.winograd ? op.winograd_m * (op.kind == FusedKind::up2x_conv ? 2 : 1) : 1;
    op.band_rows = std::max(tile_rows, op.band_rows / tile_rows * tile_rows);
  }

  // Packed weights depend on the conv, the kernel set and the algorithm only, so the cache key
  // names exactly those. A video step repeats each conv once per frame instance: the instances
  // share one packing (the plan's own cache when no shared one is given).
  std::shared_ptr<const PackedConv> pack(const FusedOp& op, const std::string& algorithm,
                                         const std::function<PackedConv()>& make) {
    PackedWeightCache& cache = options_.packed_cache ? *options_.packed_cache : own_cache_;
    return cache.get(op.name + "|" + options_.kernels->name + "|" + algorithm, make);
  }

  // The int8 precision covers the convs above the latent resolution: most of the work. The
  // latent level keeps fp32, and with it the first conv (it reads the latent) and the GroupNorm
  // statistics pass that recomputes its 1x1 conv.
  bool int8_eligible(int node, int input_tensor, int cin, int cout) const {
    if (options_.int8 == nullptr || !decoder_ || input_tensor < 0) return false;
    return shapes_[node].height > shapes_.front().height && conv_i8_supported(cin, cout);
  }

  // Zero point 0 where the input is non-negative by construction (a ReLU or GroupNorm+ReLU
  // output): all 256 levels above 0. Otherwise (a block input after an upsample conv) 128.
  int int8_zero_point(int input_tensor) const {
    const FusedOp& producer = program_.ops[program_.tensors[input_tensor].producer];
    return producer.relu || producer.kind == FusedKind::group_norm_relu ? 0 : 128;
  }

  // Quantizes OHWI matrices to s8 per output channel and packs them; the scales go alongside.
  static PackedConv pack_int8(const std::vector<std::vector<float>>& ohwi_matrices, int cout, int k, int cin) {
    PackedConv p;
    for (const auto& m : ohwi_matrices) {
      auto q = quantize_int8(m.data(), {cout, k, k, cin});  // cannot fail: finite weights, valid shape
      p.i8.push_back(pack_conv_weights_i8(q->values.data(), cout, k, k, cin));
      p.i8_weight_scale.push_back(std::move(q->scales));
      std::vector<int32_t> sum(cout, 0);
      const size_t per = q->values.size() / cout;
      for (int o = 0; o < cout; ++o)
        for (size_t i = 0; i < per; ++i) sum[o] += q->values[o * per + i];
      p.i8_weight_sum.push_back(std::move(sum));
    }
    return p;
  }

  Status set_int8_scales(FusedOp& op) const {
    if (options_.calibration == nullptr) return Status(Code::invalid_argument, "int8 precision needs an activation calibration");
    op.zero_point = int8_zero_point(op.input);
    TAEC_ASSIGN_OR_RETURN(op.in_scale, options_.calibration->input_scale(op.name, op.zero_point));
    for (size_t m = 0; m < op.packed->i8.size(); ++m) {
      const std::vector<float>& ws = op.packed->i8_weight_scale[m];
      std::vector<float> combined(ws.size());
      for (size_t c = 0; c < ws.size(); ++c) combined[c] = op.in_scale * ws[c];
      op.i8_scale.push_back(std::move(combined));
      std::vector<int32_t> zps(op.packed->i8_weight_sum[m]);
      for (int32_t& v : zps) v *= op.zero_point;
      op.i8_zero_point_sum.push_back(std::move(zps));
    }
    return ok_status();
  }

  // Winograd F(MxM, 3x3) weights for op (cin, gemm_cout, bf16 decided; w has gemm_cout or fewer
  // output channels, the rest are zero), and its product flops at `out`.
  void pack_winograd(FusedOp& op, const Weight& w, const ValueShape& out) {
    // F(6x6) does 1.78 multiplies per output against F(4x4)'s 2.25, at ~1e-5 more error in
    // fp32 (the golden cases stay near 2e-5); bf16 products need F(4x4)'s smaller points.
    op.winograd_m = op.algo == ConvAlgo::winograd_f6 ? 6 : 4;
    const int wout = static_cast<int>(w.shape[0]);
    op.packed = pack(op, std::string(op.bf16 ? "winograd_bf16_f" : "winograd_f") + std::to_string(op.winograd_m), [&] {
      PackedConv p;
      for (auto u : winograd_kernel_transform(w.data.data(), wout, op.cin, op.winograd_m)) {
        u.resize(static_cast<size_t>(op.gemm_cout) * op.cin, 0.0f);
        if (op.bf16) {
          p.bf16.push_back(pack_gemm_bf16(u.data(), op.gemm_cout, op.cin));
        } else {
          p.f32.push_back(pack_conv_weights(*options_.kernels, u.data(), op.gemm_cout, 1, 1, op.cin));
        }
      }
      return p;
    });
    if (!op.bias.empty()) op.bias.resize((op.bias.size() + options_.kernels->lanes - 1) / options_.kernels->lanes * options_.kernels->lanes, 0.0f);
    const int m = op.winograd_m, t = m + 2;
    const double tiles = std::ceil(out.height / double(m)) * std::ceil(out.width / double(m));
    op.flops = 2.0 * op.cin * op.gemm_cout * t * t * tiles;
  }

  // Output channels of a 3x3 conv's Winograd products, or 0 when it stays direct: cout rounded up
  // to whole vectors where that wastes at most a quarter of the products (the 64 -> 12 RGB conv of
  // a patch-2 decoder: 3.8x fewer multiplies than direct; a 64 -> 3 one would waste 81 %).
  int winograd_gemm_cout(int cin, int cout) const {
    const int lanes = options_.kernels->lanes;
    const int padded = (cout + lanes - 1) / lanes * lanes;
    if (!options_.winograd || cin % lanes != 0 || 4 * (padded - cout) > padded) return 0;
    return conv_cout_block(padded, lanes, options_.kernels->cout_block) != 0 ? padded : 0;
  }

  // Nearest 2x upsample + 3x3 conv, output (2y+dy, 2x+dx): a 2x2 conv per phase over input rows
  // y-1+dy.. y+dy (fold_phase_ohwi), i.e. the 3x3 window at y with the taps of rows outside the
  // phase's two zero. All four phases as one 3x3 conv with 4 cout channels (phase 2dy+dx in
  // channels [(2dy+dx) cout, (2dy+dx+1) cout)) run as Winograd at the input's resolution: 1.78
  // products per output against the direct phases' 4. The output transform writes each phase
  // straight to its pixels of the full-resolution rows, so nothing interleaves them afterwards.
  Status lower_upsample_phases(int node, FusedOp op, const Weight& w, int src_tensor) {
    op.gemm_cout = 4 * op.cout;
    const int cin = op.cin, cout = op.cout;
    static const int kGroups[2][2][2] = {{{0, 0}, {1, 2}}, {{0, 1}, {2, 2}}};  // [phase][tap] -> k range
    Weight w4{w.name + "/phases", {4 * cout, cin, 3, 3}, std::vector<float>(static_cast<size_t>(4) * cout * cin * 9, 0.0f)};
    for (int o = 0; o < cout; ++o)
      for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx)
          for (int ty = 0; ty < 2; ++ty)
            for (int tx = 0; tx < 2; ++tx)
              for (int i = 0; i < cin; ++i) {
                float sum = 0;
                for (int ky = kGroups[dy][ty][0]; ky <= kGroups[dy][ty][1]; ++ky)
                  for (int kx = kGroups[dx][tx][0]; kx <= kGroups[dx][tx][1]; ++kx) sum += w.data[((static_cast<size_t>(o) * cin + i) * 3 + ky) * 3 + kx];
                w4.data[((static_cast<size_t>((dy * 2 + dx) * cout + o) * cin + i) * 3 + ty + dy) * 3 + tx + dx] = sum;
              }
    ValueShape low = shapes_[node];
    low.height /= 2;
    low.width /= 2;
    op.name += "/phases";
    op.kind = FusedKind::up2x_conv;
    op.input = src_tensor;
    op.kernel = 3;
    op.winograd = true;
    pack_winograd(op, w4, low);
    return fuse_epilogue(node, std::move(op));
  }

  Status lower_conv(int node) {
    const Node& n = graph_.nodes[node];
    FusedOp op;
    op.name = n.name;
    op.cin = n.in_channels;
    op.cout = n.channels;
    Weight composed;
    const Weight* wp = &graph_.weights[n.weight];
    if (n.bias >= 0) op.bias = graph_.weights[n.bias].data;
    const int src_node = n.inputs[0];
    bool folded = graph_.nodes[src_node].op == OpKind::upsample_nearest2x && sole_consumer(src_node) == node;
    int src_tensor = folded ? tensor(graph_.nodes[src_node].inputs[0]) : tensor_of_[src_node][instance_];
    if (foldable_map(src_node, node)) {
      TAEC_ASSIGN_OR_RETURN(TimeMap map, time_map(src_node));
      composed = compose(*wp, map);
      wp = &composed;
      op.cin = map.cols;
      op.name += map.tag;
      folded = map.through_upsample;
      src_tensor = map.tensor;
    }
    const Weight& w = *wp;
    if (n.groups > 1) return lower_grouped_conv(node, std::move(op), w, src_tensor);
    const double out_px = static_cast<double>(shapes_[node].height) * shapes_[node].width;
    op.model_flops = 2.0 * op.cin * op.cout * n.kernel * n.kernel * out_px;
    if (folded) {
      if (n.kernel != 3 || n.stride != 1 || n.pad != 1) return unsupported(node, "upsample feeds a conv that is not 3x3/s1/p1");
      const int next = sole_consumer(node);
      const bool residual = next >= 0 && graph_.nodes[next].op == OpKind::add;
      if (!residual && !int8_eligible(node, src_tensor, op.cin, op.cout) && op.cout % options_.kernels->lanes == 0 &&
          winograd_gemm_cout(op.cin, 4 * op.cout) == 4 * op.cout) {
        op.candidates = {ConvAlgo::winograd_f6, ConvAlgo::winograd_f4, ConvAlgo::direct};
        if (!options_.winograd_upsample) std::rotate(op.candidates.begin(), op.candidates.begin() + 2, op.candidates.end());
      }
      if (choose(op, n.name) != ConvAlgo::direct) return lower_upsample_phases(node, std::move(op), w, src_tensor);
      op.kind = FusedKind::up2x_conv;
      op.input = src_tensor;
      op.kernel = 2;
      op.int8 = int8_eligible(node, op.input, op.cin, op.cout);
      if (op.int8) {
        op.packed = pack(op, "up2x_int8", [&] {
          const std::vector<float> ohwi = to_ohwi(w);
          std::vector<std::vector<float>> phases;
          for (int phase = 0; phase < 4; ++phase) phases.push_back(fold_phase_ohwi(ohwi, op.cout, op.cin, phase / 2, phase % 2));
          return pack_int8(phases, op.cout, 2, op.cin);
        });
        TAEC_RETURN_IF_ERROR(set_int8_scales(op));
      } else {
        op.packed = pack(op, "up2x", [&] {
          PackedConv p;
          const std::vector<float> ohwi = to_ohwi(w);
          for (int phase = 0; phase < 4; ++phase) {
            p.f32.push_back(pack_conv_weights(*options_.kernels, fold_phase_ohwi(ohwi, op.cout, op.cin, phase / 2, phase % 2).data(),
                                              op.cout, 2, 2, op.cin));
          }
          return p;
        });
      }
      op.flops = 2.0 * op.cin * op.cout * 4 * out_px;
    } else {
      if (src_tensor < 0) return unsupported(node, "its input was not lowered");
      op.kind = FusedKind::conv;
      op.input = src_tensor;
      op.kernel = n.kernel;
      op.stride = n.stride;
      op.pad = n.pad;
      op.int8 = n.stride == 1 && int8_eligible(node, op.input, op.cin, op.cout);
      if (!op.int8 && n.kernel == 3 && n.stride == 1 && n.pad == 1) op.gemm_cout = winograd_gemm_cout(op.cin, op.cout);
      // bf16 products only for convs at the output resolution: their rounding error reaches the
      // output through few layers. Measured on the golden decoders: bf16 in every Winograd conv
      // gives max |err| 0.15 (taef2) / 0.09 (taef1), over the FP16-class tolerances; in the
      // output-resolution convs only, 0.020 / 0.011, and those convs are most of the work.
      // Encoders keep fp32: their output-resolution convs make the latent itself (values up to
      // about 6, errors 0.17 in bf16) and run at 1/64 of the image's pixels anyway.
      const bool top_resolution = decoder_ && shapes_[node].width == widest_winograd_;
      if (op.gemm_cout > 0) {
        op.candidates = {ConvAlgo::winograd_f6, ConvAlgo::winograd_f4, ConvAlgo::direct};
        if (top_resolution && options_.bf16 != nullptr && op.cin % 2 == 0 && (op.cout % 64 == 0 || op.cout < 64)) {
          op.candidates.insert(op.candidates.begin(), ConvAlgo::winograd_f4_bf16);
        }
      }
      choose(op, n.name);
      op.winograd = op.algo != ConvAlgo::direct;
      op.bf16 = op.algo == ConvAlgo::winograd_f4_bf16;
      if (!op.winograd) op.gemm_cout = 0;
      if (op.winograd) {
        pack_winograd(op, w, shapes_[node]);
      } else if (op.int8) {
        op.packed = pack(op, "direct_int8", [&] { return pack_int8({to_ohwi(w)}, op.cout, n.kernel, op.cin); });
        TAEC_RETURN_IF_ERROR(set_int8_scales(op));
        op.flops = op.model_flops;
      } else {
        op.packed = pack(op, "direct", [&] {
          PackedConv p;
          p.f32.push_back(pack_conv_weights(*options_.kernels, to_ohwi(w).data(), op.cout, n.kernel, n.kernel, op.cin));
          return p;
        });
        op.flops = op.model_flops;
      }
    }
    return fuse_epilogue(node, std::move(op));
  }

  // The algorithm op runs as: the choice given for its node where it is one of the candidates,
  // else the first candidate (the default), else direct.
  ConvAlgo choose(FusedOp& op, const std::string& node_name) const {
    op.algo = op.candidates.empty() ? ConvAlgo::direct : op.candidates.front();
    if (op.candidates.size() < 2) {
      op.candidates.clear();
      return op.algo;
    }
    op.choice = node_name;
    if (options_.choices != nullptr) {
      const auto it = options_.choices->find(node_name);
      if (it != options_.choices->end() && std::find(op.candidates.begin(), op.candidates.end(), it->second) != op.candidates.end()) {
        op.algo = it->second;
      }
    }
    return op.algo;
  }

  // Epilogue fusion: relu, or add(other) optionally followed by relu.
  Status fuse_epilogue(int node, FusedOp op) {
    int result = node;
    const int next = sole_consumer(node);
    if (next >= 0 && graph_.nodes[next].op == OpKind::relu) {
      op.relu = true;
      fused_[next] = true;
      result = next;
    } else if (next >= 0 && graph_.nodes[next].op == OpKind::add) {
      const Node& add = graph_.nodes[next];
      const int other = add.inputs[0] == node ? add.inputs[1] : add.inputs[0];
      if (tensor(other) < 0) return unsupported(next, "residual operand not lowered before the conv");
      op.residual = tensor(other);
      fused_[next] = true;
      result = next;
      const int after = sole_consumer(next);
      if (after >= 0 && graph_.nodes[after].op == OpKind::relu) {
        op.relu = true;
        fused_[after] = true;
        result = after;
      }
    }
    emit(std::move(op), result);
    return ok_status();
  }

  // A depthwise conv (groups = channels): direct, fp32, weights [c][kh][kw] -> [kh][kw][c].
  Status lower_grouped_conv(int node, FusedOp op, const Weight& w, int src_tensor) {
    const Node& n = graph_.nodes[node];
    if (n.groups != n.in_channels || n.channels != n.in_channels) return unsupported(node, "grouped conv that is not depthwise");
    if (src_tensor < 0) return unsupported(node, "its input was not lowered");
    op.kind = FusedKind::conv;
    op.input = src_tensor;
    op.kernel = n.kernel;
    op.stride = n.stride;
    op.pad = n.pad;
    op.groups = n.groups;
    op.packed = pack(op, "depthwise", [&] {
      PackedConv p;
      std::vector<float> hwc(w.data.size());
      const int taps = n.kernel * n.kernel;
      for (int c = 0; c < n.channels; ++c)
        for (int t = 0; t < taps; ++t) hwc[static_cast<size_t>(t) * n.channels + c] = w.data[static_cast<size_t>(c) * taps + t];
      p.f32.push_back(std::move(hwc));
      return p;
    });
    op.model_flops = op.flops = 2.0 * n.channels * n.kernel * n.kernel * shapes_[node].height * shapes_[node].width;
    return fuse_epilogue(node, std::move(op));
  }

  // A tgrow / tpool nobody folds: its own 1x1 conv (a tgrow's channel group for this instance).
  Status lower_time_map_conv(int node) {
    TAEC_ASSIGN_OR_RETURN(TimeMap map, time_map(node));
    if (map.through_upsample) return unsupported(node, "upsample before a time map that is not folded into a conv");
    FusedOp op;
    op.kind = FusedKind::conv;
    op.name = graph_.nodes[node].name + map.tag;
    op.input = map.tensor;
    op.cin = map.cols;
    op.cout = map.rows;
    op.kernel = 1;
    op.packed = pack(op, "direct", [&] {
      PackedConv p;
      p.f32.push_back(pack_conv_weights(*options_.kernels, map.matrix.data(), op.cout, 1, 1, op.cin));
      return p;
    });
    op.model_flops = op.flops = 2.0 * op.cin * op.cout * shapes_[node].height * shapes_[node].width;
    return fuse_epilogue(node, std::move(op));
  }

  Status lower_node(int node) {
    const Node& n = graph_.nodes[node];
    switch (n.op) {
      case OpKind::input: {
        FusedOp op;
        op.kind = FusedKind::import_input;
        op.name = "input";
        op.frame = instance_;
        int result = node;
        const int next = sole_consumer(node);
        if (next >= 0 && graph_.nodes[next].op == OpKind::tanh_clamp) {
          op.clamp_limit = graph_.nodes[next].limit;
          fused_[next] = true;
          result = next;
        } else if (next >= 0 && graph_.nodes[next].op == OpKind::pixel_unshuffle) {
          op.factor = graph_.nodes[next].factor;
          fused_[next] = true;
          result = next;
        }
        emit(std::move(op), result);
        return ok_status();
      }
      case OpKind::concat_past: {
        FusedOp op;
        op.kind = FusedKind::concat;
        op.name = n.name;
        op.sources = {tensor(n.inputs[0])};
        if (state_of_[node] < 0) {
          const ValueShape& x = shapes_[n.inputs[0]];
          StateDesc st{x.channels, x.height, x.width, program_.state_floats};
          program_.state_floats += st.floats();
          state_of_[node] = static_cast<int>(program_.states.size());
          program_.states.push_back(st);
        }
        op.state = state_of_[node];
        op.after_op = last_concat_[node];
        last_concat_[node] = emit(std::move(op), node);
        return ok_status();
      }
      case OpKind::tgrow:
      case OpKind::tpool: {
        const int next = sole_consumer(node);
        const bool into_conv = next >= 0 && graph_.nodes[next].op == OpKind::conv2d && foldable_map(node, next);
        if (n.op == OpKind::tpool) {  // its frames side by side: the map's input
          FusedOp cat;
          cat.kind = FusedKind::concat;
          cat.name = n.name + ".frames";
          const int x = n.inputs[0];
          for (int j = 0; j < n.time_stride; ++j) cat.sources.push_back(tensor_of_[x][instance_ * n.time_stride + j]);
          ValueShape shape = shapes_[x];
          shape.channels *= n.time_stride;
          cat.output = new_tensor(shape);
          cat.out_height = shape.height;
          cat.out_width = shape.width;
          set_band(cat);
          pooled_[node].resize(time_.per_step[node], -1);
          pooled_[node][instance_] = cat.output;
          program_.tensors[cat.output].producer = add_op(std::move(cat));
        }
        if (into_conv) return ok_status();  // composed into the conv's weights
        return lower_time_map_conv(node);
      }
      case OpKind::pixel_shuffle: {
        if (node == graph_.output()) return ok_status();  // done by the export ops
        FusedOp op;
        op.kind = FusedKind::pixel_shuffle;
        op.name = n.name;
        op.input = tensor(n.inputs[0]);
        op.factor = n.factor;
        emit(std::move(op), node);
        return ok_status();
      }
      case OpKind::conv2d:
        return lower_conv(node);
      case OpKind::upsample_nearest2x: {
        const int next = sole_consumer(node);
        const bool into_conv = next >= 0 && graph_.nodes[next].op == OpKind::conv2d;
        const bool into_time_map =
            next >= 0 && graph_.nodes[next].op == OpKind::tgrow && sole_consumer(next) >= 0 && foldable_map(next, sole_consumer(next));
        if (!into_conv && !into_time_map) return unsupported(node, "upsample not followed by a conv");
        return ok_status();  // folded when its conv is lowered
      }
      case OpKind::group_norm: {
        FusedOp op;
        op.kind = FusedKind::group_norm_relu;
        op.name = n.name;
        op.input = tensor(n.inputs[0]);
        op.groups = n.groups;
        op.eps = n.eps;
        op.gamma = graph_.weights[n.weight].data;
        op.beta = graph_.weights[n.bias].data;
        const int producer = program_.tensors[op.input].producer;
        if (program_.ops[producer].kind == FusedKind::conv && program_.ops[producer].residual < 0) {
          op.stats_conv_op = producer;
          op.stats_input = program_.ops[producer].input;
        }
        const int next = sole_consumer(node);
        if (next < 0 || graph_.nodes[next].op != OpKind::relu) return unsupported(node, "GroupNorm not followed by ReLU");
        fused_[next] = true;
        emit(std::move(op), next);
        return ok_status();
      }
      case OpKind::relu:
      case OpKind::add:
      case OpKind::tanh_clamp:
      case OpKind::pixel_unshuffle:
        return unsupported(node, "not fusable into a neighbouring op");
    }
    return unsupported(node, "unknown op");
  }

  const Graph& graph_;
  bool decoder_;
  LowerOptions options_;
  std::vector<ValueShape> shapes_;
  TemporalInfo time_;
  std::vector<std::vector<int>> consumers_;
  std::vector<std::vector<int>> tensor_of_;  // [node][instance]
  std::map<int, std::vector<int>> pooled_;   // tpool node -> its concat tensor per instance
  std::vector<bool> fused_;
  std::vector<int> state_of_;     // concat_past node -> its state
  std::vector<int> last_concat_;  // concat_past node -> its latest instance's op
  int instance_ = 0;
  PackedWeightCache own_cache_;
  int widest_winograd_ = 0;  // width of the highest-resolution Winograd convs (bf16 products run there)
  Program program_;
};

}  // namespace

const char* fused_op_name(FusedKind kind) {
  switch (kind) {
    case FusedKind::import_input: return "import";
    case FusedKind::conv: return "conv";
    case FusedKind::up2x_conv: return "up2x_conv";
    case FusedKind::group_norm_relu: return "group_norm_relu";
    case FusedKind::export_output: return "export";
    case FusedKind::concat: return "concat";
    case FusedKind::pixel_shuffle: return "pixel_shuffle";
  }
  return "?";
}

double Program::flops() const {
  double f = 0;
  for (const auto& op : ops) f += op.flops;
  return f;
}

double Program::model_flops() const {
  double f = 0;
  for (const auto& op : ops) f += op.model_flops;
  return f;
}

size_t Program::weight_bytes() const {
  size_t b = 0;
  std::set<const PackedConv*> counted;  // frame instances share their packing
  for (const auto& op : ops) {
    if (op.packed && counted.insert(op.packed.get()).second) b += op.packed->bytes();
    b += (op.bias.size() + op.gamma.size() + op.beta.size()) * sizeof(float);
  }
  return b;
}

Status schedule_program(Program& program, bool whole_tensors);
void place_tensors(Program& program);

namespace {

// Gives a u8 shadow to every tensor an int8 conv (with a vectorized epilogue: cout >= 16)
// produces and int8 convs read. Their quantization is the same by construction (one tensor, one
// calibrated range, a zero point decided by the producer), so each is quantized once, in the
// producer's epilogue, with bitwise the same result as quantizing the fp32 rows afterwards.
void assign_int8_shadows(Program& p) {
  for (TensorDesc& t : p.tensors) {
    const FusedOp& producer = p.ops[t.producer];
    if (!producer.int8 || producer.cout < 16) continue;
    const FusedOp* reader = nullptr;
    bool agree = true, fp32_readers = false;
    for (int c : t.consumers) {
      const FusedOp& op = p.ops[c];
      const bool reads_shadow = op.int8 && &p.tensors[op.input] == &t && !(op.residual >= 0 && &p.tensors[op.residual] == &t);
      if (!reads_shadow) {
        fp32_readers = true;
        continue;
      }
      if (reader && (reader->in_scale != op.in_scale || reader->zero_point != op.zero_point)) agree = false;
      reader = &op;
    }
    if (reader == nullptr || !agree) continue;
    t.u8_shadow = true;
    t.u8_only = !fp32_readers;
    t.q_scale = reader->in_scale;
    t.q_zero_point = reader->zero_point;
    t.u8_row_stride = u8_row_bytes(t.width, t.channels);
  }
}

}  // namespace

Result<Program> lower_program(const Model& model, ValueShape input, const LowerOptions& options) {
  Lowering lowering(model, input, options);
  TAEC_ASSIGN_OR_RETURN(Program program, lowering.run());
  TAEC_RETURN_IF_ERROR(schedule_program(program, options.whole_tensors));
  if (options.int8_shadows) {
    assign_int8_shadows(program);
    place_tensors(program);  // again: the shadows changed what each tensor occupies
  }
  return program;
}

}  // namespace taec

#include "plan/nchw_adapter.h"

#include <vector>

#include "plan/io_convert.h"

namespace taec {
namespace {

PlanOptions nchw_f32(PlanOptions o) {
  o.layout = Layout::nchw;
  o.io_dtype = IoDtype::f32;
  return o;
}

size_t io_bytes(const ValueShape& s, IoDtype d) {
  return static_cast<size_t>(s.channels) * s.height * s.width * (d == IoDtype::f16 ? 2 : 4);
}

class NchwF32Adapter final : public Plan {
 public:
  explicit NchwF32Adapter(std::unique_ptr<Plan> inner)
      : Plan(inner->model_ptr(), nchw_f32(inner->options()), inner->shapes()),
        inner_(std::move(inner)),
        in_(io_bytes(shapes_.input, inner_->options().io_dtype) * shapes_.frames_in),
        out_(io_bytes(shapes_.output, inner_->options().io_dtype) * shapes_.frames_out) {}

  Status run_step(const void* input, void* output, float* state) override {
    const PlanOptions& o = inner_->options();
    const size_t in_frame = io_bytes(shapes_.input, o.io_dtype), out_frame = io_bytes(shapes_.output, o.io_dtype);
    for (int f = 0; f < shapes_.frames_in; ++f) {
      export_nchw_f32(static_cast<const float*>(input) + f * shapes_.input_frame_elems(), shapes_.input, o.layout, o.io_dtype,
                      in_.data() + f * in_frame);
    }
    TAEC_RETURN_IF_ERROR(inner_->run_step(in_.data(), out_.data(), state));
    for (int f = 0; f < shapes_.frames_out; ++f) {
      import_nchw_f32(out_.data() + f * out_frame, o.layout, o.io_dtype, shapes_.output,
                      static_cast<float*>(output) + f * shapes_.output_frame_elems());
    }
    return ok_status();
  }
  size_t state_floats() const override { return inner_->state_floats(); }
  PlanStats stats() const override { return inner_->stats(); }
  std::string program_description() const override { return inner_->program_description(); }

 private:
  std::unique_ptr<Plan> inner_;
  std::vector<uint8_t> in_, out_;
};

}  // namespace

std::unique_ptr<Plan> with_nchw_f32_io(std::unique_ptr<Plan> inner) {
  const PlanOptions& o = inner->options();
  if (o.layout == Layout::nchw && o.io_dtype == IoDtype::f32) return inner;
  return std::make_unique<NchwF32Adapter>(std::move(inner));
}

}  // namespace taec

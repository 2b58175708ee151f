// The C ABI: converts between opaque handles / C structs and the internal C++ types, and turns
// every Status into a taec_status plus a thread-local message. No exception crosses this file.
#include <cstdlib>
#include <initializer_list>
#include <cstring>
#include <new>
#include <string>

#include "graph/frame_rules.h"
#include "graph/model.h"
#include "io/image.h"
#include "io/npy.h"
#include "io/rgb8.h"
#include "io/npy_writer.h"
#include "io/png_writer.h"
#include "io/tensor_file.h"
#include "io/weights_locator.h"
#include "plan/plan.h"
#include "taec/taec.h"

#include "api/c_handles.h"  // struct taec_model, struct taec_plan

namespace {

thread_local std::string g_last_error;

taec_status report(const taec::Status& status) {
  g_last_error = status.ok() ? "" : status.message();
  return static_cast<taec_status>(status.code());
}

using taec::c_api::guarded;
using taec::c_api::invalid;
using taec::c_api::one_of;

taec_status make_array(const std::vector<int64_t>& shape, const std::vector<float>& data, taec_array** out) {
  auto* array = static_cast<taec_array*>(std::calloc(1, sizeof(taec_array)));
  if (array == nullptr) throw std::bad_alloc();
  array->data = static_cast<float*>(std::malloc(std::max<size_t>(1, data.size()) * sizeof(float)));
  if (array->data == nullptr) {
    std::free(array);
    throw std::bad_alloc();
  }
  if (!data.empty()) std::memcpy(array->data, data.data(), data.size() * sizeof(float));
  array->rank = static_cast<int>(shape.size());
  for (size_t i = 0; i < shape.size() && i < 8; ++i) array->shape[i] = shape[i];
  array->elems = data.size();
  *out = array;
  return report(taec::ok_status());
}

}  // namespace

taec_status taec::report_c_status(const taec::Status& status) { return report(status); }

extern "C" {

const char* taec_version(void) {
#define TAEC_STR2(x) #x
#define TAEC_STR(x) TAEC_STR2(x)
  return TAEC_STR(TAEC_VERSION_MAJOR) "." TAEC_STR(TAEC_VERSION_MINOR) "." TAEC_STR(TAEC_VERSION_PATCH);
}

const char* taec_status_name(taec_status status) {
  switch (status) {
    case TAEC_OK: return "ok";
    case TAEC_ERR_INVALID_ARGUMENT: return "invalid_argument";
    case TAEC_ERR_IO: return "io";
    case TAEC_ERR_FORMAT: return "format";
    case TAEC_ERR_UNSUPPORTED: return "unsupported";
    case TAEC_ERR_SHAPE: return "shape";
    case TAEC_ERR_NONFINITE: return "nonfinite";
    case TAEC_ERR_OUT_OF_MEMORY: return "out_of_memory";
    case TAEC_ERR_INTERNAL: return "internal";
  }
  return "unknown";
}

const char* taec_last_error(void) { return g_last_error.c_str(); }

void taec_load_options_init(taec_load_options* options) {
  if (options) *options = taec_load_options{nullptr, TAEC_ROLE_ANY};
}

taec_status taec_model_load(const char* path, const taec_load_options* options, taec_model** out) {
  if (path == nullptr || out == nullptr) return invalid("taec_model_load: path and out must not be NULL");
  *out = nullptr;
  return guarded(path, [&] {
    taec::LoadRequest request;
    if (options) {
      request.variant = options->variant ? options->variant : "";
      if (!one_of(options->role, {TAEC_ROLE_ANY, TAEC_ROLE_DECODER, TAEC_ROLE_ENCODER})) return invalid("invalid role");
      request.role = options->role;
    }
    auto model = taec::load_model(path, request);
    if (!model.ok()) return report(model.status());
    *out = new taec_model{std::move(model).value()};
    return report(taec::ok_status());
  });
}

void taec_model_free(taec_model* model) { delete model; }

taec_status taec_model_clip_length(const taec_model* model, int64_t count, int64_t* out) {
  if (model == nullptr || out == nullptr) return invalid("taec_model_clip_length: NULL argument");
  if (count < 1 || count > (int64_t{1} << 24)) return invalid("taec_model_clip_length: count must be 1..2^24, not " + std::to_string(count));
  const taec::Model& m = *model->model;
  if (!m.is_video()) {
    *out = count;
  } else if (m.role == taec::Role::decoder) {
    *out = taec::decode_trim(m, static_cast<int>(count)).frames();
  } else {
    *out = taec::encoded_latents(m, count);
  }
  return TAEC_OK;
}

taec_status taec_model_get_info(const taec_model* model, taec_model_info* out) {
  if (model == nullptr || out == nullptr) return invalid("taec_model_get_info: NULL argument");
  const taec::Model& m = *model->model;
  out->role = static_cast<taec_role>(m.role);
  out->variant = m.variant.c_str();
  out->variant_note = m.variant_note.c_str();
  out->source_format = m.source_format.c_str();
  out->source_path = m.source_path.c_str();
  out->source_sha256 = m.source_sha256.c_str();
  out->latent_channels = m.latent_channels;
  out->image_channels = m.image_channels;
  out->spatial_factor = m.spatial_factor;
  out->parameter_count = m.parameter_count;
  out->tensor_count = m.tensors.size();
  out->is_video = m.is_video();
  out->time_factor = m.video.time_factor;
  out->patch = m.video.patch;
  out->frame_rule = taec::frame_rule_name(m.video.rule);
  return report(taec::ok_status());
}

taec_status taec_model_get_tensor(const taec_model* model, size_t index, taec_tensor_info* out) {
  if (model == nullptr || out == nullptr) return invalid("taec_model_get_tensor: NULL argument");
  const auto& tensors = model->model->tensors;
  if (index >= tensors.size()) {
    return invalid("tensor index " + std::to_string(index) + " out of range (" +
                   std::to_string(tensors.size()) + " tensors)");
  }
  const auto& t = tensors[index];
  out->name = t.name.c_str();
  out->dtype = taec::dtype_name(t.dtype);
  out->rank = static_cast<int>(t.shape.size());
  for (size_t i = 0; i < 8; ++i) out->shape[i] = i < t.shape.size() ? t.shape[i] : 0;
  return report(taec::ok_status());
}

void taec_plan_options_init(taec_plan_options* options) {
  if (options == nullptr) return;
  *options = taec_plan_options{};
  options->layout = TAEC_LAYOUT_NCHW;
  options->io_dtype = TAEC_DTYPE_F32;
  options->precision = TAEC_PRECISION_FP32;
  options->nonfinite = TAEC_NONFINITE_REJECT;
  options->memory = TAEC_MEMORY_BANDED;
}

taec_status taec_plan_compile(const taec_model* model, const taec_plan_options* options, taec_plan** out) {
  if (model == nullptr || options == nullptr || out == nullptr) return invalid("taec_plan_compile: NULL argument");
  *out = nullptr;
  if (!one_of(options->layout, {TAEC_LAYOUT_NCHW, TAEC_LAYOUT_NHWC})) return invalid("invalid layout");
  if (!one_of(options->io_dtype, {TAEC_DTYPE_F32, TAEC_DTYPE_F16})) return invalid("invalid io_dtype");
  if (!one_of(options->precision, {TAEC_PRECISION_REFERENCE, TAEC_PRECISION_FP32, TAEC_PRECISION_BF16, TAEC_PRECISION_INT8})) {
    return invalid("invalid precision");
  }
  if (!one_of(options->memory, {TAEC_MEMORY_BANDED, TAEC_MEMORY_WHOLE})) return invalid("invalid memory mode");
  if (!one_of(options->tune, {TAEC_TUNE_DEFAULT, TAEC_TUNE_OFF, TAEC_TUNE_FAST, TAEC_TUNE_FULL})) return invalid("invalid tune mode");
  if (!one_of(options->nonfinite, {TAEC_NONFINITE_REJECT, TAEC_NONFINITE_PROPAGATE})) {
    return invalid("invalid nonfinite policy");
  }
  return guarded("compiling a " + std::to_string(options->image_height) + "x" + std::to_string(options->image_width) + " plan", [&] {
    taec::PlanOptions o;
    o.image_height = options->image_height;
    o.image_width = options->image_width;
    o.layout = static_cast<taec::Layout>(options->layout);
    o.io_dtype = static_cast<taec::IoDtype>(options->io_dtype);
    o.precision = static_cast<taec::Precision>(options->precision);
    o.threads = options->threads;
    o.nonfinite = static_cast<taec::NonfinitePolicy>(options->nonfinite);
    o.memory = static_cast<taec::MemoryMode>(options->memory);
    o.tune = taec::tune_mode_of(options->tune);
    if (options->calibration) o.calibration = options->calibration->calibration;
    if (options->weights) {
      auto q = taec::parse_weight_quant(options->weights);
      if (!q.ok()) return report(q.status());
      o.weights = *q;
    }
    auto plan = taec::compile_plan(model->model, o);
    if (!plan.ok()) return report(plan.status());
    *out = new taec_plan{std::move(plan).value(), {}};
    return report(taec::ok_status());
  });
}

void taec_plan_free(taec_plan* plan) { delete plan; }

taec_status taec_plan_get_io(const taec_plan* plan, taec_plan_io* out) {
  if (plan == nullptr || out == nullptr) return invalid("taec_plan_get_io: NULL argument");
  const taec::PlanShapes& s = plan->plan->shapes();
  const bool nhwc = plan->plan->options().layout == taec::Layout::nhwc;
  auto fill = [&](taec::ValueShape v, int64_t* dims) {
    dims[0] = 1;
    dims[1] = nhwc ? v.height : v.channels;
    dims[2] = nhwc ? v.width : v.height;
    dims[3] = nhwc ? v.channels : v.width;
  };
  fill(s.input, out->input_shape);
  fill(s.output, out->output_shape);
  out->input_elems = s.input_elems();
  out->output_elems = s.output_elems();
  out->frames_in = s.frames_in;
  out->frames_out = s.frames_out;
  out->state_bytes = plan->plan->state_floats() * sizeof(float);
  return report(taec::ok_status());
}

taec_status taec_plan_get_stats(const taec_plan* plan, taec_plan_stats* out) {
  if (plan == nullptr || out == nullptr) return invalid("taec_plan_get_stats: NULL argument");
  auto* p = const_cast<taec_plan*>(plan);  // the cache is not part of the plan's observable state
  p->stats = p->plan->stats();
  const taec::PlanStats& s = p->stats;
  *out = taec_plan_stats{s.engine.c_str(), s.isa.c_str(), s.isa_note.c_str(), s.kernel.c_str(),
                         s.arena_bytes, s.weight_bytes, s.model_flops, s.executed_flops, s.steps, s.threads,
                         s.ops.size(), s.tuning.c_str()};
  return report(taec::ok_status());
}

taec_status taec_plan_get_op_profile(const taec_plan* plan, size_t index, taec_op_profile* out) {
  if (plan == nullptr || out == nullptr) return invalid("taec_plan_get_op_profile: NULL argument");
  auto* p = const_cast<taec_plan*>(plan);
  p->stats = p->plan->stats();
  if (index >= p->stats.ops.size()) return invalid("op index " + std::to_string(index) + " out of range");
  const auto& op = p->stats.ops[index];
  *out = taec_op_profile{op.name.c_str(), op.kind.c_str(), op.flops, op.seconds, op.algo.c_str(), op.tuning.c_str()};
  return report(taec::ok_status());
}

taec_status taec_plan_run(taec_plan* plan, const void* input, void* output) {
  if (plan == nullptr || input == nullptr || output == nullptr) return invalid("taec_plan_run: NULL argument");
  return guarded("running a plan", [&] { return report(plan->plan->run(input, output)); });
}

taec_status taec_plan_run_rows(taec_plan* plan, const void* input, taec_rows_fn fn, void* user) {
  if (plan == nullptr || input == nullptr || fn == nullptr) return invalid("taec_plan_run_rows: NULL argument");
  // The consumer's own status is returned as is, and taec_last_error() left as the consumer set it.
  taec_status stopped = TAEC_OK;
  return guarded("running a plan", [&] {
    const taec::Status s = plan->plan->run_bands(input, [&](int, int row_begin, int row_end, const void* rows) {
      stopped = fn(row_begin, row_end, rows, user);
      return stopped == TAEC_OK ? taec::ok_status() : taec::Status(taec::Code::internal, "stopped by the row consumer");
    });
    return stopped != TAEC_OK ? stopped : report(s);
  });
}

taec_status taec_npy_load(const char* path, taec_array** out) {
  if (path == nullptr || out == nullptr) return invalid("taec_npy_load: NULL argument");
  *out = nullptr;
  return guarded(path, [&] {
    auto npy = taec::read_npy(path);
    if (!npy.ok()) return report(npy.status());
    return make_array(npy->shape, npy->data, out);
  });
}

taec_status taec_npy_save(const char* path, const float* data, int rank, const int64_t* shape, taec_dtype dtype) {
  if (path == nullptr || data == nullptr || (rank > 0 && shape == nullptr)) return invalid("taec_npy_save: NULL argument");
  if (rank < 0 || rank > 8) return invalid("taec_npy_save: rank must be 0..8");
  if (!one_of(dtype, {TAEC_DTYPE_F32, TAEC_DTYPE_F16})) return invalid("taec_npy_save: invalid dtype");
  return guarded(path, [&] {
    std::vector<int64_t> dims(shape, shape + rank);
    for (int64_t d : dims) {
      if (d < 0) return invalid("taec_npy_save: negative dimension");
    }
    return report(taec::write_npy(path, data, dims, dtype == TAEC_DTYPE_F16));
  });
}

struct taec_npy_writer {
  taec::NpyWriter writer;
};

taec_status taec_npy_writer_open(const char* path, int rank, const int64_t* shape, taec_dtype dtype, taec_npy_writer** out) {
  if (path == nullptr || out == nullptr || (rank > 0 && shape == nullptr)) return invalid("taec_npy_writer_open: NULL argument");
  *out = nullptr;
  if (rank < 0 || rank > 8) return invalid("taec_npy_writer_open: rank must be 0..8");
  if (!one_of(dtype, {TAEC_DTYPE_F32, TAEC_DTYPE_F16})) return invalid("taec_npy_writer_open: invalid dtype");
  return guarded(path, [&] {
    auto w = taec::NpyWriter::open(path, std::vector<int64_t>(shape, shape + rank), dtype == TAEC_DTYPE_F16);
    if (!w.ok()) return report(w.status());
    *out = new taec_npy_writer{std::move(*w)};
    return TAEC_OK;
  });
}

taec_status taec_npy_writer_write(taec_npy_writer* writer, uint64_t offset, const float* data, size_t count) {
  if (writer == nullptr || (data == nullptr && count > 0)) return invalid("taec_npy_writer_write: NULL argument");
  return guarded(writer->writer.path(), [&] { return report(writer->writer.write(offset, data, count)); });
}

int taec_npy_writer_seekable(const taec_npy_writer* writer) { return writer != nullptr && writer->writer.seekable(); }

taec_status taec_npy_writer_close(taec_npy_writer* writer) {
  if (writer == nullptr) return invalid("taec_npy_writer_close: NULL writer");
  std::unique_ptr<taec_npy_writer> owned(writer);
  return guarded(owned->writer.path(), [&] { return report(owned->writer.commit()); });
}

void taec_npy_writer_free(taec_npy_writer* writer) { delete writer; }

struct taec_png_writer {
  std::unique_ptr<taec::PngWriter> writer;
};

taec_status taec_png_writer_open(const char* path, int height, int width, taec_png_writer** out) {
  if (path == nullptr || out == nullptr) return invalid("taec_png_writer_open: NULL argument");
  *out = nullptr;
  return guarded(path, [&] {
    auto w = taec::PngWriter::open(path, height, width);
    if (!w.ok()) return report(w.status());
    *out = new taec_png_writer{std::move(*w)};
    return TAEC_OK;
  });
}

taec_status taec_png_writer_write_rows(taec_png_writer* writer, const float* data, int rows, taec_layout layout) {
  if (writer == nullptr || (data == nullptr && rows > 0)) return invalid("taec_png_writer_write_rows: NULL argument");
  if (!one_of(layout, {TAEC_LAYOUT_NCHW, TAEC_LAYOUT_NHWC})) return invalid("taec_png_writer_write_rows: invalid layout");
  const auto order = layout == TAEC_LAYOUT_NHWC ? taec::RgbOrder::hwc : taec::RgbOrder::chw;
  return guarded(writer->writer->path(), [&] { return report(writer->writer->write_rows(data, order, rows)); });
}

taec_status taec_png_writer_close(taec_png_writer* writer) {
  if (writer == nullptr) return invalid("taec_png_writer_close: NULL writer");
  std::unique_ptr<taec_png_writer> owned(writer);
  return guarded(owned->writer->path(), [&] { return report(owned->writer->commit()); });
}

void taec_png_writer_free(taec_png_writer* writer) { delete writer; }

taec_status taec_tensor_load(const char* path, taec_array** out) {
  if (path == nullptr || out == nullptr) return invalid("taec_tensor_load: NULL argument");
  *out = nullptr;
  return guarded(path, [&] {
    auto a = taec::read_tensor_file(path);
    if (!a.ok()) return report(a.status());
    if (a->shape.size() > 8) return report(taec::Status(taec::Code::shape, std::string(path) + ": rank over 8"));
    return make_array(a->shape, a->data, out);
  });
}

taec_status taec_image_load(const char* path, taec_array** out) {
  if (path == nullptr || out == nullptr) return invalid("taec_image_load: NULL argument");
  *out = nullptr;
  return guarded(path, [&] {
    auto image = taec::read_image(path);
    if (!image.ok()) return report(image.status());
    return make_array({1, 3, image->height, image->width}, image->chw, out);
  });
}

taec_status taec_image_save_png(const char* path, const float* data, int height, int width, taec_layout layout) {
  if (path == nullptr || data == nullptr) return invalid("taec_image_save_png: NULL argument");
  if (height <= 0 || width <= 0 || height > 65535 || width > 65535) return invalid("taec_image_save_png: bad size");
  if (!one_of(layout, {TAEC_LAYOUT_NCHW, TAEC_LAYOUT_NHWC})) return invalid("taec_image_save_png: invalid layout");
  return guarded(path, [&] {
    const auto order = layout == TAEC_LAYOUT_NHWC ? taec::RgbOrder::hwc : taec::RgbOrder::chw;
    return report(taec::write_png(path, data, order, height, width));
  });
}

taec_status taec_image_to_rgb8(const float* data, int height, int width, taec_layout layout, uint8_t* out) {
  if (data == nullptr || out == nullptr) return invalid("taec_image_to_rgb8: NULL argument");
  if (height <= 0 || width <= 0) return invalid("taec_image_to_rgb8: bad size");
  if (!one_of(layout, {TAEC_LAYOUT_NCHW, TAEC_LAYOUT_NHWC})) return invalid("taec_image_to_rgb8: invalid layout");
  taec::float_to_rgb8(data, layout == TAEC_LAYOUT_NHWC ? taec::RgbOrder::hwc : taec::RgbOrder::chw, height, width, out);
  return TAEC_OK;
}

void taec_array_free(taec_array* array) {
  if (array == nullptr) return;
  std::free(array->data);
  std::free(array);
}

taec_status taec_resolve_weights(const char* name_or_path, taec_role role, char* buf, size_t buf_size) {
  if (name_or_path == nullptr || buf == nullptr || buf_size == 0) return invalid("taec_resolve_weights: NULL argument");
  if (!one_of(role, {TAEC_ROLE_ANY, TAEC_ROLE_DECODER, TAEC_ROLE_ENCODER})) return invalid("taec_resolve_weights: invalid role");
  return guarded([&] {
    auto path = taec::resolve_weights(name_or_path, role);
    if (!path.ok()) return report(path.status());
    if (path->size() + 1 > buf_size) return invalid("taec_resolve_weights: buffer too small");
    std::memcpy(buf, path->c_str(), path->size() + 1);
    return report(taec::ok_status());
  });
}

}  // extern "C"

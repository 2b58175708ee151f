// Thin C++ RAII over taec.h: owning handles, and failures thrown as taec::Error carrying the
// status and message. Nothing here adds behaviour; see taec.h for the contracts.
#ifndef TAEC_TAEC_HPP_
#define TAEC_TAEC_HPP_

#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "taec/taec.h"

namespace taec {
// The wrappers live in an inline namespace: callers write taec::Model, but the symbols are
// distinct from the library's internal classes of the same names (taec::Model, taec::Plan,
// taec::Package), so a program linking both never merges their inline functions.
inline namespace cpp {

class Error : public std::runtime_error {
 public:
  Error(taec_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  taec_status status() const { return status_; }

 private:
  taec_status status_;
};

inline void check(taec_status status) {
  if (status != TAEC_OK) throw Error(status, taec_last_error());
}

namespace detail {
struct ModelDeleter { void operator()(taec_model* p) const { taec_model_free(p); } };
struct PlanDeleter { void operator()(taec_plan* p) const { taec_plan_free(p); } };
struct ArrayDeleter { void operator()(taec_array* p) const { taec_array_free(p); } };
struct PackageDeleter { void operator()(taec_package* p) const { taec_package_free(p); } };
struct CalibrationDeleter { void operator()(taec_calibration* p) const { taec_calibration_free(p); } };
struct StreamDeleter { void operator()(taec_stream* p) const { taec_stream_free(p); } };
struct NpyWriterDeleter { void operator()(taec_npy_writer* p) const { taec_npy_writer_free(p); } };
struct PngWriterDeleter { void operator()(taec_png_writer* p) const { taec_png_writer_free(p); } };
}  // namespace detail

class Model {
 public:
  explicit Model(const std::string& path, const taec_load_options* options = nullptr) {
    taec_model* raw = nullptr;
    check(taec_model_load(path.c_str(), options, &raw));
    handle_.reset(raw);
  }
  taec_model_info info() const {
    taec_model_info info;
    check(taec_model_get_info(handle_.get(), &info));
    return info;
  }
  taec_tensor_info tensor(size_t index) const {
    taec_tensor_info t;
    check(taec_model_get_tensor(handle_.get(), index, &t));
    return t;
  }
  int64_t clip_length(int64_t count) const {
    int64_t n = 0;
    check(taec_model_clip_length(handle_.get(), count, &n));
    return n;
  }
  const taec_model* get() const { return handle_.get(); }

 private:
  friend class Package;
  explicit Model(taec_model* raw) : handle_(raw) {}
  std::unique_ptr<taec_model, detail::ModelDeleter> handle_;
};

class Plan {
 public:
  Plan(const Model& model, const taec_plan_options& options) {
    taec_plan* raw = nullptr;
    check(taec_plan_compile(model.get(), &options, &raw));
    handle_.reset(raw);
  }
  taec_plan_io io() const {
    taec_plan_io io;
    check(taec_plan_get_io(handle_.get(), &io));
    return io;
  }
  void run(const void* input, void* output) { check(taec_plan_run(handle_.get(), input, output)); }
  // taec_plan_run_rows: fn(row_begin, row_end, rows) per band; an exception from fn stops the run
  // and is rethrown here.
  void run_rows(const void* input, const std::function<void(int, int, const void*)>& fn) {
    struct Call {
      const std::function<void(int, int, const void*)>* fn;
      std::exception_ptr error;
    } call{&fn, nullptr};
    const taec_status s = taec_plan_run_rows(
        handle_.get(), input,
        [](int row_begin, int row_end, const void* rows, void* user) {
          auto* c = static_cast<Call*>(user);
          try {
            (*c->fn)(row_begin, row_end, rows);
            return TAEC_OK;
          } catch (...) {
            c->error = std::current_exception();
            return TAEC_ERR_INTERNAL;
          }
        },
        &call);
    if (call.error) std::rethrow_exception(call.error);
    check(s);
  }
  taec_plan_stats stats() const {
    taec_plan_stats s;
    check(taec_plan_get_stats(handle_.get(), &s));
    return s;
  }
  taec_op_profile op_profile(size_t index) const {
    taec_op_profile p;
    check(taec_plan_get_op_profile(handle_.get(), index, &p));
    return p;
  }
  taec_plan* get() { return handle_.get(); }

 private:
  friend class Package;
  explicit Plan(taec_plan* raw) : handle_(raw) {}
  std::unique_ptr<taec_plan, detail::PlanDeleter> handle_;
};

// A video clip through a plan (taec.h "Streams"). Borrows the plan: destroy the stream first.
class Stream {
 public:
  explicit Stream(Plan& plan, int clip_latents = 0) {
    taec_stream_options o;
    taec_stream_options_init(&o);
    o.clip_latents = clip_latents;
    taec_stream* raw = nullptr;
    check(taec_stream_create(plan.get(), &o, &raw));
    handle_.reset(raw);
  }
  void push(const void* input) { check(taec_stream_push(handle_.get(), input)); }
  void flush() { check(taec_stream_flush(handle_.get())); }
  size_t pending() const { return taec_stream_pending(handle_.get()); }
  void pull(void* output) { check(taec_stream_pull(handle_.get(), output)); }
  void reset() { check(taec_stream_reset(handle_.get())); }
  taec_stream_info info() const {
    taec_stream_info i;
    check(taec_stream_get_info(handle_.get(), &i));
    return i;
  }

 private:
  std::unique_ptr<taec_stream, detail::StreamDeleter> handle_;
};

// Int8 activation ranges (TAEC_PRECISION_INT8): set options.calibration = calibration.get().
class Calibration {
 public:
  static Calibration from_images(const Model& decoder, const Model& encoder, const std::vector<std::string>& image_paths,
                                 int size = 512, int threads = 0) {
    std::vector<const char*> paths;
    for (const std::string& p : image_paths) paths.push_back(p.c_str());
    taec_calibration* raw = nullptr;
    check(taec_calibrate_images(decoder.get(), encoder.get(), paths.data(), paths.size(), size, threads, &raw));
    return Calibration(raw);
  }
  static Calibration from_latents(const Model& decoder, const float* latents, size_t count, int image_height, int image_width,
                                  int threads = 0) {
    taec_calibration* raw = nullptr;
    check(taec_calibrate_latents(decoder.get(), latents, count, image_height, image_width, threads, &raw));
    return Calibration(raw);
  }
  std::string describe() const { return taec_calibration_describe(handle_.get()); }
  const taec_calibration* get() const { return handle_.get(); }

 private:
  explicit Calibration(taec_calibration* raw) : handle_(raw) {}
  std::unique_ptr<taec_calibration, detail::CalibrationDeleter> handle_;
};

class Package {
 public:
  explicit Package(const std::string& path) {
    taec_package* raw = nullptr;
    check(taec_package_open(path.c_str(), &raw));
    handle_.reset(raw);
  }
  taec_package_info info() const {
    taec_package_info info;
    check(taec_package_get_info(handle_.get(), &info));
    return info;
  }
  struct Size {
    int height, width;
    double validated_max_abs;
  };
  Size size(size_t index) const {
    Size s{};
    check(taec_package_get_size(handle_.get(), index, &s.height, &s.width, &s.validated_max_abs));
    return s;
  }
  Model model() const {
    taec_model* raw = nullptr;
    check(taec_package_get_model(handle_.get(), &raw));
    return Model(raw);
  }
  const taec_package* get() const { return handle_.get(); }
  // run_options: only threads, memory and nonfinite are used.
  Plan load_plan(int height, int width, const taec_plan_options* run_options = nullptr) {
    taec_plan* raw = nullptr;
    check(taec_package_load_plan(handle_.get(), height, width, run_options, &raw));
    return Plan(raw);
  }

 private:
  std::unique_ptr<taec_package, detail::PackageDeleter> handle_;
};

class Array {
 public:
  static Array load_npy(const std::string& path) {
    taec_array* raw = nullptr;
    check(taec_npy_load(path.c_str(), &raw));
    return Array(raw);
  }
  static Array load_tensor(const std::string& path) {
    taec_array* raw = nullptr;
    check(taec_tensor_load(path.c_str(), &raw));
    return Array(raw);
  }
  static Array load_image(const std::string& path) {
    taec_array* raw = nullptr;
    check(taec_image_load(path.c_str(), &raw));
    return Array(raw);
  }
  float* data() { return handle_->data; }
  const float* data() const { return handle_->data; }
  size_t elems() const { return handle_->elems; }
  std::vector<int64_t> shape() const { return {handle_->shape, handle_->shape + handle_->rank}; }

 private:
  explicit Array(taec_array* raw) : handle_(raw) {}
  std::unique_ptr<taec_array, detail::ArrayDeleter> handle_;
};

inline void save_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape,
                     taec_dtype dtype = TAEC_DTYPE_F32) {
  check(taec_npy_save(path.c_str(), data, static_cast<int>(shape.size()), shape.data(), dtype));
}

// A .npy filled piece by piece (taec.h taec_npy_writer); destroyed without close(), it leaves nothing.
class NpyWriter {
 public:
  NpyWriter(const std::string& path, const std::vector<int64_t>& shape, taec_dtype dtype = TAEC_DTYPE_F32) {
    taec_npy_writer* raw = nullptr;
    check(taec_npy_writer_open(path.c_str(), static_cast<int>(shape.size()), shape.data(), dtype, &raw));
    handle_.reset(raw);
  }
  void write(uint64_t offset, const float* data, size_t count) { check(taec_npy_writer_write(handle_.get(), offset, data, count)); }
  bool seekable() const { return taec_npy_writer_seekable(handle_.get()) != 0; }
  void close() { check(taec_npy_writer_close(handle_.release())); }

 private:
  std::unique_ptr<taec_npy_writer, detail::NpyWriterDeleter> handle_;
};

// A PNG written row by row (taec.h taec_png_writer); destroyed without close(), it leaves nothing.
class PngWriter {
 public:
  PngWriter(const std::string& path, int height, int width) {
    taec_png_writer* raw = nullptr;
    check(taec_png_writer_open(path.c_str(), height, width, &raw));
    handle_.reset(raw);
  }
  void write_rows(const float* data, int rows, taec_layout layout) { check(taec_png_writer_write_rows(handle_.get(), data, rows, layout)); }
  void close() { check(taec_png_writer_close(handle_.release())); }

 private:
  std::unique_ptr<taec_png_writer, detail::PngWriterDeleter> handle_;
};

inline void save_png(const std::string& path, const float* data, int height, int width, taec_layout layout) {
  check(taec_image_save_png(path.c_str(), data, height, width, layout));
}

inline std::string resolve_weights(const std::string& name_or_path, taec_role role) {
  std::vector<char> buf(4096);
  check(taec_resolve_weights(name_or_path.c_str(), role, buf.data(), buf.size()));
  return buf.data();
}

}  // namespace cpp
}  // namespace taec

#endif  // TAEC_TAEC_HPP_

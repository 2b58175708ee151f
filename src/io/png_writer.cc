#include "io/png_writer.h"

#include <png.h>

#include <csetjmp>

namespace taec {

struct PngWriter::Png {
  png_structp png = nullptr;
  png_infop info = nullptr;
  std::string error;
  ~Png() { png_destroy_write_struct(&png, info ? &info : nullptr); }
};

namespace {

void on_error(png_structp png, png_const_charp message) {
  static_cast<std::string*>(png_get_error_ptr(png))->assign(message);
  std::longjmp(png_jmpbuf(png), 1);
}
void on_warning(png_structp, png_const_charp) {}

}  // namespace

PngWriter::PngWriter(OutputFile file, int height, int width) : file_(std::move(file)), height_(height), width_(width) {}
PngWriter::~PngWriter() = default;

Result<std::unique_ptr<PngWriter>> PngWriter::open(const std::string& path, int height, int width) {
  if (height <= 0 || width <= 0 || height > 65535 || width > 65535) {
    return Status(Code::invalid_argument, path + ": a PNG of " + std::to_string(height) + "x" + std::to_string(width) + " pixels");
  }
  auto file = OutputFile::open(path);
  if (!file.ok()) return file.status();
  std::unique_ptr<PngWriter> w(new PngWriter(std::move(*file), height, width));
  TAEC_RETURN_IF_ERROR(w->start());
  return w;
}

// libpng reports errors by longjmp: only trivially destructible locals live across its calls.
Status PngWriter::start() {
  png_ = std::make_unique<Png>();
  png_->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &png_->error, on_error, on_warning);
  if (png_->png == nullptr) return Status(Code::out_of_memory, path() + ": out of memory starting the PNG");
  png_->info = png_create_info_struct(png_->png);
  if (png_->info == nullptr) return Status(Code::out_of_memory, path() + ": out of memory starting the PNG");
  auto write = [](png_structp png, png_bytep data, size_t size) {
    auto* self = static_cast<PngWriter*>(png_get_io_ptr(png));
    if (self->write_status_.ok()) self->write_status_ = self->file_.write(data, size);
  };
  if (setjmp(png_jmpbuf(png_->png))) return Status(Code::internal, path() + ": PNG encoding failed: " + png_->error);
  png_set_write_fn(png_->png, this, write, nullptr);
  png_set_IHDR(png_->png, png_->info, width_, height_, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png_->png, png_->info);
  return write_status_;
}

Status PngWriter::write_rows(const float* data, RgbOrder order, int rows) {
  if (rows < 0 || written_ + rows > height_) {
    return Status(Code::invalid_argument, path() + ": " + std::to_string(written_ + rows) + " rows for a PNG of " + std::to_string(height_));
  }
  levels_.resize(static_cast<size_t>(rows) * width_ * 3);
  float_to_rgb8(data, order, rows, width_, levels_.data());
  if (setjmp(png_jmpbuf(png_->png))) return Status(Code::internal, path() + ": PNG encoding failed: " + png_->error);
  for (int r = 0; r < rows; ++r) png_write_row(png_->png, levels_.data() + static_cast<size_t>(r) * width_ * 3);
  written_ += rows;
  return write_status_;
}

Status PngWriter::commit() {
  if (written_ != height_) {
    return Status(Code::internal, path() + ": " + std::to_string(written_) + " of " + std::to_string(height_) + " rows written");
  }
  if (setjmp(png_jmpbuf(png_->png))) return Status(Code::internal, path() + ": PNG encoding failed: " + png_->error);
  png_write_end(png_->png, nullptr);
  TAEC_RETURN_IF_ERROR(write_status_);
  return file_.commit();
}

}  // namespace taec

// A PNG written row by row (libpng), so an image is never held whole as levels or as compressed
// bytes: `taec decode` hands each band of the plan's output straight to it. Atomic like every
// output (OutputFile): the file appears only when every row was written and commit() succeeds.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "base/status.h"
#include "io/rgb8.h"

namespace taec {

class PngWriter {
 public:
  static Result<std::unique_ptr<PngWriter>> open(const std::string& path, int height, int width);
  ~PngWriter();

  // The next `rows` rows, a dense block of them in `order` ([3][rows][W] or [rows][W][3]).
  Status write_rows(const float* data, RgbOrder order, int rows);
  // Fails, leaving nothing, unless every row was written.
  Status commit();

  const std::string& path() const { return file_.path(); }

 private:
  PngWriter(OutputFile file, int height, int width);
  Status start();

  OutputFile file_;
  int height_, width_, written_ = 0;
  struct Png;
  std::unique_ptr<Png> png_;
  std::vector<uint8_t> levels_;
  Status write_status_;  // the first failed write of libpng's output callback
};

}  // namespace taec

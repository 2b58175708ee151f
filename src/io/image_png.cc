// PNG through libpng. libpng reports errors by calling our handler, which records the message
// and longjmps back to the setjmp in png_guarded; nothing reaches stderr and nothing exits.
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include "io/exif.h"
#include "io/image_decoders.h"

namespace taec {
namespace {

// Any one chunk libpng would hold in memory (only eXIf among the ancillary chunks is kept; the
// rest are skipped unread). Debian's build default, set here so it does not depend on the build.
constexpr png_alloc_size_t kMaxChunkBytes = 8000000;
// Deflate's best case is 1032 output bytes per input byte (a 258-byte match in two 1-bit codes),
// so a file smaller than its image data / 1032 cannot hold that image: refuse it before
// allocating for the declared size.
constexpr uint64_t kMaxDeflateRatio = 1032;

struct PngContext {
  std::jmp_buf jump;
  char message[256] = "";
  bool truncated = false;
  const uint8_t* data = nullptr;
  size_t size = 0, pos = 0;
};

[[noreturn]] void on_png_error(png_structp png, png_const_charp message) {
  auto* ctx = static_cast<PngContext*>(png_get_error_ptr(png));
  std::snprintf(ctx->message, sizeof ctx->message, "%s", message);
  std::longjmp(ctx->jump, 1);
}

// Plain warnings (png_warning) are about data libpng recovers from or ignores; benign errors,
// which flag corrupt data, are made errors below.
void on_png_warning(png_structp, png_const_charp) {}

void read_from_memory(png_structp png, png_bytep out, size_t n) {
  auto* ctx = static_cast<PngContext*>(png_get_io_ptr(png));
  if (n > ctx->size - ctx->pos) {
    ctx->truncated = true;
    png_error(png, "read past the end of the file");
  }
  std::memcpy(out, ctx->data + ctx->pos, n);
  ctx->pos += n;
}

// Runs one libpng step; false when libpng reported an error (ctx.message says what). `step` must
// not own anything with a destructor: a longjmp out of it skips destructors.
template <typename Step>
bool png_guarded(PngContext& ctx, Step&& step) {
  if (setjmp(ctx.jump)) return false;
  step();
  return true;
}

struct PngReader {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~PngReader() {
    if (png) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
  }
};

Status png_failure(const std::string& path, const PngContext& ctx) {
  if (ctx.truncated) {
    return Status(Code::format, path + ": truncated PNG: its chunks run past the end of the " + std::to_string(ctx.size) +
                                    "-byte file");
  }
  return Status(Code::format, path + ": corrupt PNG (libpng: " + ctx.message + ")");
}

}  // namespace

Result<Rgb8Image> decode_png(const std::string& path, const std::vector<uint8_t>& bytes) {
  PngContext ctx;
  ctx.data = bytes.data();
  ctx.size = bytes.size();
  PngReader r;
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, on_png_error, on_png_warning);
  if (r.png) r.info = png_create_info_struct(r.png);
  if (!r.png || !r.info) return Status(Code::out_of_memory, path + ": cannot start libpng");
  const bool header_ok = png_guarded(ctx, [&] {
    // Benign errors (extra image data, a bad palette index, a duplicate or misplaced chunk) mean
    // a corrupt file: refuse it rather than decode a guess. libpng's read default is to warn.
    png_set_benign_errors(r.png, 0);
    // Skip every ancillary chunk (text, ICC profiles, ...) without reading it into memory, except
    // eXIf for the orientation. Colour management is not applied (it never was).
    png_set_keep_unknown_chunks(r.png, PNG_HANDLE_CHUNK_NEVER, nullptr, -1);
    png_set_keep_unknown_chunks(r.png, PNG_HANDLE_CHUNK_AS_DEFAULT, reinterpret_cast<png_const_bytep>("eXIf"), 1);
    png_set_chunk_malloc_max(r.png, kMaxChunkBytes);
    png_set_chunk_cache_max(r.png, 16);
    png_set_read_fn(r.png, &ctx, read_from_memory);
    png_read_info(r.png, r.info);
  });
  if (!header_ok) return png_failure(path, ctx);

  const png_uint_32 width = png_get_image_width(r.png, r.info), height = png_get_image_height(r.png, r.info);
  TAEC_RETURN_IF_ERROR(check_image_dimensions(path, width, height));
  const uint64_t filtered_bytes = uint64_t{height} * (png_get_rowbytes(r.png, r.info) + 1);
  if (bytes.size() < filtered_bytes / kMaxDeflateRatio) {
    return Status(Code::format, path + ": truncated PNG: a " + std::to_string(width) + "x" + std::to_string(height) +
                                    " image needs at least " + std::to_string(filtered_bytes / kMaxDeflateRatio) +
                                    " bytes of compressed data; the file has " + std::to_string(bytes.size()));
  }

  const bool transforms_ok = png_guarded(ctx, [&] {
    const int color = png_get_color_type(r.png, r.info), depth = png_get_bit_depth(r.png, r.info);
    // 16-bit samples keep their high byte, as stb did and as PIL does for 16-bit RGB.
    if (depth == 16) png_set_strip_16(r.png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(r.png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(r.png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(r.png);
    // Alpha (an alpha channel or a tRNS transparent colour) is dropped, not composited.
    png_set_strip_alpha(r.png);
    png_set_interlace_handling(r.png);
    png_read_update_info(r.png, r.info);
  });
  if (!transforms_ok) return png_failure(path, ctx);
  if (png_get_channels(r.png, r.info) != 3 || png_get_bit_depth(r.png, r.info) != 8 ||
      png_get_rowbytes(r.png, r.info) != size_t{width} * 3) {
    return Status(Code::internal, path + ": libpng did not produce 8-bit RGB rows");
  }

  Rgb8Image image;
  image.height = static_cast<int>(height);
  image.width = static_cast<int>(width);
  image.rgb.resize(size_t{height} * width * 3);
  std::vector<png_bytep> rows(height);
  for (png_uint_32 y = 0; y < height; ++y) rows[y] = image.rgb.data() + size_t{y} * width * 3;
  // Through IEND: a file cut after its image data is refused, and an eXIf after the image data
  // (where some writers put it) is read.
  const bool pixels_ok = png_guarded(ctx, [&] {
    png_read_image(r.png, rows.data());
    png_read_end(r.png, r.info);
  });
  if (!pixels_ok) return png_failure(path, ctx);

  png_uint_32 exif_size = 0;
  png_bytep exif = nullptr;
  if (png_get_eXIf_1(r.png, r.info, &exif_size, &exif) != 0) image.orientation = exif_orientation(exif, exif_size);
  return image;
}

}  // namespace taec

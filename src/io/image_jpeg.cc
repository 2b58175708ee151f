// JPEG through libjpeg-turbo's libjpeg API. libjpeg reports errors, and the warnings that mean
// the pixels are wrong, by calling our handlers, which record the message and longjmp back to the
// setjmp in jpeg_guarded; nothing reaches stderr and nothing exits.
#include <cstdio>  // jpeglib.h needs FILE
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <csetjmp>
#include <cstring>

#include "io/exif.h"
#include "io/image_decoders.h"

namespace taec {
namespace {

enum class JpegFailure { none, library, truncated, too_many_scans };

struct JpegContext {
  jpeg_error_mgr err;
  jpeg_progress_mgr progress;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = "";
  JpegFailure failure = JpegFailure::none;
  // The first APP1 "Exif" payload seen before the first scan (viewers and PIL read that one);
  // points into the caller's bytes.
  bool in_header = true;
  const uint8_t* exif = nullptr;
  size_t exif_size = 0;
};

JpegContext* context_of(j_common_ptr cinfo) { return static_cast<JpegContext*>(cinfo->client_data); }

[[noreturn]] void fail(j_common_ptr cinfo, JpegFailure failure) {
  JpegContext* ctx = context_of(cinfo);
  ctx->failure = failure;
  (*cinfo->err->format_message)(cinfo, ctx->message);
  std::longjmp(ctx->jump, 1);
}

[[noreturn]] void on_jpeg_error(j_common_ptr cinfo) { fail(cinfo, JpegFailure::library); }

// level < 0: a warning. libjpeg warns, and carries on with made-up data, when the entropy-coded
// data is corrupt or ends early; taec refuses those rather than encode grey or garbage blocks.
// Warnings about metadata (stray bytes before a marker, which real cameras write; an unknown
// JFIF revision or Adobe transform; a bad ICC marker) leave the pixels intact and are ignored.
// Trace messages (level >= 0) are ignored.
void on_jpeg_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;
  switch (cinfo->err->msg_code) {
    case JWRN_EXTRANEOUS_DATA:
    case JWRN_JFIF_MAJOR:
    case JWRN_ADOBE_XFORM:
    case JWRN_BOGUS_ICC: return;
    case JWRN_JPEG_EOF: fail(cinfo, JpegFailure::truncated);
    default: fail(cinfo, JpegFailure::library);
  }
}

void ignore_output(j_common_ptr) {}

// Called as libjpeg consumes the input (per marker and per block row), so a file with thousands
// of scans is stopped at scan kMaxJpegScans + 1, before it costs more.
void check_scan_count(j_common_ptr cinfo) {
  if (reinterpret_cast<j_decompress_ptr>(cinfo)->input_scan_number <= kMaxJpegScans) return;
  JpegContext* ctx = context_of(cinfo);
  ctx->failure = JpegFailure::too_many_scans;
  std::longjmp(ctx->jump, 1);
}

// APP1 handler in place of libjpeg's default skip: notes where the first Exif payload is and skips
// the segment. Nothing is copied or saved (jpeg_save_markers is not used), so no segment, however
// many there are, makes libjpeg buffer anything. A segment that claims more bytes than remain runs
// into the end of the data, which the source manager reports as JWRN_JPEG_EOF: truncated.
boolean read_app1(j_decompress_ptr cinfo) {
  jpeg_source_mgr* src = cinfo->src;
  auto next_byte = [&]() -> unsigned {
    if (src->bytes_in_buffer == 0 && !(*src->fill_input_buffer)(cinfo)) ERREXIT(cinfo, JERR_INPUT_EMPTY);
    --src->bytes_in_buffer;
    return *src->next_input_byte++;
  };
  const unsigned high = next_byte();
  const unsigned length = (high << 8) | next_byte();
  if (length < 2) ERREXIT(cinfo, JERR_BAD_LENGTH);
  const size_t payload = length - 2;
  JpegContext* ctx = context_of(reinterpret_cast<j_common_ptr>(cinfo));
  if (ctx->in_header && ctx->exif == nullptr && src->bytes_in_buffer >= payload && payload >= 6 &&
      std::memcmp(src->next_input_byte, "Exif\0\0", 6) == 0) {
    ctx->exif = src->next_input_byte + 6;
    ctx->exif_size = payload - 6;
  }
  if (payload > 0) (*src->skip_input_data)(cinfo, static_cast<long>(payload));
  return TRUE;
}

// Runs one libjpeg step; false when libjpeg reported an error (the context says what). `step`
// must not own anything with a destructor: a longjmp out of it skips destructors.
template <typename Step>
bool jpeg_guarded(JpegContext& ctx, Step&& step) {
  if (setjmp(ctx.jump)) return false;
  step();
  return true;
}

struct JpegReader {
  jpeg_decompress_struct cinfo{};
  ~JpegReader() { jpeg_destroy_decompress(&cinfo); }
};

Status jpeg_failure(const std::string& path, const JpegContext& ctx) {
  switch (ctx.failure) {
    case JpegFailure::truncated:
      return Status(Code::format, path + ": truncated JPEG: the data ends before the image does (libjpeg: " +
                                      ctx.message + ")");
    case JpegFailure::too_many_scans:
      return Status(Code::format, path + ": JPEG has more than " + std::to_string(kMaxJpegScans) +
                                      " scans, taec's limit (real progressive files have about 10; each scan "
                                      "costs a pass over the image)");
    default: return Status(Code::format, path + ": corrupt or unsupported JPEG (libjpeg: " + ctx.message + ")");
  }
}

// PIL's conversion, which diffusers' load_image applies: four-component JPEGs are taken as
// Adobe-style inverted CMYK (libjpeg turns YCCK into that), and RGB = K' - (255 - C') * K' / 255
// with C', K' as stored, rounded as PIL rounds.
void cmyk_row_to_rgb(const uint8_t* cmyk, uint8_t* rgb, int width) {
  for (int x = 0; x < width; ++x, cmyk += 4, rgb += 3) {
    const unsigned k = cmyk[3];
    for (int c = 0; c < 3; ++c) {
      const unsigned t = (255u - cmyk[c]) * k + 128;
      rgb[c] = static_cast<uint8_t>(k - ((t + (t >> 8)) >> 8));
    }
  }
}

}  // namespace

Result<Rgb8Image> decode_jpeg(const std::string& path, const std::vector<uint8_t>& bytes) {
  JpegContext ctx;
  JpegReader r;
  r.cinfo.err = jpeg_std_error(&ctx.err);
  ctx.err.error_exit = on_jpeg_error;
  ctx.err.emit_message = on_jpeg_message;
  ctx.err.output_message = ignore_output;
  ctx.progress.progress_monitor = check_scan_count;
  r.cinfo.client_data = &ctx;
  const bool header_ok = jpeg_guarded(ctx, [&] {
    jpeg_create_decompress(&r.cinfo);
    jpeg_mem_src(&r.cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
    jpeg_set_marker_processor(&r.cinfo, JPEG_APP0 + 1, read_app1);
    jpeg_read_header(&r.cinfo, TRUE);
  });
  if (!header_ok) return jpeg_failure(path, ctx);
  ctx.in_header = false;
  TAEC_RETURN_IF_ERROR(check_image_dimensions(path, r.cinfo.image_width, r.cinfo.image_height));

  bool cmyk = false;
  switch (r.cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB: r.cinfo.out_color_space = JCS_RGB; break;
    case JCS_CMYK:
    case JCS_YCCK:
      r.cinfo.out_color_space = JCS_CMYK;
      cmyk = true;
      break;
    default:
      return Status(Code::unsupported, path + ": JPEG with " + std::to_string(r.cinfo.num_components) +
                                           " components in an unknown colour space; taec reads grey, YCbCr, RGB "
                                           "and CMYK/YCCK JPEGs");
  }
  r.cinfo.progress = &ctx.progress;
  if (!jpeg_guarded(ctx, [&] { jpeg_start_decompress(&r.cinfo); })) return jpeg_failure(path, ctx);
  const int channels = cmyk ? 4 : 3;
  if (static_cast<int>(r.cinfo.output_components) != channels || r.cinfo.output_width != r.cinfo.image_width ||
      r.cinfo.output_height != r.cinfo.image_height) {
    return Status(Code::internal, path + ": libjpeg did not produce the expected rows");
  }

  Rgb8Image image;
  image.height = static_cast<int>(r.cinfo.output_height);
  image.width = static_cast<int>(r.cinfo.output_width);
  image.rgb.resize(size_t{r.cinfo.output_height} * r.cinfo.output_width * 3);
  std::vector<uint8_t> cmyk_row(cmyk ? size_t{r.cinfo.output_width} * 4 : 0);
  bool stalled = false;
  // Then on to the EOI marker: a file that ends before it is refused as truncated (libjpeg needs
  // the marker, or more data, to know the last blocks are complete), as PIL refuses it.
  const bool pixels_ok = jpeg_guarded(ctx, [&] {
    while (r.cinfo.output_scanline < r.cinfo.output_height) {
      uint8_t* rgb_row = image.rgb.data() + size_t{r.cinfo.output_scanline} * image.width * 3;
      JSAMPROW row = cmyk ? cmyk_row.data() : rgb_row;
      if (jpeg_read_scanlines(&r.cinfo, &row, 1) != 1) {
        stalled = true;  // only a suspending data source returns no row; the memory source never does
        return;
      }
      if (cmyk) cmyk_row_to_rgb(cmyk_row.data(), rgb_row, image.width);
    }
    jpeg_finish_decompress(&r.cinfo);
  });
  if (!pixels_ok) return jpeg_failure(path, ctx);
  if (stalled) return Status(Code::internal, path + ": libjpeg returned no rows");
  image.orientation = exif_orientation(ctx.exif, ctx.exif_size);
  return image;
}

}  // namespace taec

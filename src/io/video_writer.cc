#include "io/video_writer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <vector>

#include "base/file_util.h"
#include "io/image_decoders.h"  // the size limits: videos share the images'
#include "io/video_av.h"

extern "C" {
#include <libavutil/opt.h>
}

namespace taec {
namespace {

struct CodecChoice {
  const char* name;     // taec's name for it
  const char* encoder;  // FFmpeg's
  int default_crf, min_crf, max_crf;
  // The YUV matrix: BT.709, except for VP8, whose bitstream defines BT.601 only (decoders,
  // FFmpeg's and browsers', convert it so whatever the container says).
  AVColorSpace matrix;
};

constexpr CodecChoice kCodecs[] = {
    {"h264", "libx264", 18, 0, 51, AVCOL_SPC_BT709},
    {"vp9", "libvpx-vp9", 24, 0, 63, AVCOL_SPC_BT709},
    {"vp8", "libvpx", 8, 4, 63, AVCOL_SPC_SMPTE170M},
    {"mpeg4", "mpeg4", 2, 1, 31, AVCOL_SPC_BT709},
};

const CodecChoice* find_codec(const std::string& name) {
  for (const CodecChoice& c : kCodecs) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// taec's container name -> FFmpeg's muxer.
const char* muxer_of(const std::string& container) {
  if (container == "mp4") return "mp4";
  if (container == "mov") return "mov";
  if (container == "mkv") return "matroska";
  if (container == "webm") return "webm";
  return nullptr;
}

Result<std::string> container_for(const std::string& path, const std::string& requested) {
  if (!requested.empty()) {
    if (muxer_of(requested) == nullptr) {
      return Status(Code::invalid_argument, path + ": unknown container \"" + requested + "\"; taec writes mp4, mov, mkv and webm");
    }
    return requested;
  }
  const size_t slash = path.find_last_of('/'), dot = path.find_last_of('.');
  const std::string ext = dot == std::string::npos || (slash != std::string::npos && dot < slash) ? "" : lower(path.substr(dot + 1));
  if (ext == "mp4" || ext == "m4v") return std::string("mp4");
  if (ext == "mov" || ext == "mkv" || ext == "webm") return ext;
  return Status(Code::invalid_argument, path + ": cannot tell the container from the name" +
                                            (ext.empty() ? std::string() : " (." + ext + ")") +
                                            "; name it .mp4, .mov, .mkv or .webm, or say which container to write");
}

Result<const CodecChoice*> codec_for(const std::string& path, const std::string& container, const std::string& requested) {
  std::vector<const char*> candidates;
  if (requested.empty() || requested == "auto") {
    if (container == "webm") candidates = {"vp9", "vp8"};
    else candidates = {"h264", "mpeg4"};
  } else if (find_codec(requested) != nullptr) {
    candidates = {requested.c_str()};
  } else {
    return Status(Code::invalid_argument, path + ": unknown video codec \"" + requested + "\"; taec writes h264, vp9, vp8 and mpeg4");
  }
  for (const char* name : candidates) {
    const CodecChoice* c = find_codec(name);
    if (avcodec_find_encoder_by_name(c->encoder) != nullptr) return c;
  }
  const CodecChoice* first = find_codec(candidates.front());
  return Status(Code::unsupported, path + ": this FFmpeg has no " + first->encoder + " encoder for " + first->name +
                                       (candidates.size() > 1 ? std::string(" (nor a fallback)") : std::string()));
}

}  // namespace

struct VideoWriter::Impl {
  OutputFile out;  // declared first: destroyed last, after FFmpeg has let go of it
  VideoWriterOptions options;
  VideoWriterInfo info;
  Status io_error;  // the first failed write or seek, with the OS's reason
  Status failed;    // sticky: once anything failed, every later call reports it
  bool closed = false;
  av::IoPtr io;
  av::OutputPtr format;
  av::CodecPtr codec;
  av::SwsPtr sws;
  av::FramePtr frame;
  av::PacketPtr packet;
  AVStream* stream = nullptr;
  std::vector<uint8_t> rgb;

  explicit Impl(OutputFile o) : out(std::move(o)) {}

  static int write_bytes(void* opaque, av::WriteBuffer data, int size) {
    auto* self = static_cast<Impl*>(opaque);
    Status s = self->out.write(data, static_cast<size_t>(size));
    if (s.ok()) return size;
    if (self->io_error.ok()) self->io_error = s;
    return AVERROR(EIO);
  }

  static int64_t seek(void* opaque, int64_t offset, int whence) {
    auto* self = static_cast<Impl*>(opaque);
    const int fd = self->out.fd();
    if (whence & AVSEEK_SIZE) {
      struct stat st {};
      return ::fstat(fd, &st) == 0 ? static_cast<int64_t>(st.st_size) : AVERROR(errno);
    }
    const off_t at = ::lseek(fd, offset, whence & ~AVSEEK_FORCE);
    if (at >= 0) return at;
    const int err = errno;
    if (self->io_error.ok()) self->io_error = Status(Code::io, self->out.path() + ": seek failed: " + std::strerror(err));
    return AVERROR(err);
  }

  // What went wrong in an FFmpeg call: the OS's reason when our own I/O failed, else FFmpeg's.
  Status fail(const std::string& what, int averror) {
    if (failed.ok()) {
      failed = !io_error.ok() ? io_error : Status(Code::io, out.path() + ": " + what + ": " + av::error_text(averror));
    }
    return failed;
  }

  Status encode(AVFrame* f) {
    av::clear_logged_error();
    int ret = avcodec_send_frame(codec.get(), f);
    if (ret < 0) return fail("encoding failed", ret);
    while ((ret = avcodec_receive_packet(codec.get(), packet.get())) == 0) {
      av_packet_rescale_ts(packet.get(), codec->time_base, stream->time_base);
      packet->stream_index = stream->index;
      ret = av_interleaved_write_frame(format.get(), packet.get());
      if (ret < 0) return fail("writing a frame failed", ret);
    }
    if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) return fail("encoding failed", ret);
    return io_error.ok() ? ok_status() : fail("writing failed", 0);
  }
};

VideoWriter::VideoWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VideoWriter::~VideoWriter() = default;
const VideoWriterInfo& VideoWriter::info() const { return impl_->info; }
const std::string& VideoWriter::path() const { return impl_->out.path(); }

Result<std::unique_ptr<VideoWriter>> VideoWriter::open(const std::string& path, const VideoWriterOptions& o) {
  av::take_over_log();
  av::clear_logged_error();
  const std::string size = std::to_string(o.width) + "x" + std::to_string(o.height);
  if (o.width <= 0 || o.height <= 0 || o.width > kMaxImageSide || o.height > kMaxImageSide ||
      int64_t{o.width} * o.height > kMaxImagePixels) {
    return Status(Code::shape, path + ": frame size " + size + " is outside what taec writes (16384 px a side, 64 MP)");
  }
  if (o.width % 2 != 0 || o.height % 2 != 0) {
    return Status(Code::shape, path + ": frames are " + size +
                                   "; yuv420p video needs an even width and height (crop or pad the frames by a pixel)");
  }
  if (o.fps_num <= 0 || o.fps_den <= 0 || o.fps_num > 1000 * int64_t{o.fps_den} || 100 * int64_t{o.fps_num} < o.fps_den) {
    return Status(Code::invalid_argument, path + ": frame rate " + std::to_string(o.fps_num) + "/" +
                                              std::to_string(o.fps_den) + " is not between 0.01 and 1000 fps");
  }
  TAEC_ASSIGN_OR_RETURN(std::string container, container_for(path, o.container));
  TAEC_ASSIGN_OR_RETURN(const CodecChoice* choice, codec_for(path, container, o.codec));
  const int crf = o.crf < 0 ? choice->default_crf : o.crf;
  if (crf < choice->min_crf || crf > choice->max_crf) {
    return Status(Code::invalid_argument, path + ": crf " + std::to_string(crf) + " is outside " + choice->name + "'s " +
                                              std::to_string(choice->min_crf) + "-" + std::to_string(choice->max_crf));
  }
  const AVCodec* encoder = avcodec_find_encoder_by_name(choice->encoder);
  const AVOutputFormat* muxer = av_guess_format(muxer_of(container), nullptr, nullptr);
  if (muxer == nullptr) return Status(Code::unsupported, path + ": this FFmpeg cannot write " + container);
  if (avformat_query_codec(muxer, encoder->id, FF_COMPLIANCE_NORMAL) != 1) {
    return Status(Code::invalid_argument, path + ": " + container + " files cannot hold " + choice->name + " video");
  }

  TAEC_ASSIGN_OR_RETURN(OutputFile out, OutputFile::open(path));
  auto impl = std::make_unique<Impl>(std::move(out));
  Impl& w = *impl;
  w.options = o;
  w.info = VideoWriterInfo{container, choice->name, choice->encoder, crf, !w.out.seekable(), 0};

  AVFormatContext* format = nullptr;
  if (avformat_alloc_output_context2(&format, muxer, nullptr, nullptr) < 0 || format == nullptr) throw std::bad_alloc();
  w.format.reset(format);
  // Bit-exact: no library version strings, fixed Matroska UIDs; the same frames give the same file.
  format->flags |= AVFMT_FLAG_BITEXACT;
  w.io = av::make_io(&w, true, nullptr, &Impl::write_bytes, w.out.seekable() ? &Impl::seek : nullptr);
  if (!w.out.seekable()) w.io->seekable = 0;
  format->pb = w.io.get();

  w.codec.reset(avcodec_alloc_context3(encoder));
  w.frame.reset(av_frame_alloc());
  w.packet.reset(av_packet_alloc());
  if (!w.codec || !w.frame || !w.packet) throw std::bad_alloc();
  AVCodecContext* c = w.codec.get();
  c->width = o.width;
  c->height = o.height;
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->time_base = AVRational{o.fps_den, o.fps_num};
  c->framerate = AVRational{o.fps_num, o.fps_den};
  c->color_primaries = AVCOL_PRI_BT709;
  c->color_trc = AVCOL_TRC_BT709;
  c->colorspace = choice->matrix;
  c->color_range = AVCOL_RANGE_MPEG;
  c->thread_count = o.threads;
  if (format->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  const std::string crf_text = std::to_string(crf);
  const std::string name = choice->name;
  if (name == "h264") {
    av_opt_set(c->priv_data, "crf", crf_text.c_str(), 0);
  } else if (name == "vp9") {
    // Constant quality (bit rate 0); cpu-used 4 with row threading: several times faster than
    // libvpx's default of 1, for little loss at these qualities.
    c->bit_rate = 0;
    av_opt_set(c->priv_data, "crf", crf_text.c_str(), 0);
    av_opt_set(c->priv_data, "deadline", "good", 0);
    av_opt_set(c->priv_data, "cpu-used", "4", 0);
    av_opt_set(c->priv_data, "row-mt", "1", 0);
  } else if (name == "vp8") {
    // VP8's constant-quality mode still needs a bit-rate ceiling: 1 bit per pixel is above what
    // any crf here asks for.
    c->bit_rate = static_cast<int64_t>(double(o.width) * o.height * o.fps_num / o.fps_den);
    av_opt_set(c->priv_data, "crf", crf_text.c_str(), 0);
    av_opt_set(c->priv_data, "deadline", "good", 0);
    av_opt_set(c->priv_data, "cpu-used", "4", 0);
  } else {  // mpeg4: a fixed quantizer
    c->flags |= AV_CODEC_FLAG_QSCALE;
    c->global_quality = FF_QP2LAMBDA * crf;
  }
  int ret = avcodec_open2(c, encoder, nullptr);
  if (ret < 0) return w.fail(std::string("cannot start the ") + choice->encoder + " encoder", ret);

  w.stream = avformat_new_stream(format, nullptr);
  if (w.stream == nullptr) throw std::bad_alloc();
  w.stream->time_base = c->time_base;
  w.stream->avg_frame_rate = c->framerate;
  ret = avcodec_parameters_from_context(w.stream->codecpar, c);
  if (ret < 0) return w.fail("cannot set up the video stream", ret);

  AVDictionary* muxer_options = nullptr;
  if (w.info.fragmented && (container == "mp4" || container == "mov")) {
    av_dict_set(&muxer_options, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
    // A fragment at least every second, not only at keyframes (x264 puts those 250 frames apart),
    // so a player on the pipe starts within a second of the frames.
    av_dict_set(&muxer_options, "frag_duration", "1000000", 0);
  } else {
    w.info.fragmented = false;
  }
  ret = avformat_write_header(format, &muxer_options);
  av_dict_free(&muxer_options);
  if (ret < 0) return w.fail("cannot write the header", ret);
  if (!w.io_error.ok()) return w.fail("", 0);

  w.frame->format = AV_PIX_FMT_YUV420P;
  w.frame->width = o.width;
  w.frame->height = o.height;
  w.frame->color_primaries = c->color_primaries;
  w.frame->color_trc = c->color_trc;
  w.frame->colorspace = c->colorspace;
  w.frame->color_range = c->color_range;
  if (av_frame_get_buffer(w.frame.get(), 0) < 0) throw std::bad_alloc();
  // RGB levels (full range) -> limited-range YUV by the codec's matrix. ACCURATE_RND and full-chroma input: the
  // chroma is subsampled from every pixel, not from every other one.
  w.sws.reset(sws_getContext(o.width, o.height, AV_PIX_FMT_RGB24, o.width, o.height, AV_PIX_FMT_YUV420P,
                             SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, nullptr, nullptr, nullptr));
  if (!w.sws) return Status(Code::internal, path + ": swscale cannot convert RGB to yuv420p at " + size);
  sws_setColorspaceDetails(w.sws.get(), sws_getCoefficients(SWS_CS_DEFAULT), 1, sws_getCoefficients(choice->matrix == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_ITU601), 0, 0,
                           1 << 16, 1 << 16);
  w.rgb.resize(static_cast<size_t>(o.width) * o.height * 3);
  return std::unique_ptr<VideoWriter>(new VideoWriter(std::move(impl)));
}

Status VideoWriter::write(const float* rgb, RgbOrder order) {
  Impl& w = *impl_;
  if (!w.failed.ok()) return w.failed;
  if (w.closed) return Status(Code::invalid_argument, w.out.path() + ": write after close");
  const VideoWriterOptions& o = w.options;
  float_to_rgb8(rgb, order, o.height, o.width, w.rgb.data());
  int ret = av_frame_make_writable(w.frame.get());
  if (ret < 0) return w.fail("out of frame memory", ret);
  const uint8_t* src[1] = {w.rgb.data()};
  const int src_stride[1] = {3 * o.width};
  sws_scale(w.sws.get(), src, src_stride, 0, o.height, w.frame->data, w.frame->linesize);
  w.frame->pts = w.info.frames;
  if (w.info.codec == "mpeg4") w.frame->quality = w.codec->global_quality;
  TAEC_RETURN_IF_ERROR(w.encode(w.frame.get()));
  ++w.info.frames;
  return ok_status();
}

Status VideoWriter::close() {
  Impl& w = *impl_;
  if (!w.failed.ok()) return w.failed;
  if (w.closed) return Status(Code::invalid_argument, w.out.path() + ": closed twice");
  w.closed = true;
  TAEC_RETURN_IF_ERROR(w.encode(nullptr));
  av::clear_logged_error();
  int ret = av_write_trailer(w.format.get());
  if (ret < 0) return w.fail("cannot finish the file", ret);
  avio_flush(w.io.get());
  if (!w.io_error.ok() || w.io->error < 0) return w.fail("writing failed", w.io->error);
  Status committed = w.out.commit();
  if (!committed.ok()) w.failed = committed;
  return committed;
}

}  // namespace taec

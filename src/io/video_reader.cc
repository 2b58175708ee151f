#include "io/video_reader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>

#include "base/file_util.h"
#include "io/image_decoders.h"  // the size limits: videos share the images'
#include "io/video_av.h"
#include "io/video_truncation.h"

extern "C" {
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

namespace taec {
namespace {

constexpr const char* kReadsWhat = "taec reads MP4/MOV, Matroska/WebM and AVI video";

// The demuxers taec runs, by FFmpeg's names for them.
struct Demuxer {
  const char* name;
  VideoFamily family;
  const char* container;  // VideoInfo::container
};
constexpr Demuxer kDemuxers[] = {
    {"mov,mp4,m4a,3gp,3g2,mj2", VideoFamily::mp4, "mp4"},
    {"matroska,webm", VideoFamily::matroska, "matroska"},
    {"avi", VideoFamily::avi, "avi"},
};

const Demuxer* find_demuxer(const char* name) {
  for (const Demuxer& d : kDemuxers) {
    if (std::strcmp(name, d.name) == 0) return &d;
  }
  return nullptr;
}

bool is_allowed_codec(AVCodecID id) {
  switch (id) {
    case AV_CODEC_ID_H264: case AV_CODEC_ID_HEVC: case AV_CODEC_ID_VP8: case AV_CODEC_ID_VP9: case AV_CODEC_ID_AV1:
    case AV_CODEC_ID_MPEG4: case AV_CODEC_ID_MPEG1VIDEO: case AV_CODEC_ID_MPEG2VIDEO: case AV_CODEC_ID_MJPEG:
    case AV_CODEC_ID_PRORES: case AV_CODEC_ID_FFV1:
      return true;
    default:
      return false;
  }
}

// The demuxer may not open anything but the file it was given (MOV data references, playlists).
int refuse_io_open(AVFormatContext*, AVIOContext**, const char*, int, AVDictionary**) { return AVERROR(EPERM); }

const uint8_t* display_matrix(const AVStream* st) {
#if LIBAVFORMAT_VERSION_MAJOR >= 61
  const AVPacketSideData* sd = av_packet_side_data_get(st->codecpar->coded_side_data, st->codecpar->nb_coded_side_data,
                                                       AV_PKT_DATA_DISPLAYMATRIX);
  return sd && sd->size >= 9 * sizeof(int32_t) ? sd->data : nullptr;
#else
  size_t size = 0;
  const uint8_t* data = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
  return size >= 9 * sizeof(int32_t) ? data : nullptr;
#endif
}

// Clockwise degrees a player turns the frames by (0, 90, 180, 270), as FFmpeg's own tools read
// the display matrix; angles more than 2 degrees off a right angle are left alone.
int rotation_of(const AVStream* st) {
  const uint8_t* matrix = display_matrix(st);
  if (matrix == nullptr) return 0;
  int32_t m[9];
  std::memcpy(m, matrix, sizeof m);
  const double ccw = av_display_rotation_get(m);
  if (std::isnan(ccw)) return 0;
  double cw = std::fmod(-ccw, 360.0);
  if (cw < 0) cw += 360.0;
  const double right = std::round(cw / 90.0) * 90.0;
  if (std::fabs(cw - right) > 2.0) return 0;
  return static_cast<int>(right) % 360;
}

int orientation_for(int rotation) {  // rgb8.h's EXIF numbering
  switch (rotation) {
    case 90: return 6;
    case 180: return 3;
    case 270: return 8;
    default: return 1;
  }
}

}  // namespace

struct VideoReader::Impl {
  std::string name;
  std::optional<InputFile> file;  // or, for open_memory:
  std::vector<uint8_t> bytes;
  uint64_t size_bytes = 0, memory_at = 0;
  Status io_error;  // the first failed read, with the OS's reason
  Status failed;    // sticky
  bool ended = false;

  av::IoPtr io;
  av::InputPtr format;
  av::CodecPtr codec;
  av::FramePtr frame;
  av::PacketPtr packet;
  av::SwsPtr sws;
  AVStream* stream = nullptr;
  bool draining = false;
  bool frame_pending = false;  // `frame` holds the first frame, decoded at open
  int64_t packets = 0, frames = 0;
  int stored_width = 0, stored_height = 0, orientation = 1;
  int sws_format = -1;
  std::vector<uint8_t> rgb;
  VideoInfo info;

  static int read_bytes(void* opaque, uint8_t* buf, int size) {
    auto* self = static_cast<Impl*>(opaque);
    if (!self->file) {
      const uint64_t left = self->bytes.size() - self->memory_at;
      const int n = static_cast<int>(std::min<uint64_t>(left, static_cast<uint64_t>(size)));
      if (n == 0) return AVERROR_EOF;
      std::memcpy(buf, self->bytes.data() + self->memory_at, n);
      self->memory_at += n;
      return n;
    }
    for (;;) {
      const ssize_t n = ::read(self->file->fd(), buf, static_cast<size_t>(size));
      if (n > 0) return static_cast<int>(n);
      if (n == 0) return AVERROR_EOF;
      if (errno == EINTR) continue;
      const int err = errno;
      if (self->io_error.ok()) self->io_error = Status(Code::io, self->name + ": read failed: " + std::strerror(err));
      return AVERROR(err);
    }
  }

  static int64_t seek(void* opaque, int64_t offset, int whence) {
    auto* self = static_cast<Impl*>(opaque);
    if (whence & AVSEEK_SIZE) return static_cast<int64_t>(self->size_bytes);
    whence &= ~AVSEEK_FORCE;
    if (self->file) {
      const off_t at = ::lseek(self->file->fd(), offset, whence);
      return at >= 0 ? at : AVERROR(errno);
    }
    const int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? static_cast<int64_t>(self->memory_at)
                                                                      : static_cast<int64_t>(self->bytes.size());
    if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) return AVERROR(EINVAL);
    const int64_t at = base + offset;
    if (at < 0) return AVERROR(EINVAL);
    self->memory_at = std::min<uint64_t>(static_cast<uint64_t>(at), self->bytes.size());
    return at;
  }

  // Bytes at an offset, without moving the position FFmpeg reads from.
  bool read_at(uint64_t offset, void* out, size_t n) {
    if (!file) {
      if (offset > bytes.size() || n > bytes.size() - offset) return false;
      std::memcpy(out, bytes.data() + offset, n);
      return true;
    }
    return ::pread(file->fd(), out, n, static_cast<off_t>(offset)) == static_cast<ssize_t>(n);
  }

  Status fail(Code code, const std::string& what) {
    if (failed.ok()) failed = !io_error.ok() ? io_error : Status(code, name + ": " + what);
    return failed;
  }
  Status fail_av(const std::string& what, int averror) {
    return fail(averror == AVERROR(ENOMEM) ? Code::out_of_memory : Code::format, what + ": " + av::error_text(averror));
  }

  Status open(const VideoReaderOptions& options);
  Result<bool> decode_next();
  Status prepare_conversion();
  Status convert(float* out, RgbOrder order);
};

Status VideoReader::Impl::open(const VideoReaderOptions& options) {
  av::take_over_log();
  av::clear_logged_error();
  if (size_bytes == 0) return Status(Code::format, name + ": is not a video file (the file is empty); " + kReadsWhat);
  io = av::make_io(this, false, &Impl::read_bytes, nullptr, &Impl::seek);
  const AVInputFormat* probed = nullptr;
  // No name: the format is told by the content alone.
  int ret = av_probe_input_buffer2(io.get(), &probed, nullptr, nullptr, 0, 0);
  if (!io_error.ok()) return io_error;
  if (ret < 0 || probed == nullptr) {
    return Status(Code::format, name + ": is not a video file (by its content); " + kReadsWhat);
  }
  const Demuxer* demuxer = find_demuxer(probed->name);
  if (demuxer == nullptr) {
    return Status(Code::unsupported, name + ": is " + (probed->long_name ? probed->long_name : probed->name) +
                                         " (by its content); " + kReadsWhat);
  }
  info.container = demuxer->container;
  TAEC_RETURN_IF_ERROR(check_not_truncated(name, demuxer->family, size_bytes,
                                           [this](uint64_t offset, void* out, size_t n) { return read_at(offset, out, n); }));
  AVFormatContext* ctx = avformat_alloc_context();
  if (ctx == nullptr) throw std::bad_alloc();
  ctx->pb = io.get();
  ctx->io_open = refuse_io_open;
  ret = avformat_open_input(&ctx, name.c_str(), probed, nullptr);  // frees ctx on failure
  if (ret < 0) return fail_av("cannot read the container", ret);
  format.reset(ctx);
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    AVStream* st = ctx->streams[i];
    if (stream == nullptr && st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(st->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
      stream = st;
    } else {
      st->discard = AVDISCARD_ALL;
    }
  }
  if (stream == nullptr) {
    std::string kinds;
    for (unsigned i = 0; i < ctx->nb_streams && i < 8; ++i) {
      const AVStream* st = ctx->streams[i];
      const char* kind = st->disposition & AV_DISPOSITION_ATTACHED_PIC ? "cover picture"
                                                                       : av_get_media_type_string(st->codecpar->codec_type);
      kinds += std::string(i ? ", " : "") + (kind ? kind : "unknown");
    }
    if (ctx->nb_streams > 8) kinds += ", ...";
    return Status(Code::unsupported, name + ": has no video stream (" + (kinds.empty() ? "it has no streams" : "its streams: " + kinds) + ")");
  }
  const AVCodecParameters* par = stream->codecpar;
  const AVCodecDescriptor* desc = avcodec_descriptor_get(par->codec_id);
  info.codec = desc ? desc->name : "unknown";
  if (!is_allowed_codec(par->codec_id)) {
    return Status(Code::unsupported, name + ": video is " + (desc ? desc->long_name : "of an unknown codec") +
                                         "; taec decodes H.264, HEVC, VP8, VP9, AV1, MPEG-4 Part 2, MPEG-1/2, "
                                         "Motion JPEG, ProRes and FFV1");
  }
  if (par->width < 0 || par->height < 0 || par->width > kMaxImageSide || par->height > kMaxImageSide ||
      int64_t{par->width} * par->height > kMaxImagePixels) {
    return Status(Code::format, name + ": frame size " + std::to_string(par->width) + "x" + std::to_string(par->height) +
                                    " is outside what taec accepts (16384 px a side, 64 MP)");
  }
  if (stream->nb_frames > kMaxVideoFrames) {
    return Status(Code::format, name + ": declares " + std::to_string(stream->nb_frames) + " frames, more than the " +
                                    std::to_string(kMaxVideoFrames) + " taec reads");
  }
  info.frame_count = std::max<int64_t>(0, stream->nb_frames);
  AVRational fps = stream->avg_frame_rate.num > 0 && stream->avg_frame_rate.den > 0 ? stream->avg_frame_rate : stream->r_frame_rate;
  if (fps.num > 0 && fps.den > 0) info.fps_num = fps.num, info.fps_den = fps.den;
  if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0) {
    info.duration_s = stream->duration * av_q2d(stream->time_base);
  } else if (ctx->duration != AV_NOPTS_VALUE && ctx->duration > 0) {
    info.duration_s = ctx->duration / double(AV_TIME_BASE);
  }

  const AVCodec* decoder = avcodec_find_decoder(par->codec_id);
  if (decoder == nullptr) return Status(Code::unsupported, name + ": this FFmpeg has no " + info.codec + " decoder");
  codec.reset(avcodec_alloc_context3(decoder));
  frame.reset(av_frame_alloc());
  packet.reset(av_packet_alloc());
  if (!codec || !frame || !packet) throw std::bad_alloc();
  ret = avcodec_parameters_to_context(codec.get(), par);
  if (ret < 0) return fail_av("cannot set up the " + info.codec + " decoder", ret);
  codec->pkt_timebase = stream->time_base;
  codec->thread_count = options.threads;
  codec->max_pixels = kMaxImagePixels;
  codec->err_recognition |= AV_EF_EXPLODE;  // damaged data is an error, not concealed
  ret = avcodec_open2(codec.get(), decoder, nullptr);
  if (ret < 0) return fail_av("cannot start the " + info.codec + " decoder", ret);

  // The first frame now: its size is the clip's, and a file without one fails here.
  TAEC_ASSIGN_OR_RETURN(bool got, decode_next());
  if (!got) return fail(Code::format, "its video stream holds no frames");
  frame_pending = true;
  stored_width = frame->width;
  stored_height = frame->height;
  info.rotation = rotation_of(stream);
  orientation = orientation_for(info.rotation);
  const bool swap = info.rotation == 90 || info.rotation == 270;
  info.width = swap ? stored_height : stored_width;
  info.height = swap ? stored_width : stored_height;
  rgb.resize(size_t{3} * stored_width * stored_height);
  return prepare_conversion();
}

// The next decoded frame into `frame`, or false at the end of the stream.
Result<bool> VideoReader::Impl::decode_next() {
  av::clear_logged_error();
  for (;;) {
    int ret = avcodec_receive_frame(codec.get(), frame.get());
    if (ret == 0) return true;
    if (ret == AVERROR_EOF) {
      if (stream->nb_frames > 0 && packets < stream->nb_frames) {
        return fail(Code::format, "ends after " + std::to_string(packets) + " of the " + std::to_string(stream->nb_frames) +
                                      " frames its index lists (the file is truncated)");
      }
      return false;
    }
    if (ret != AVERROR(EAGAIN)) return fail_av("cannot decode frame " + std::to_string(frames + 1), ret);
    ret = av_read_frame(format.get(), packet.get());
    if (ret == AVERROR_EOF) {
      ret = avcodec_send_packet(codec.get(), nullptr);  // drain what the decoder holds back
      if (ret < 0 && ret != AVERROR_EOF) return fail_av("cannot decode the last frames", ret);
      continue;
    }
    if (ret < 0) return fail_av("cannot read packet " + std::to_string(packets + 1), ret);
    if (packet->stream_index != stream->index) {
      av_packet_unref(packet.get());
      continue;
    }
    if (packet->flags & AV_PKT_FLAG_CORRUPT) {
      av_packet_unref(packet.get());
      return fail(Code::format, "the data of frame " + std::to_string(packets + 1) + " is cut short (the file is truncated)");
    }
    ++packets;
    ret = avcodec_send_packet(codec.get(), packet.get());
    av_packet_unref(packet.get());
    if (ret < 0) return fail_av("cannot decode frame " + std::to_string(frames + 1), ret);
  }
}

// Checks `frame` against the clip and makes the swscale context for its pixel format and colour.
Status VideoReader::Impl::prepare_conversion() {
  if (frame->width != stored_width || frame->height != stored_height) {
    return fail(Code::unsupported, "frame " + std::to_string(frames + 1) + " is " + std::to_string(frame->width) + "x" +
                                       std::to_string(frame->height) + ", the clip's first is " + std::to_string(stored_width) +
                                       "x" + std::to_string(stored_height) + "; taec reads clips of one size");
  }
  const auto src_format = static_cast<AVPixelFormat>(frame->format);
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(src_format);
  if (desc == nullptr) return fail(Code::format, "frame " + std::to_string(frames + 1) + " has no pixel format");
  // The matrix and range as tagged on the frame, else on the stream, else what players assume.
  AVColorSpace space = frame->colorspace != AVCOL_SPC_UNSPECIFIED ? frame->colorspace : stream->codecpar->color_space;
  const bool full_range = frame->color_range == AVCOL_RANGE_JPEG || src_format == AV_PIX_FMT_YUVJ420P ||
                          src_format == AV_PIX_FMT_YUVJ422P || src_format == AV_PIX_FMT_YUVJ444P ||
                          src_format == AV_PIX_FMT_YUVJ440P || src_format == AV_PIX_FMT_YUVJ411P;
  int table = SWS_CS_ITU601;
  const char* matrix = "bt601";
  bool tagged = true;
  switch (space) {
    case AVCOL_SPC_BT709: table = SWS_CS_ITU709, matrix = "bt709"; break;
    case AVCOL_SPC_FCC: table = SWS_CS_FCC, matrix = "fcc"; break;
    case AVCOL_SPC_BT470BG: case AVCOL_SPC_SMPTE170M: break;
    case AVCOL_SPC_SMPTE240M: table = SWS_CS_SMPTE240M, matrix = "smpte240m"; break;
    case AVCOL_SPC_BT2020_NCL: case AVCOL_SPC_BT2020_CL: table = SWS_CS_BT2020, matrix = "bt2020"; break;
    default:
      tagged = false;
      if (stored_height >= 720) table = SWS_CS_ITU709, matrix = "bt709";
      break;
  }
  const std::string color = (desc->flags & AV_PIX_FMT_FLAG_RGB)
                                ? std::string("rgb")
                                : std::string(matrix) + (full_range ? " full" : " limited") + (tagged ? "" : " (untagged)");
  if (src_format != sws_format) {
    sws.reset(sws_getContext(stored_width, stored_height, src_format, stored_width, stored_height, AV_PIX_FMT_RGB24,
                             SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr, nullptr));
    if (!sws) {
      return fail(Code::unsupported, std::string("swscale cannot convert ") + desc->name + " frames to RGB");
    }
    sws_format = src_format;
    info.color.clear();
  }
  if (color != info.color) {
    sws_setColorspaceDetails(sws.get(), sws_getCoefficients(table), full_range ? 1 : 0, sws_getCoefficients(SWS_CS_DEFAULT),
                             1, 0, 1 << 16, 1 << 16);
    info.color = color;
  }
  return ok_status();
}

Status VideoReader::Impl::convert(float* out, RgbOrder order) {
  TAEC_RETURN_IF_ERROR(prepare_conversion());
  uint8_t* dst[1] = {rgb.data()};
  const int dst_stride[1] = {3 * stored_width};
  sws_scale(sws.get(), frame->data, frame->linesize, 0, stored_height, dst, dst_stride);
  rgb8_to_float(rgb.data(), stored_height, stored_width, orientation, order, out);
  return ok_status();
}

VideoReader::VideoReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VideoReader::~VideoReader() = default;
const VideoInfo& VideoReader::info() const { return impl_->info; }
int64_t VideoReader::frames_read() const { return impl_->frames; }

Result<std::unique_ptr<VideoReader>> VideoReader::open(const std::string& path, const VideoReaderOptions& options) {
  TAEC_ASSIGN_OR_RETURN(InputFile file, InputFile::open(path));
  auto impl = std::make_unique<Impl>();
  impl->name = path;
  impl->size_bytes = file.size_bytes();
  impl->file.emplace(std::move(file));
  TAEC_RETURN_IF_ERROR(impl->open(options));
  return std::unique_ptr<VideoReader>(new VideoReader(std::move(impl)));
}

Result<std::unique_ptr<VideoReader>> VideoReader::open_memory(const std::string& name, std::vector<uint8_t> bytes,
                                                              const VideoReaderOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->name = name;
  impl->size_bytes = bytes.size();
  impl->bytes = std::move(bytes);
  TAEC_RETURN_IF_ERROR(impl->open(options));
  return std::unique_ptr<VideoReader>(new VideoReader(std::move(impl)));
}

Result<bool> VideoReader::read(float* rgb, RgbOrder order) {
  Impl& r = *impl_;
  if (!r.failed.ok()) return r.failed;
  if (r.ended) return false;
  if (r.frame_pending) {
    r.frame_pending = false;
  } else {
    TAEC_ASSIGN_OR_RETURN(bool got, r.decode_next());
    if (!got) {
      r.ended = true;
      return false;
    }
  }
  if (r.frames >= kMaxVideoFrames) {
    return r.fail(Code::format, "holds more than the " + std::to_string(kMaxVideoFrames) + " frames taec reads");
  }
  TAEC_RETURN_IF_ERROR(r.convert(rgb, order));
  ++r.frames;
  return true;
}

}  // namespace taec

/* taec — video files: writing decoded frames to MP4/WebM/MKV/MOV, reading frames to encode.
 * Through Debian's FFmpeg libraries (libavformat, libavcodec, libswscale); docs/VIDEO.md
 * "Video files" says what is written and read, with the measured round-trip error.
 *
 * Writing a clip as frames come out of a stream (taec.h "Streams"):
 *
 *   taec_video_writer_options vo;
 *   taec_video_writer_options_init(&vo);
 *   vo.width = 832;                        // even sizes only (yuv420p)
 *   vo.height = 480;
 *   vo.fps_num = 16;                       // 16/1 is the default
 *   taec_video_writer* w = NULL;
 *   if (taec_video_writer_open("clip.mp4", &vo, &w) != TAEC_OK) { puts(taec_last_error()); return 2; }
 *   while (taec_stream_pending(stream) > 0) {
 *     taec_stream_pull(stream, frame);     // [1,3,480,832] floats, any values
 *     if (taec_video_writer_write(w, frame, TAEC_LAYOUT_NCHW) != TAEC_OK) { taec_video_writer_free(w); ... }
 *   }
 *   if (taec_video_writer_close(w) != TAEC_OK) puts(taec_last_error());   // frees w either way
 *
 * Reading one:
 *
 *   taec_video_reader* r = NULL;
 *   taec_video_reader_open("clip.mp4", &r);
 *   taec_video_info info;
 *   taec_video_reader_get_info(r, &info);  // info.width x info.height, fps, codec, ...
 *   float* rgb = malloc(3 * sizeof(float) * info.width * info.height);
 *   int got = 0;
 *   while (taec_video_reader_read(r, rgb, TAEC_LAYOUT_NCHW, &got) == TAEC_OK && got) encode(rgb);
 *   taec_video_reader_free(r);             // a read that failed left its message in taec_last_error()
 *
 * Conventions are those of taec.h (statuses, taec_last_error, one thread per object). FFmpeg's
 * log is process-wide: taec routes it into its error messages and prints nothing (an
 * application that sets av_log_set_callback itself should do so after its first taec video call).
 */
#ifndef TAEC_TAEC_VIDEO_H_
#define TAEC_TAEC_VIDEO_H_

#include "taec/taec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Writing ------------------------------------------------------------------------------
 *
 * Frames are float RGB: values clamped to [0,1] and rounded to 8 bits exactly as
 * taec_image_save_png does, converted to yuv420p with the BT.709 matrix in limited range, and
 * tagged BT.709 (primaries, transfer, matrix) limited range in the stream and the container.
 * VP8 defines only the BT.601 matrix, so VP8 files get that one (and say so).
 *
 * Where it goes follows taec's output rules (README "What taec promises about files"): a new or
 * regular file is written to a temporary beside it and moved into place only by a successful
 * close, so a failure or taec_video_writer_free leaves no file and no partial one (an existing
 * file stays as it was); a link, FIFO or character device is written through; a directory, block
 * device or socket is refused at open. An output that cannot seek (a FIFO, a pipe as
 * /dev/stdout) gets fragmented MP4 for mp4/mov; Matroska/WebM stream as they are. */
typedef struct taec_video_writer taec_video_writer;

typedef struct taec_video_writer_options {
  /* Frame size in pixels: both even (yuv420p halves the chroma; odd sizes are refused, taec does
   * not pad or crop), at most 16384 a side and 64 MP. */
  int width, height;
  /* Frames per second as a fraction, between 0.01 and 1000. Default 16/1 (Wan's rate). */
  int fps_num, fps_den;
  /* NULL: by the path's extension (.mp4/.m4v, .mov, .mkv, .webm; anything else is refused). Else
   * "mp4", "mov", "mkv" or "webm" whatever the name (for /dev/stdout or a FIFO). */
  const char* container;
  /* NULL or "auto": H.264 (libx264) for mp4/mov/mkv, MPEG-4 Part 2 if this FFmpeg lacks libx264;
   * VP9 (libvpx-vp9) for webm, VP8 if it lacks that. Or "h264", "vp9", "vp8", "mpeg4"; a codec
   * the container cannot hold (h264 in webm) is refused. */
  const char* codec;
  /* Constant quality on the codec's own scale, lower is better: H.264 CRF 0-51, VP9 CRF 0-63,
   * VP8 CRF 4-63, MPEG-4 quantizer 1-31. -1 (default): H.264 18, VP9 24, VP8 8, MPEG-4 2, all
   * close to visually lossless. */
  int crf;
  int threads; /* encoder threads; 0 (default) = FFmpeg's choice */
} taec_video_writer_options;

void taec_video_writer_options_init(taec_video_writer_options* options);

taec_status taec_video_writer_open(const char* path, const taec_video_writer_options* options,
                                   taec_video_writer** out);
/* One frame of the options' size: [3,H,W] floats (TAEC_LAYOUT_NCHW, a batch-1 NCHW frame) or
 * [H,W,3] (TAEC_LAYOUT_NHWC). The two layouts of one frame give the same file. After a failure
 * (e.g. the disk is full: the message names the file and the OS's reason) every later write and
 * the close report it again. */
taec_status taec_video_writer_write(taec_video_writer* writer, const float* rgb, taec_layout layout);
/* Finishes the file (encoder flushed, index written, fsync, moved into place) and frees the
 * writer, whether or not that succeeded; on failure nothing is left at a regular-file path. */
taec_status taec_video_writer_close(taec_video_writer* writer);
/* Abandons the file (removing the temporary) and frees the writer. NULL is ignored. */
void taec_video_writer_free(taec_video_writer* writer);

typedef struct taec_video_writer_info {
  const char* container; /* "mp4", "mov", "mkv", "webm" */
  const char* codec;     /* "h264", "vp9", "vp8", "mpeg4" */
  const char* encoder;   /* FFmpeg's encoder: "libx264", "libvpx-vp9", "libvpx", "mpeg4" */
  int crf;               /* the quality setting in use */
  int fragmented;        /* 1: fragmented MP4 (the output cannot seek) */
  int64_t frames;        /* written so far */
} taec_video_writer_info;

/* Strings stay valid while the writer lives. */
taec_status taec_video_writer_get_info(const taec_video_writer* writer, taec_video_writer_info* out);

/* ---- Reading ------------------------------------------------------------------------------
 *
 * Regular files only (a FIFO or device is refused by its type), told by content: MP4/MOV/3GP,
 * Matroska/WebM or AVI holding H.264, HEVC, VP8, VP9, AV1, MPEG-4 Part 2, MPEG-1/2, Motion JPEG,
 * ProRes or FFV1 video; the first video stream is read. A damaged or truncated file is an error
 * naming the file (never frames filled in); so is a frame whose size differs from the first's.
 * Frames are 8-bit RGB levels / 255 in [0,1], converted from the stream's tagged YUV matrix and
 * range (untagged: BT.709 from 720 lines up, else BT.601, limited range), turned upright by the
 * container's rotation (multiples of 90 degrees). Limits: 16384 px a side, 64 MP a frame,
 * 2^24 frames. */
typedef struct taec_video_reader taec_video_reader;

/* Opens the file and decodes its first frame, so a file whose video cannot be decoded fails here. */
taec_status taec_video_reader_open(const char* path, taec_video_reader** out);

typedef struct taec_video_info {
  int width, height;         /* of every frame read, after the rotation */
  int fps_num, fps_den;      /* average frame rate; 0/1 when the file does not say */
  int64_t frame_count;       /* as the container's index says; 0 when unknown (Matroska/WebM) */
  double duration_s;         /* 0 when unknown */
  const char* container;     /* "mp4" (also MOV, 3GP), "matroska", "webm", "avi" */
  const char* codec;         /* FFmpeg's codec name, e.g. "h264", "vp9" */
  const char* color;         /* the conversion used, e.g. "bt709 limited", "bt601 limited (untagged)" */
  int rotation;              /* degrees clockwise applied: 0, 90, 180, 270 */
} taec_video_info;

/* Strings stay valid while the reader lives (color: until the next read). */
taec_status taec_video_reader_get_info(const taec_video_reader* reader, taec_video_info* out);
/* The next frame into rgb, 3 * width * height floats: [3,H,W] (NCHW) or [H,W,3] (NHWC).
 * *got = 1 when a frame was written, 0 at the end of the clip (status TAEC_OK). */
taec_status taec_video_reader_read(taec_video_reader* reader, float* rgb, taec_layout layout, int* got);
void taec_video_reader_free(taec_video_reader* reader);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* TAEC_TAEC_VIDEO_H_ */

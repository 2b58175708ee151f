/* taec — Tiny AutoEncoder Compiler: C API.
 *
 * Decoding a FLUX.2 latent into an image:
 *
 *   taec_model* model = NULL;
 *   if (taec_model_load("taef2_decoder.safetensors", NULL, &model) != TAEC_OK) {
 *     fprintf(stderr, "%s\n", taec_last_error());
 *     return 2;
 *   }
 *   taec_plan_options opts;
 *   taec_plan_options_init(&opts);
 *   opts.image_height = 1024;             // the plan's fixed output size
 *   opts.image_width = 1024;
 *   opts.layout = TAEC_LAYOUT_NHWC;       // latent in [1,128,128,32], image out [1,1024,1024,3]
 *   taec_plan* plan = NULL;
 *   taec_plan_compile(model, &opts, &plan);
 *   taec_plan_run(plan, latent, image);   // call as often as you like; no allocation here
 *   taec_plan_free(plan);
 *   taec_model_free(model);
 *
 * Decoding a video latent by latent (TAEHV family: Wan, HunyuanVideo, LTX, ...) with a stream,
 * which holds the clip's temporal state; memory is fixed at compile time, whatever the clip's
 * length:
 *
 *   taec_load_options lo;
 *   taec_load_options_init(&lo);
 *   lo.role = TAEC_ROLE_DECODER;          // TAEHV files hold the encoder and the decoder
 *   taec_model_load("taew2_1.pth", &lo, &model);
 *   opts.image_height = 480;              // the frames' size: latents are 60 x 104
 *   opts.image_width = 832;
 *   opts.layout = TAEC_LAYOUT_NCHW;       // each latent [1,16,60,104], each frame [1,3,480,832]
 *   taec_plan_compile(model, &opts, &plan);
 *   taec_stream_options so;
 *   taec_stream_options_init(&so);
 *   so.clip_latents = T;                  // 0 if unknown (see taec_stream_options)
 *   taec_stream* stream = NULL;
 *   taec_stream_create(plan, &so, &stream);
 *   for (int t = 0; t < T; ++t) {
 *     taec_stream_push(stream, latents[t]);      // the first gives 1 frame, later ones 4
 *     while (taec_stream_pending(stream) > 0) taec_stream_pull(stream, frame), show(frame);
 *   }
 *   taec_stream_flush(stream);                   // end of clip (some variants add frames)
 *   while (taec_stream_pending(stream) > 0) taec_stream_pull(stream, frame), show(frame);
 *   taec_stream_free(stream);                    // before its plan
 *
 * Conventions:
 * - Every function that can fail returns taec_status; on failure the calling thread's
 *   taec_last_error() says what failed, on which file/tensor/shape, and why.
 * - Objects are opaque; whoever created one frees it. A plan keeps the weights it needs alive,
 *   so a model may be freed before its plans.
 * - A model or plan may be used from one thread at a time; distinct objects are independent.
 * - Tensors are dense, C order, batch 1 unless a shape says otherwise.
 */
#ifndef TAEC_TAEC_H_
#define TAEC_TAEC_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TAEC_VERSION_MAJOR 0
#define TAEC_VERSION_MINOR 1
#define TAEC_VERSION_PATCH 0

/* "major.minor.patch" of the linked library. */
const char* taec_version(void);

typedef enum taec_status {
  TAEC_OK = 0,
  TAEC_ERR_INVALID_ARGUMENT = 1, /* caller passed an unusable value (NULL, bad option) */
  TAEC_ERR_IO = 2,               /* file missing, unreadable or unwritable */
  TAEC_ERR_FORMAT = 3,           /* file content malformed, truncated or hostile */
  TAEC_ERR_UNSUPPORTED = 4,      /* well-formed, but not something taec handles */
  TAEC_ERR_SHAPE = 5,            /* tensor or buffer shape does not fit */
  TAEC_ERR_NONFINITE = 6,        /* NaN or Inf in an input */
  TAEC_ERR_OUT_OF_MEMORY = 7,
  TAEC_ERR_INTERNAL = 8          /* a bug in taec: please report it */
} taec_status;

/* Stable lower-case name of a status, e.g. "format". */
const char* taec_status_name(taec_status status);

/* Message of the last failure on this thread; "" if none. Valid until the next taec call on it. */
const char* taec_last_error(void);

/* ---- Models: weights + the network built from them --------------------------------------- */

typedef enum taec_role {
  TAEC_ROLE_ANY = 0, /* load options only: whatever the file holds (error if it holds both) */
  TAEC_ROLE_DECODER = 1,
  TAEC_ROLE_ENCODER = 2
} taec_role;

typedef struct taec_load_options {
  /* Variant name ("taesd", "taesdxl", "taesd3", "taef1", "taef2") or NULL to detect it from the
   * tensors. Needed only where shapes are ambiguous (taesd/taesdxl; taesd3/taef1); a variant
   * whose architecture does not match the tensors is an error. */
  const char* variant;
  /* Which half of a combined encoder+decoder file to load; TAEC_ROLE_ANY for single-role files. */
  taec_role role;
} taec_load_options;

void taec_load_options_init(taec_load_options* options);

typedef struct taec_model taec_model;

/* Loads a `.pth` (PyTorch zip + pickle) or `.safetensors` checkpoint, format detected from the
 * content. Loading is strict: a missing, unexpected or mis-shaped tensor is an error naming it.
 * Nothing in the file is ever executed. options may be NULL. */
taec_status taec_model_load(const char* path, const taec_load_options* options, taec_model** out);
void taec_model_free(taec_model* model);

typedef struct taec_model_info {
  taec_role role;
  const char* variant;         /* e.g. "taef2" */
  const char* variant_note;    /* why the variant was chosen, or how it is ambiguous; "" if not */
  const char* source_format;   /* "pth" or "safetensors" */
  const char* source_path;
  const char* source_sha256;   /* lower-case hex SHA-256 of the weight file */
  int latent_channels;
  int image_channels;          /* 3 */
  int spatial_factor;          /* image pixels per latent pixel along each axis: 8 (video: 8 x patch) */
  uint64_t parameter_count;
  size_t tensor_count;
  /* Video TAEs (TAEHV family); 0 / "image" for image TAEs. */
  int is_video;
  int time_factor;             /* frames per latent: 4 (LTX: 8) */
  int patch;                   /* pixel (un)shuffle factor of the frames: 1, 2 or 4 */
  const char* frame_rule;      /* "standard", "cogvideox", "h3" (docs/VIDEO.md), or "image" */
} taec_model_info;

/* Strings stay valid while the model lives. */
taec_status taec_model_get_info(const taec_model* model, taec_model_info* out);

/* Video models: the length of a whole clip after the variant's frame rules (docs/VIDEO.md). A
 * decoder gives the frames `count` latents decode to (standard: t(count-1)+1); an encoder the
 * latents a clip of `count` frames encodes to. count >= 1; image models: count. */
taec_status taec_model_clip_length(const taec_model* model, int64_t count, int64_t* out);

typedef struct taec_tensor_info {
  const char* name;  /* as stored in the checkpoint */
  const char* dtype; /* "f16", "bf16" or "f32", as stored */
  int rank;
  int64_t shape[8];
} taec_tensor_info;

taec_status taec_model_get_tensor(const taec_model* model, size_t index, taec_tensor_info* out);

/* ---- Plans: a model compiled for one fixed shape ------------------------------------------ */

typedef enum taec_layout {
  TAEC_LAYOUT_NCHW = 0,
  TAEC_LAYOUT_NHWC = 1
} taec_layout;

typedef enum taec_dtype {
  TAEC_DTYPE_F32 = 0,
  TAEC_DTYPE_F16 = 1
} taec_dtype;

typedef enum taec_precision {
  /* Plain fp32 reference kernels: the oracle every faster path is tested against. Slow. */
  TAEC_PRECISION_REFERENCE = 0,
  /* Compiled fp32 plan: fused NHWC kernels on the best ISA of this CPU (capped by
   * $TAEC_MAX_ISA), within 1e-3 of the reference. The default. */
  TAEC_PRECISION_FP32 = 1,
  /* FP16-class: as FP32, but the Winograd products run in bf16 (AVX512_BF16 `vdpbf16ps`, fp32
   * accumulation, transforms in fp32). Within the product's FP16-class tolerances (max |err|
   * 0.03 FLUX.1, 0.05 FLUX.2 against the reference). On CPUs without AVX512_BF16 it runs the
   * fp32 kernels (taec_plan_get_stats says so). */
  TAEC_PRECISION_BF16 = 2,
  /* Int8 weights and activations (decoders): every convolution above the latent resolution runs
   * u8 x s8 products summed exactly in int32 (AVX512_VNNI `vpdpbusd`), with per-output-channel
   * weight scales and per-tensor activation scales from a calibration (taec_calibrate, or a
   * package packed with this precision). Bias, residual and ReLU stay fp32. Quality is below
   * the FP16-class one: see docs/QUANTIZATION.md for the measured loss. Without AVX512_VNNI it
   * runs portable int8 kernels (slow; taec_plan_get_stats says so). */
  TAEC_PRECISION_INT8 = 3
} taec_precision;

typedef enum taec_memory_mode {
  /* Run in row bands: activations held as ring buffers of a few rows, so peak memory grows with
   * the image width, not its area (default). */
  TAEC_MEMORY_BANDED = 0,
  /* Hold every activation whole (for comparison; bitwise the same output as banded). */
  TAEC_MEMORY_WHOLE = 1,
  /* taec_package_load_plan only: banded, in one arena shared by every plan of the package
   * loaded this way and sized for its largest size, so all sizes loaded together cost the
   * activation memory of the largest. Their runs are serialized (one at a time); output is
   * bitwise the same as banded. */
  TAEC_MEMORY_PACKAGE_SHARED = 2
} taec_memory_mode;

typedef enum taec_nonfinite_policy {
  /* Refuse inputs holding NaN or Inf with TAEC_ERR_NONFINITE (default): a NaN latent is almost
   * always an upstream bug, and the decoder would silently turn it into NaN pixels. */
  TAEC_NONFINITE_REJECT = 0,
  /* Run anyway. The decoder's tanh clamp maps +-Inf to +-3; NaN propagates to the output. */
  TAEC_NONFINITE_PROPAGATE = 1
} taec_nonfinite_policy;

/* How a compiled plan picks each convolution's algorithm (Winograd F(6x6) / F(4x4), bf16
 * products, direct) where it has a choice: by timing the candidates on this CPU at compile time
 * (a band of the plan's rows, a few runs each), remembered in a cache file keyed by CPU model,
 * taec version and convolution shape so a second compile measures nothing (docs/ENGINE.md
 * "Measured kernel choice"). The choice and the times are in taec_plan_get_op_profile. */
typedef enum taec_tune {
  TAEC_TUNE_DEFAULT = 0, /* $TAEC_TUNE (off|fast|full) if set, else fast */
  TAEC_TUNE_OFF = 1,     /* the built-in defaults: nothing measured, the same program on every CPU of a kernel set */
  TAEC_TUNE_FAST = 2,    /* measure what the cache does not know (~3 runs per candidate) */
  TAEC_TUNE_FULL = 3     /* measure again, longer (taller bands, 7 runs), replacing fast entries */
} taec_tune;

typedef struct taec_plan_options {
  /* Image size in pixels. A decoder produces it (both must be multiples of the spatial factor);
   * an encoder consumes it (any size; the latent is ceil(size / 8)). */
  int image_height;
  int image_width;
  taec_layout layout;        /* of both the input and the output buffer */
  taec_dtype io_dtype;       /* element type of both buffers */
  taec_precision precision;
  int threads;               /* 0 = all cores */
  taec_nonfinite_policy nonfinite;
  taec_memory_mode memory;   /* compiled plans only */
  /* TAEC_PRECISION_INT8 only (required there): the activation ranges, see taec_calibrate_*.
   * Borrowed: the plan copies what it needs at compile time. */
  const struct taec_calibration* calibration;
  /* Weight-only quantization applied at compile time: NULL or "none" (as loaded), "int8",
   * "palette8", "palette4": the convolution weights are quantized and dequantized exactly as a
   * package with that storage holds them (taec_pack_options.weights), then compiled at
   * `precision`. For measuring a method's quality without packing. */
  const char* weights;
  taec_tune tune; /* compiled plans only */
} taec_plan_options;

void taec_plan_options_init(taec_plan_options* options);

typedef struct taec_plan taec_plan;

/* ---- Int8 activation calibration (TAEC_PRECISION_INT8) ------------------------------------
 *
 * An int8 plan quantizes each convolution's input with a per-tensor step from the input's max
 * |x| over real latents (/255 with zero point 0 for post-ReLU inputs, /127 with zero point 128
 * for signed ones). taec_calibrate_images measures it on photos (each fitted to size x size,
 * encoded by `encoder`, decoded by `decoder`'s fp32 plan); taec_calibrate_latents on latents you
 * already have. Deterministic: the same inputs give the same ranges bit for bit. Packages packed
 * with TAEC_PRECISION_INT8 store theirs. */
typedef struct taec_calibration taec_calibration;

taec_status taec_calibrate_images(const taec_model* decoder, const taec_model* encoder, const char* const* image_paths,
                                  size_t image_count, int size, int threads, taec_calibration** out);
/* latents: count NCHW fp32 latents of the decoder's input shape for image_height x image_width,
 * one after another. */
taec_status taec_calibrate_latents(const taec_model* decoder, const float* latents, size_t count, int image_height,
                                   int image_width, int threads, taec_calibration** out);
/* What it was measured on, and how many convolution inputs it covers. Valid until freed. */
const char* taec_calibration_describe(const taec_calibration* calibration);
void taec_calibration_free(taec_calibration* calibration);

taec_status taec_plan_compile(const taec_model* model, const taec_plan_options* options,
                              taec_plan** out);
void taec_plan_free(taec_plan* plan);

typedef struct taec_plan_io {
  int64_t input_shape[4];  /* one frame, in the plan's layout, batch 1 */
  int64_t output_shape[4];
  size_t input_elems;      /* of one run (step): frames_in frames */
  size_t output_elems;     /* frames_out frames */
  /* A video plan runs in steps of frames_in frames in, frames_out out (decoders 1 latent ->
   * time_factor raw frames; encoders time_factor frames -> 1 latent), linked by state_bytes of
   * state: run it through a stream (taec_stream_*). Image plans: 1, 1, 0. */
  int frames_in, frames_out;
  size_t state_bytes;
} taec_plan_io;

taec_status taec_plan_get_io(const taec_plan* plan, taec_plan_io* out);

/* input: input_elems of io_dtype; output: output_elems of io_dtype. Decoder output is NOT clamped
 * (clamp to [0,1] for display); encoder input is RGB in [0,1]. Image plans only: a video plan
 * runs in a stream. */
taec_status taec_plan_run(taec_plan* plan, const void* input, void* output);

/* As taec_plan_run, but the output is handed to fn band by band as the plan finishes it, so it is
 * never held whole (a 2048x2048 fp32 image is 48 MiB): rows [row_begin, row_end) of the image, as
 * a dense block of that many rows in the plan's layout and io_dtype ([3][rows][W] for NCHW,
 * [rows][W][3] for NHWC), valid during the call only. Bands come top to bottom and cover the image
 * once. fn returns TAEC_OK to go on; anything else stops the run, which returns that status (the
 * caller's own error, e.g. a full disk while writing the rows). Image plans only. */
typedef taec_status (*taec_rows_fn)(int row_begin, int row_end, const void* rows, void* user);
taec_status taec_plan_run_rows(taec_plan* plan, const void* input, taec_rows_fn fn, void* user);

/* ---- Streams: a video clip through a plan ---------------------------------------------------
 *
 * A stream owns what one clip needs beyond the (immutable, shareable) plan: the temporal state
 * (every MemBlock's previous input), its position in the clip, and the variant's frame rules, so
 * the frames are exactly the reference's decode_video / encode_video, each as soon as it exists.
 *   decoder: push one latent; its frames are then pending: the first latent gives 1 frame
 *            (the reference drops the first time_factor - 1 raw frames), each later one
 *            time_factor. Pull them before the next push.
 *   encoder: push one RGB frame [0,1]; every time_factor frames a latent is pending. flush()
 *            pads the clip's end with copies of its last frame, as the reference does.
 * A stream borrows its plan: free streams first. Streams of one plan run one push at a time
 * (they share the plan's activation memory); each stream has its own state. */
typedef struct taec_stream taec_stream;

typedef struct taec_stream_options {
  /* Decoder: the clip's length in latents, or 0 when unknown (a live stream). Only rules that
   * depend on the clip's end need it: CogVideoX keeps all frames of an even-length clip, MiniMax
   * H3 drops the clip's last 12 frames; without it those are emitted as the start rules say. */
  int clip_latents;
} taec_stream_options;

void taec_stream_options_init(taec_stream_options* options);
taec_status taec_stream_create(taec_plan* plan, const taec_stream_options* options, taec_stream** out);
/* One latent (decoder) or frame (encoder): the plan's input_shape, layout and io_dtype. */
taec_status taec_stream_push(taec_stream* stream, const void* input);
/* As taec_stream_push, with the caller's shape checked first: [1,C,H,W] (or [C,H,W]) in the plan's
 * layout must be its input_shape; a latent of another size is TAEC_ERR_SHAPE naming both. */
taec_status taec_stream_push_shaped(taec_stream* stream, const void* input, int rank, const int64_t* shape);
/* End of the clip; afterwards only pulls, until taec_stream_reset. */
taec_status taec_stream_flush(taec_stream* stream);
size_t taec_stream_pending(const taec_stream* stream);
/* The oldest pending frame (decoder; output_shape) or latent (encoder) into output. */
taec_status taec_stream_pull(taec_stream* stream, void* output);
/* Start a new clip: state zeroed; the same pushes then give bitwise the same outputs. */
taec_status taec_stream_reset(taec_stream* stream);

typedef struct taec_stream_info {
  size_t state_bytes;    /* fixed: the temporal state */
  size_t output_bytes;   /* one pulled frame or latent */
  int64_t pushed, pulled;
} taec_stream_info;

taec_status taec_stream_get_info(const taec_stream* stream, taec_stream_info* out);
void taec_stream_free(taec_stream* stream);

/* What a plan chose when it was compiled. Strings stay valid until the next call on the plan. */
typedef struct taec_plan_stats {
  const char* engine;         /* "reference" or "compiled" */
  const char* isa;            /* instruction set the kernels use, e.g. "avx512" */
  const char* isa_note;       /* how it was chosen (detected, capped by TAEC_MAX_ISA) */
  const char* kernel;         /* convolution kernel family */
  size_t arena_bytes;         /* activation memory, fixed at compile time */
  size_t weight_bytes;        /* packed weights held by the plan */
  double model_flops;         /* convolution FLOPs (2 x MACs) of one run as the model defines them */
  double executed_flops;      /* FLOPs actually executed (folded upsamples do fewer) */
  size_t steps;               /* scheduled steps per run */
  int threads;
  size_t op_count;            /* fused ops, see taec_plan_get_op_profile */
  const char* tuning;         /* how the conv algorithms were chosen: tune mode, measured or from the cache */
} taec_plan_stats;

taec_status taec_plan_get_stats(const taec_plan* plan, taec_plan_stats* out);

/* Per fused op: time spent in the last run. */
typedef struct taec_op_profile {
  const char* name;  /* checkpoint prefix of the op, e.g. "18.conv.2" */
  const char* kind;  /* "conv", "up2x_conv", "group_norm_relu", "import", "export" */
  double flops;
  double seconds;
  const char* algo;   /* a conv with a choice of algorithm: what it runs as ("winograd_f6"); "" otherwise */
  const char* tuning; /* what tuning measured for it ("winograd_f6 0.81 ms, direct 2.40 ms"); "" if nothing */
} taec_op_profile;

taec_status taec_plan_get_op_profile(const taec_plan* plan, size_t index, taec_op_profile* out);

/* ---- Packages: every size of one model, one shared weight file ----------------------------
 *
 * A package (docs/PACKAGE.md) is a directory, or an uncompressed zip of the same layout:
 * manifest.json (every file's SHA-256, per-size validation figures), weight.bin (the weights,
 * once), and plans/<H>x<W>.json per size. Plans loaded from one opened package share one copy
 * of the weights in memory.
 *
 *   taec_package* pkg = NULL;
 *   taec_package_open("taef2_bf16", &pkg);           // hashes checked here
 *   taec_plan_options run;
 *   taec_plan_options_init(&run);                    // only threads, memory, nonfinite are used
 *   taec_plan* plan = NULL;
 *   taec_package_load_plan(pkg, 1024, 1024, &run, &plan);
 *   taec_plan_run(plan, latent, image);
 */

typedef void (*taec_progress_fn)(const char* line, void* user);

typedef struct taec_pack_options {
  const int* heights;        /* image sizes, size_count of each */
  const int* widths;
  size_t size_count;
  taec_layout layout;        /* of every plan's input and output */
  taec_dtype io_dtype;
  /* TAEC_PRECISION_FP32, _BF16 or _INT8 (decoders; calibrated on the photos in image_dir at
   * 512x512 and stored in the manifest; weights default to "int8") */
  taec_precision precision;
  /* How weight.bin stores the convolution weights: NULL or "none" (as in the checkpoint),
   * "int8" (per output channel, symmetric), "palette8" (8-bit look-up table per tensor),
   * "palette4" (4-bit look-up table per output channel). Dequantized at load. */
  const char* weights;
  const char* out_path;      /* package directory, or zip file with `zip` */
  int zip;
  int threads;               /* 0 = all cores */
  const char* model_name;    /* recorded in the manifest; NULL = from the weights file name */
  /* Validation: each size is compared with the fp32 reference on `random_inputs` seeded random
   * inputs and on the photos in image_dir (NULL = $TAEC_IMAGE_DIR; unset = random only), whose
   * latents come from encoder_path (NULL = found beside the weights or by model name). The pack
   * fails, writing nothing, if any size's max |err| exceeds `tolerance` (0 = the precision's
   * default: 1e-3 fp32; bf16 0.05 FLUX.2 / 0.03 FLUX.1 / 0.06 video decoders / 0.16 the
   * video super decoder). */
  int random_inputs;
  uint64_t seed;
  const char* image_dir;
  const char* encoder_path;
  double tolerance;
  taec_progress_fn progress; /* one line per step, or NULL */
  void* progress_user;
  /* Override of the detected variant (NULL = detect), checked against the tensors, e.g.
   * "taecvx" for a file of the taew2_1 shapes. */
  const char* variant;
  /* Video decoders (a TAEHV file holding both halves packs its decoder): each of the
   * `random_inputs` seeded random clips has clip_latents latents (at least 3; default 4) and is
   * pushed through a stream of every size, compared with the fp32 reference over every kept
   * frame. Photos are not used; int8 precision is refused. */
  int clip_latents;
  /* How each plan's conv algorithms are chosen before it is validated (taec_tune); the choices
   * are recorded in its plan file, and a load on a CPU of the same kernel set runs them as
   * validated. */
  taec_tune tune;
} taec_pack_options;

void taec_pack_options_init(taec_pack_options* options);

/* Compiles, validates and writes the package atomically: a failure leaves a previous package at
 * out_path untouched. */
taec_status taec_pack(const char* weights_path, const taec_pack_options* options);

typedef struct taec_package taec_package;

/* Opens a package directory or zip: reads the manifest, maps weight.bin once and checks its
 * size and SHA-256, builds the model. */
taec_status taec_package_open(const char* path, taec_package** out);
void taec_package_free(taec_package* package);

typedef struct taec_package_info {
  const char* model_name;
  const char* variant;
  taec_role role;
  taec_layout layout;
  taec_dtype io_dtype;
  taec_precision precision;
  size_t size_count;
  uint64_t weight_file_bytes;   /* weight.bin on disk */
  size_t packed_weight_bytes;   /* kernel-layout weights in memory, shared by the loaded plans */
  const char* packed_by;        /* taec version that wrote it */
  /* Video decoder packages (format version 2): their plans run in taec_stream_*; the model's
   * info (taec_package_get_model) has the time factor and frame rule. */
  int is_video;
  int validation_clip_latents;  /* latents of each validation clip; 0 for image packages */
} taec_package_info;

taec_status taec_package_get_info(const taec_package* package, taec_package_info* out);

/* The model the package holds (built from its weight.bin), as a model handle of its own, e.g.
 * for taec_model_get_info or quality checks. Free it with taec_model_free. */
taec_status taec_package_get_model(const taec_package* package, taec_model** out);

/* Size `index` (0 .. size_count-1) and the max |err| its validation recorded. */
taec_status taec_package_get_size(const taec_package* package, size_t index, int* height, int* width,
                                  double* validated_max_abs);

/* Loads the plan of one listed size (its plan file's hash and references are checked). From
 * run_options only threads, memory and nonfinite are used (NULL = defaults). The plan stays
 * valid after the package is freed. */
taec_status taec_package_load_plan(taec_package* package, int height, int width,
                                   const taec_plan_options* run_options, taec_plan** out);

/* Checks every file of a package (hash, size, references, nothing missing or extra) and calls
 * fn once per file with a verdict. *all_ok is 1 if every file passed. Returns TAEC_OK when the
 * check ran, whatever it found. */
typedef void (*taec_verify_fn)(const char* file, int ok, const char* detail, void* user);
taec_status taec_package_verify(const char* path, taec_verify_fn fn, void* user, int* all_ok);

/* ---- Host arrays and files (.npy, images) ------------------------------------------------- */

typedef struct taec_array {
  float* data;       /* owned by the array */
  int rank;
  int64_t shape[8];
  size_t elems;
} taec_array;

/* Reads a .npy file (v1-v3, little-endian float32 or float16, C order) into float32. */
taec_status taec_npy_load(const char* path, taec_array** out);
/* Writes a .npy file atomically (temporary file + rename), as float32 or float16. */
taec_status taec_npy_save(const char* path, const float* data, int rank, const int64_t* shape,
                          taec_dtype dtype);

/* A .npy written piece by piece (a long clip's frames, without holding them): the header at open,
 * then elements as they are produced, at element offsets (a pipe or terminal takes them in
 * order only). Atomic: the file appears at close only if every element was written; free
 * without close (or a failed close) leaves nothing. */
typedef struct taec_npy_writer taec_npy_writer;
taec_status taec_npy_writer_open(const char* path, int rank, const int64_t* shape, taec_dtype dtype,
                                 taec_npy_writer** out);
taec_status taec_npy_writer_write(taec_npy_writer* writer, uint64_t offset, const float* data,
                                  size_t count);
/* 1 when elements may come in any order (a file); 0 for a pipe or terminal (in order only). */
int taec_npy_writer_seekable(const taec_npy_writer* writer);
/* Commits and frees the writer, whatever the outcome. */
taec_status taec_npy_writer_close(taec_npy_writer* writer);
void taec_npy_writer_free(taec_npy_writer* writer);

/* A PNG written row by row, with the levels of taec_image_save_png (for the bands of
 * taec_plan_run_rows: the image is never held whole). Atomic as taec_npy_writer. */
typedef struct taec_png_writer taec_png_writer;
taec_status taec_png_writer_open(const char* path, int height, int width, taec_png_writer** out);
/* The next `rows` rows: [3][rows][W] (NCHW) or [rows][W][3] (NHWC) float RGB. */
taec_status taec_png_writer_write_rows(taec_png_writer* writer, const float* data, int rows, taec_layout layout);
/* Commits (fails unless every row was written) and frees the writer, whatever the outcome. */
taec_status taec_png_writer_close(taec_png_writer* writer);
void taec_png_writer_free(taec_png_writer* writer);

/* Reads one tensor from a file, told by content: a .npy, a PyTorch file saved with
 * torch.save(tensor) (e.g. bf16 latents saved from a GPU), or a .pth / .safetensors holding one
 * tensor. Always float32. */
taec_status taec_tensor_load(const char* path, taec_array** out);

/* Reads a PNG or JPEG (format from content; any other format is refused naming it) as
 * [1,3,H,W] float32 RGB in [0,1], turned upright by its EXIF orientation. README.md "What taec
 * reads" lists the limits. */
taec_status taec_image_load(const char* path, taec_array** out);
/* Writes an 8-bit RGB PNG atomically from one [3,H,W] (NCHW) or [H,W,3] (NHWC) float image;
 * values are clamped to [0,1] and rounded to nearest. */
taec_status taec_image_save_png(const char* path, const float* data, int height, int width,
                                taec_layout layout);

/* The 8-bit levels taec_image_save_png writes, without the file: [H,W,3] uint8 from one [3,H,W]
 * (NCHW) or [H,W,3] (NHWC) float image (clamped to [0,1], rounded to nearest; NaN -> 0). */
taec_status taec_image_to_rgb8(const float* data, int height, int width, taec_layout layout, uint8_t* out);

void taec_array_free(taec_array* array);

/* IEEE binary16 <-> float32 for buffers of plans with TAEC_DTYPE_F16 I/O (round to nearest even). */
void taec_f32_to_f16(const float* in, uint16_t* out, size_t count);
void taec_f16_to_f32(const uint16_t* in, float* out, size_t count);

/* ---- Finding weights --------------------------------------------------------------------- */

/* Resolves a path or a model name ("taef2", "taef1", …) to a weight file for `role`:
 * an existing path is used as is; a name is looked up as <name>_<decoder|encoder>.safetensors
 * (then .pth) in $TAEC_MODEL_DIR and then in the cache ($TAEC_CACHE_DIR, else
 * $XDG_CACHE_HOME/taec, else ~/.cache/taec). Writes a NUL-terminated path into buf. */
taec_status taec_resolve_weights(const char* name_or_path, taec_role role, char* buf,
                                 size_t buf_size);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* TAEC_TAEC_H_ */

/* taec — quality tooling: error metrics, the latent contract, plan validation, round trips.
 *
 * Checking a compiled decoder plan against the fp32 reference:
 *
 *   taec_validation_options vo;
 *   taec_validation_options_init(&vo);
 *   const char* images[] = {"astronaut.png"};
 *   vo.image_paths = images;              // real-image latents, encoded by...
 *   vo.image_count = 1;
 *   vo.encoder = encoder_model;           // ...the model's own encoder (fp32)
 *   taec_validation_set* set = NULL;
 *   taec_validation_set_create(decoder_model, 512, 512, &vo, &set);   // runs the reference once
 *   taec_validation* v = NULL;
 *   taec_validate_plan(set, plan, taec_default_tolerance("taef2", TAEC_PRECISION_BF16), &v);
 *   taec_validation_summary s;
 *   taec_validation_get_summary(v, &s);   // s.passed, s.worst.max_abs, ...
 *   taec_validation_free(v);
 *   taec_validation_set_free(set);
 *
 * Conventions are those of taec.h (statuses, taec_last_error, ownership, one thread per object).
 */
#ifndef TAEC_TAEC_QUALITY_H_
#define TAEC_TAEC_QUALITY_H_

#include "taec/taec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Metrics ------------------------------------------------------------------------------ */

typedef struct taec_error_stats {
  double max_abs; /* max |candidate - reference| */
  double mae;     /* mean |candidate - reference| */
  double rmse;
  double psnr_db; /* peak 1.0; +inf when identical */
  size_t count;
  size_t nonfinite; /* NaN/Inf seen; when > 0 every statistic above is NaN */
} taec_error_stats;

/* Compares `count` floats; clamp01 != 0 clamps both sides to [0,1] first (what a saved image
 * shows). */
taec_status taec_compare(const float* candidate, const float* reference, size_t count, int clamp01,
                         taec_error_stats* out);

/* SSIM of two planar [channels, height, width] images in [0,1] (clamped): Gaussian 11x11 window,
 * sigma 1.5, C1 = 0.01^2, C2 = 0.03^2, valid window positions only, mean over channels. */
taec_status taec_ssim(const float* candidate, const float* reference, int channels, int height, int width, double* out);

/* ---- The latent contract ------------------------------------------------------------------ */

typedef struct taec_latent_contract {
  const char* variant;
  const char* pipeline; /* e.g. "FLUX.2" */
  int latent_channels;
  int spatial_factor;         /* 8 */
  float scale, shift;         /* TAE latents: 1.0 and 0 (apply no VAE scaling) */
  float image_min, image_max; /* 0 and 1 */
  float typical_std;          /* of real-image latents */
  int packed_channels;        /* FLUX.2: 128 (2x2 patches at 1/16); 0 = no packed form */
  int packed_factor;          /* 16 */
  const char* note;
} taec_latent_contract;

/* Strings are static. TAEC_ERR_INVALID_ARGUMENT for an unknown variant. */
taec_status taec_latent_contract_get(const char* variant, taec_latent_contract* out);

/* FLUX.2 transformer latent -> taef2 latent, exactly (a permutation; no BatchNorm
 * denormalization): packed channel 4c + 2py + px at (y, x) is latent channel c at
 * (2y + py, 2x + px). packed: [packed_channels, height, width] (NCHW) or [height, width,
 * packed_channels] (NHWC); out: [packed_channels/4, 2*height, 2*width] in the same layout. */
taec_status taec_flux2_unpack(const float* packed, int packed_channels, int height, int width, taec_layout layout,
                              float* out);
/* The inverse; height/width are the latent's (even). */
taec_status taec_flux2_pack(const float* latent, int channels, int height, int width, taec_layout layout, float* out);

/* Sanity of a latent about to be decoded by `model` (a decoder): NaN/Inf, statistics implausible
 * for its variant. *warnings: one warning per line, "" if none; valid until the next taec call
 * on this thread. */
taec_status taec_latent_check(const taec_model* model, const float* latent, int height, int width, taec_layout layout,
                              const char** warnings);

/* ---- Validation: a plan against the fp32 reference ----------------------------------------- */

typedef struct taec_validation_options {
  int random_count; /* seeded random inputs (default 2) */
  uint64_t seed;
  const char* const* image_paths; /* real photos, fitted (cover + center crop) to the size */
  size_t image_count;
  const taec_model* encoder; /* for a decoder with images: makes their latents (fp32) */
} taec_validation_options;

void taec_validation_options_init(taec_validation_options* options);

typedef struct taec_validation_set taec_validation_set;

/* Builds the inputs for plans of `model` at height x width and runs the reference engine on each
 * (slow: seconds per input at 512x512). The set keeps what it needs of `model`. */
taec_status taec_validation_set_create(const taec_model* model, int height, int width,
                                       const taec_validation_options* options, taec_validation_set** out);
void taec_validation_set_free(taec_validation_set* set);
size_t taec_validation_set_size(const taec_validation_set* set);

typedef struct taec_validation taec_validation;

/* Runs `plan` (any layout / io dtype, same model shapes and size as the set) on every input. A
 * plan over tolerance is not an error: see taec_validation_summary.passed. */
taec_status taec_validate_plan(const taec_validation_set* set, taec_plan* plan, double tolerance,
                               taec_validation** out);
void taec_validation_free(taec_validation* validation);

typedef struct taec_validation_case {
  const char* input;      /* "random_0", "image:astronaut", ... (valid while the validation lives) */
  taec_error_stats error; /* unclamped outputs */
} taec_validation_case;

typedef struct taec_validation_summary {
  taec_error_stats worst; /* field-wise worst over the cases */
  double tolerance;       /* on max_abs */
  int passed;             /* all finite and worst.max_abs <= tolerance */
  size_t case_count;
} taec_validation_summary;

taec_status taec_validation_get_summary(const taec_validation* validation, taec_validation_summary* out);
taec_status taec_validation_get_case(const taec_validation* validation, size_t index, taec_validation_case* out);

/* 1e-3 for TAEC_PRECISION_FP32; FP16-class (BF16): 0.05 for "taef2", 0.03 otherwise; INT8: 0.3
 * (a measured bound, docs/QUANTIZATION.md); 0 for the reference. */
double taec_default_tolerance(const char* variant, taec_precision precision);

/* ---- Round trips: images -> encode -> decode per method, with a report --------------------- */

typedef void (*taec_progress_fn)(const char* line, void* user);

typedef struct taec_roundtrip_options {
  int size;                  /* images fitted to size x size (multiple of 8); default 512 */
  const char* methods;       /* "fp32,bf16" (default), "all", or a list of known methods */
  const char* out_dir;       /* required: PNGs, summary.json, report.html go here */
  int threads;               /* 0 = all cores */
  int timing_runs;           /* runs per image and method; the fastest is reported (default 3) */
  taec_progress_fn progress; /* called on the calling thread with one line per step; may be NULL */
  void* progress_user;
  /* Packages whose decoder plans join as methods (named "pkg-<folder name>"; their encoder is the
   * fp32 plan): e.g. packages with quantized weights. Each must hold the size and a decoder of
   * the same variant. */
  const taec_package* const* packages;
  size_t package_count;
} taec_roundtrip_options;

void taec_roundtrip_options_init(taec_roundtrip_options* options);

typedef struct taec_roundtrip taec_roundtrip;

taec_status taec_roundtrip_run(const taec_model* encoder, const taec_model* decoder, const char* const* image_paths,
                               size_t image_count, const taec_roundtrip_options* options, taec_roundtrip** out);
/* summary.json's text; a Markdown table (per image and method, then means). Valid while rt lives. */
const char* taec_roundtrip_json(const taec_roundtrip* rt);
const char* taec_roundtrip_table(const taec_roundtrip* rt);
/* A Markdown table, one row per method (means over the images): decode time, speed-up against
 * fp32 and bf16, weight.bin size, PSNR/SSIM against the original and the fp32 round trip. */
const char* taec_roundtrip_method_table(const taec_roundtrip* rt);
void taec_roundtrip_free(taec_roundtrip* rt);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TAEC_TAEC_QUALITY_H_ */

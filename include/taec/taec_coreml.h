/* taec Core ML export: C API (library taec_coreml, on top of taec.h).
 *
 * Writing the FLUX.2 decoder as one iOS18 multifunction package with a function per size:
 *
 *   const int sizes[] = {768, 768, 1024, 1024};   // (height, width) pairs in pixels
 *   taec_coreml_options opts;
 *   taec_coreml_options_init(&opts);
 *   opts.sizes = sizes;
 *   opts.size_count = 2;
 *   opts.packaging = TAEC_COREML_MULTIFUNCTION;   // functions "r768", "r1024"
 *   opts.out_dir = "out";                          // -> out/taef2_decoder.mlpackage
 *   char* report = NULL;
 *   if (taec_coreml_export("taef2_decoder.safetensors", &opts, &report) != TAEC_OK) {
 *     fprintf(stderr, "%s\n", taec_coreml_last_error());
 *   }
 *   free(report);
 *
 * What is written: ML Program packages, specification version 9 (iOS18/macOS15), opset CoreML8,
 * fp16 compute, input `latent`, output `image`, conv weights fp16 or compressed (`weights`); see
 * docs/COREML_EXPORT.md. Only decoders export.
 *
 * Video decoders (the TAEHV family): one fixed-shape function per frame size taking a chunk of
 * `chunk_latents` latents `latents` [1, K, h, w, Cz] (NHWC; NCHW: [1, K, Cz, h, w]) and giving
 * every raw frame of them, `frames` [1, K*t, H, W, 3] (NCHW: [1, K*t, 3, H, W]); the MemBlock
 * states travel as tensors (TAEC_COREML_STATE_TENSORS: an input NAME and an output NAME_next per
 * state, fed back by the caller) or as iOS18 states (TAEC_COREML_STATE_STATEFUL). A clip starts
 * from zero states, and its first call's first t-1 frames are dropped: the caller's rule
 * (docs/COREML_EXPORT.md "Video").
 */
#ifndef TAEC_TAEC_COREML_H_
#define TAEC_TAEC_COREML_H_

#include <stddef.h>

#include "taec/taec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum taec_coreml_packaging {
  TAEC_COREML_PER_SIZE = 0,      /* one package per size, NAME_768.mlpackage, function "main" */
  TAEC_COREML_MULTIFUNCTION = 1, /* one package, a fixed-shape function per size, one weight.bin */
  TAEC_COREML_ENUMERATED = 2     /* one package, one function with enumerated input shapes */
} taec_coreml_packaging;

typedef enum taec_coreml_state {
  TAEC_COREML_STATE_TENSORS = 0,  /* video: states as inputs and NAME_next outputs (any ML Program runtime) */
  TAEC_COREML_STATE_STATEFUL = 1  /* video: iOS18 state inputs updated in place (MLState) */
} taec_coreml_state;

typedef struct taec_coreml_options {
  const int* sizes;     /* size_count (height, width) pairs of image (video: frame) pixels, multiples
                         * of the spatial factor (8; TAEHV 8 x patch) */
  size_t size_count;
  taec_layout layout;   /* of the latent input and the image output; default NHWC */
  taec_dtype io_dtype;  /* of input and output (compute is fp16 either way); default F16 */
  taec_coreml_packaging packaging;
  const char* variant;  /* NULL = detect from the tensors */
  const char* out_dir;  /* created if missing; ignored with print_mil */
  int print_mil;        /* nonzero: write nothing, report the program as MIL text */
  /* How the conv weights are stored, with the names and quantizers of taec_pack_options.weights:
   * NULL or "none" (fp16 consts), "palette8" (8-bit LUT per tensor), "palette4" (4-bit LUT per
   * output channel), both as iOS18 constexpr_lut_to_dense, or "int8" (per output channel,
   * symmetric) as constexpr_blockwise_shift_scale. Compressed packages are named
   * NAME_<method>[_size].mlpackage. Appended last so that the earlier fields keep their offsets. */
  const char* weights;
  /* Video decoders only (an image decoder refuses anything but the defaults): latents per call,
   * 1..16 (default 1), and how the states travel (default TAEC_COREML_STATE_TENSORS). Packages
   * are named NAME[_method][_stateful][_kK][_size].mlpackage. */
  int chunk_latents;
  taec_coreml_state state_style;
} taec_coreml_options;

void taec_coreml_options_init(taec_coreml_options* options);

/* Exports the decoder in weights_path. Every package is built and checked in memory first, then
 * written atomically (a temporary directory renamed into place) and read back through taec's
 * validating reader. On success, if report is not NULL, *report is a malloc'ed text the caller
 * frees with free(): one line per package "PATH<TAB>BYTES<TAB>WEIGHT_SHA256<TAB>SUMMARY", or the
 * MIL text with print_mil. */
taec_status taec_coreml_export(const char* weights_path, const taec_coreml_options* options, char** report);

/* Message of the last taec_coreml_export failure on this thread; "" if none. */
const char* taec_coreml_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* TAEC_TAEC_COREML_H_ */

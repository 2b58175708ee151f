// Reference kernels: plain, readable fp32 loops. They are the specification every optimized
// kernel is tested against. All tensors are single images in NCHW, dense.
#pragma once

#include <cstddef>

namespace taec {

// in [cin, h, w], weight [cout, cin / groups, k, k], bias [cout] or nullptr, out [cout, ho, wo]
// with ho = (h + 2*pad - k) / stride + 1 (likewise wo). Zero padding. With groups g, output
// channel o reads input channels of group o / (cout / g) only (g = cin: depthwise).
void conv2d_nchw_f32__reference(const float* in, int cin, int h, int w, const float* weight,
                                const float* bias, int cout, int k, int stride, int pad, float* out,
                                int groups = 1);

// in [c*f*f, h, w] -> out [c, h*f, w*f]: out[ch][y*f+i][x*f+j] = in[ch*f*f + i*f + j][y][x]
// (torch.nn.functional.pixel_shuffle); pixel_unshuffle is its inverse (h, w multiples of f).
void pixel_shuffle_nchw_f32__reference(const float* in, int c, int h, int w, int f, float* out);
void pixel_unshuffle_nchw_f32__reference(const float* in, int c, int h, int w, int f, float* out);

// in [c, h, w] -> out [c, 2h, 2w], each input pixel copied to a 2x2 square.
void upsample_nearest2x_nchw_f32__reference(const float* in, int c, int h, int w, float* out);

// in [c, h, w] -> out [c, h, w]; channels split into `groups` equal groups; statistics over each
// group's channels x h x w in double (the biased variance, as torch.nn.GroupNorm), then
// out = (x - mean) / sqrt(var + eps) * gamma[c] + beta[c].
void group_norm_nchw_f32__reference(const float* in, int c, int h, int w, int groups, float eps,
                                    const float* gamma, const float* beta, float* out);

// Elementwise over n values; out may alias an input. NaN propagates through all of them.
void relu_f32__reference(const float* in, float* out, size_t n);
void add_f32__reference(const float* a, const float* b, float* out, size_t n);
// out = tanh(in / limit) * limit
void tanh_clamp_f32__reference(const float* in, float* out, size_t n, float limit);

}  // namespace taec

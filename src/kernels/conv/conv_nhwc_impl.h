// The conv row kernel as a template over a vector type V (see vec_*.h). Included once per ISA by
// conv_nhwc_<isa>.cc inside namespace taec::<isa>, each compiled with that ISA's flags only, so
// the instantiations never mix across ISAs. Not a public header.
//
// Register tile: NPX output pixels x NV vectors of output channels, all accumulators in
// registers; the inner loop broadcasts one input value per pixel and loads NV weight vectors.

template <int NPX, int NV>
inline void conv_tile(const ConvRowArgs& a, int px0, int cb, const float* w_block, int block) {
  typename V::T acc[NPX][NV];
  const int co0 = cb * block;
  for (int v = 0; v < NV; ++v) {
    const typename V::T b = a.bias ? V::load(a.bias + co0 + v * V::lanes) : V::zero();
    for (int p = 0; p < NPX; ++p) acc[p][v] = b;
  }
  for (int ky = 0; ky < a.kh; ++ky) {
    for (int kx = 0; kx < a.kw; ++kx) {
      const float* in = a.rows[ky] + px0 * a.in_px_step + kx * a.tap_step;
      const float* w = w_block + static_cast<size_t>(ky * a.kw + kx) * a.cin * block;
      for (int ci = 0; ci < a.cin; ++ci) {
        typename V::T wv[NV];
        for (int v = 0; v < NV; ++v) wv[v] = V::load(w + ci * block + v * V::lanes);
        for (int p = 0; p < NPX; ++p) {
          const typename V::T x = V::broadcast(in[p * a.in_px_step + ci]);
          for (int v = 0; v < NV; ++v) acc[p][v] = V::fma(x, wv[v], acc[p][v]);
        }
      }
    }
  }
  for (int p = 0; p < NPX; ++p) {
    float* out = a.out + (px0 + p) * a.out_px_step + co0;
    const float* res = a.residual ? a.residual + (px0 + p) * a.out_px_step + co0 : nullptr;
    for (int v = 0; v < NV; ++v) {
      typename V::T r = acc[p][v];
      if (res) r = V::add(r, V::load(res + v * V::lanes));
      if (a.relu) r = V::max0(r);
      V::store(out + v * V::lanes, r);
    }
  }
}

static_assert(kTilePixels >= 1 && kTilePixels <= 6, "the tail switch covers up to 5 pixels");

template <int NV>
inline void conv_row_blocks(const ConvRowArgs& a, int cb, int block) {
  const float* w_block = a.weights + static_cast<size_t>(cb) * a.kh * a.kw * a.cin * block;
  int p = 0;
  for (; p + kTilePixels <= a.pixels; p += kTilePixels) conv_tile<kTilePixels, NV>(a, p, cb, w_block, block);
  switch (a.pixels - p) {  // tail, one tile narrower than kTilePixels
    case 0: break;
    case 1: conv_tile<1, NV>(a, p, cb, w_block, block); break;
    case 2: conv_tile<2, NV>(a, p, cb, w_block, block); break;
    case 3: conv_tile<3, NV>(a, p, cb, w_block, block); break;
    case 4: conv_tile<4, NV>(a, p, cb, w_block, block); break;
    case 5: conv_tile<5, NV>(a, p, cb, w_block, block); break;
  }
}

// Few output channels (the 64 -> 3 conv to RGB): vectorize over input channels instead and reduce
// once per output value. A tile of NPX pixels x NCO outputs shares each weight vector load across
// its pixels (4 pixels halved the RGB conv's time; 6 measured no better). Weights plain OHWI.
template <int NPX, int NCO>
inline void conv_small_cout_tile(const ConvRowArgs& a, int p0, int co0) {
  const int vec_cin = a.cin - a.cin % V::lanes;
  typename V::T acc[NPX][NCO];
  float tail[NPX][NCO] = {};
  for (int p = 0; p < NPX; ++p)
    for (int c = 0; c < NCO; ++c) acc[p][c] = V::zero();
  for (int ky = 0; ky < a.kh; ++ky) {
    for (int kx = 0; kx < a.kw; ++kx) {
      const float* in = a.rows[ky] + p0 * a.in_px_step + kx * a.tap_step;
      const float* w = a.weights + ((static_cast<size_t>(co0) * a.kh + ky) * a.kw + kx) * a.cin;
      const size_t w_co_step = static_cast<size_t>(a.kh) * a.kw * a.cin;
      for (int ci = 0; ci < vec_cin; ci += V::lanes) {
        typename V::T x[NPX];
        for (int p = 0; p < NPX; ++p) x[p] = V::load(in + p * a.in_px_step + ci);
        for (int c = 0; c < NCO; ++c) {
          const typename V::T wv = V::load(w + c * w_co_step + ci);
          for (int p = 0; p < NPX; ++p) acc[p][c] = V::fma(x[p], wv, acc[p][c]);
        }
      }
      for (int ci = vec_cin; ci < a.cin; ++ci)
        for (int c = 0; c < NCO; ++c)
          for (int p = 0; p < NPX; ++p) tail[p][c] += in[p * a.in_px_step + ci] * w[c * w_co_step + ci];
    }
  }
  for (int p = 0; p < NPX; ++p) {
    for (int c = 0; c < NCO; ++c) {
      const int co = co0 + c;
      float r = V::hsum(acc[p][c]) + tail[p][c] + (a.bias ? a.bias[co] : 0.0f);
      if (a.residual) r += a.residual[(p0 + p) * a.out_px_step + co];
      if (a.relu && r < 0.0f) r = 0.0f;
      a.out[(p0 + p) * a.out_px_step + co] = r;
    }
  }
}

template <int NCO>
inline void conv_small_cout_columns(const ConvRowArgs& a, int co0) {
  int p = 0;
  for (; p + 4 <= a.pixels; p += 4) conv_small_cout_tile<4, NCO>(a, p, co0);
  for (; p < a.pixels; ++p) conv_small_cout_tile<1, NCO>(a, p, co0);
}

inline void conv_row_small_cout(const ConvRowArgs& a) {
  for (int co0 = 0; co0 < a.cout; co0 += 4) {
    switch (a.cout - co0 < 4 ? a.cout - co0 : 4) {
      case 1: conv_small_cout_columns<1>(a, co0); break;
      case 2: conv_small_cout_columns<2>(a, co0); break;
      case 3: conv_small_cout_columns<3>(a, co0); break;
      default: conv_small_cout_columns<4>(a, co0); break;
    }
  }
}

static_assert(kCoutBlock % V::lanes == 0 && kCoutBlock / V::lanes <= 4, "conv_row dispatches NV = 1..4");

inline void conv_row(const ConvRowArgs& a) {
  const int block = conv_cout_block(a.cout, V::lanes, kCoutBlock);
  if (block == 0) {
    conv_row_small_cout(a);
    return;
  }
  for (int cb = 0; cb < a.cout / block; ++cb) {
    switch (block / V::lanes) {
      case 1: conv_row_blocks<1>(a, cb, block); break;
      case 2: conv_row_blocks<2>(a, cb, block); break;
      case 3: conv_row_blocks<3>(a, cb, block); break;
      case 4: conv_row_blocks<4>(a, cb, block); break;
    }
  }
}

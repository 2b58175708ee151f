// Winograd F(4x4, 3x3) transforms as a template over a vector type V, vectorized across
// channels. Included once per ISA inside namespace taec::<isa> (like conv_nhwc_impl.h).
//
// With input tile d (6x6), kernel g (3x3) and output tile Y (4x4), Y = A^T [(G g G^T) ⊙ (B^T d B)] A
// (Lavin & Gray 2015, interpolation points 0, ±1, ±2, ∞). The element-wise product summed over
// input channels is 36 independent GEMMs, run by conv_row as 1x1 convolutions.

// B^T applied to 6 values: the 1-D input transform.
inline void winograd_bt6(const typename V::T d[6], typename V::T out[6]) {
  const typename V::T four = V::broadcast(4.0f), five = V::broadcast(5.0f), two = V::broadcast(2.0f);
  // out0 = 4 d0 - 5 d2 + d4
  out[0] = V::fma(four, d[0], V::fma(V::neg(five), d[2], d[4]));
  // out1 = -4 (d1 + d2) + d3 + d4 ; out2 = 4 (d1 - d2) - d3 + d4
  out[1] = V::fma(V::neg(four), V::add(d[1], d[2]), V::add(d[3], d[4]));
  out[2] = V::fma(four, V::sub(d[1], d[2]), V::sub(d[4], d[3]));
  // out3 = 2 (d3 - d1) + d4 - d2 ; out4 = 2 (d1 - d3) + d4 - d2
  out[3] = V::fma(two, V::sub(d[3], d[1]), V::sub(d[4], d[2]));
  out[4] = V::fma(two, V::sub(d[1], d[3]), V::sub(d[4], d[2]));
  // out5 = 4 d1 - 5 d3 + d5
  out[5] = V::fma(four, d[1], V::fma(V::neg(five), d[3], d[5]));
}

// A^T applied to 6 values: the 1-D output transform.
inline void winograd_at6(const typename V::T m[6], typename V::T out[4]) {
  const typename V::T two = V::broadcast(2.0f), four = V::broadcast(4.0f), eight = V::broadcast(8.0f);
  const typename V::T a = V::add(m[1], m[2]), b = V::sub(m[1], m[2]);
  const typename V::T c = V::add(m[3], m[4]), d = V::sub(m[3], m[4]);
  out[0] = V::add(V::add(m[0], a), c);
  out[1] = V::fma(two, d, b);
  out[2] = V::fma(four, c, a);
  out[3] = V::add(V::fma(eight, d, b), m[5]);
}

// rows[r]: input row y0 - 1 + r, positioned at pixel 4 * tile0 - 1 (rows carry zero padding
// pixels: one on the left, at least four on the right). v[p * v_pos_stride + t * channels + c].
inline void winograd_input(const float* const rows[6], int tiles, int channels, float* v, size_t v_pos_stride) {
  for (int t = 0; t < tiles; ++t) {
    for (int c = 0; c < channels; c += V::lanes) {
      typename V::T tmp[6][6];
      for (int k = 0; k < 6; ++k) {  // columns: B^T along rows of the tile
        typename V::T col[6];
        for (int r = 0; r < 6; ++r) col[r] = V::load(rows[r] + static_cast<size_t>(4 * t + k) * channels + c);
        typename V::T out[6];
        winograd_bt6(col, out);
        for (int r = 0; r < 6; ++r) tmp[r][k] = out[r];
      }
      for (int r = 0; r < 6; ++r) {
        typename V::T out[6];
        winograd_bt6(tmp[r], out);
        for (int k = 0; k < 6; ++k) V::store(v + (r * 6 + k) * v_pos_stride + static_cast<size_t>(t) * channels + c, out[k]);
      }
    }
  }
}

// m[p * m_pos_stride + t * channels + c] -> out_rows[r] + (4 t + k) * channels + c for r < rows_valid
// and 4 t + k < cols_valid (cols counted from tile0), plus bias, plus residual (res_rows laid out
// like out_rows, or null), then ReLU.
inline void winograd_output(const float* m, size_t m_pos_stride, int tiles, int channels, const float* bias,
                            const float* const res_rows[4], float* const out_rows[4], int rows_valid, int cols_valid,
                            bool relu) {
  for (int t = 0; t < tiles; ++t) {
    const int cols = cols_valid - 4 * t < 4 ? cols_valid - 4 * t : 4;
    for (int c = 0; c < channels; c += V::lanes) {
      typename V::T tmp[4][6];
      for (int k = 0; k < 6; ++k) {
        typename V::T col[6];
        for (int r = 0; r < 6; ++r) col[r] = V::load(m + (r * 6 + k) * m_pos_stride + static_cast<size_t>(t) * channels + c);
        typename V::T out[4];
        winograd_at6(col, out);
        for (int r = 0; r < 4; ++r) tmp[r][k] = out[r];
      }
      const typename V::T b = bias ? V::load(bias + c) : V::zero();
      for (int r = 0; r < rows_valid; ++r) {
        typename V::T y[4];
        winograd_at6(tmp[r], y);
        for (int k = 0; k < cols; ++k) {
          const size_t at = static_cast<size_t>(4 * t + k) * channels + c;
          typename V::T v = V::add(y[k], b);
          if (res_rows) v = V::add(v, V::load(res_rows[r] + at));
          if (relu) v = V::max0(v);
          V::store(out_rows[r] + at, v);
        }
      }
    }
  }
}

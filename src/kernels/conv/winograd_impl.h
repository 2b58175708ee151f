// Winograd F(4x4, 3x3) and F(6x6, 3x3) transforms as templates over a vector type V, vectorized
// across channels. Included once per ISA inside namespace taec::<isa> (like conv_nhwc_impl.h).
//
// With input tile d (T x T, T = M + 2), kernel g (3x3) and output tile Y (M x M),
// Y = A^T [(G g G^T) ⊙ (B^T d B)] A (Lavin & Gray 2015; points 0, ±1, ±2, ∞ for M = 4 and
// 0, ±1, ±2, ±1/2, ∞ for M = 6). The element-wise product summed over input channels is T*T
// independent GEMMs, run by conv_row as 1x1 convolutions.

template <int M>
struct Winograd;

template <>
struct Winograd<4> {
  static constexpr int T = 6;
  // B^T applied to T values: the 1-D input transform.
  static void bt(const typename V::T d[6], typename V::T out[6]) {
    const typename V::T four = V::broadcast(4.0f), five = V::broadcast(5.0f), two = V::broadcast(2.0f);
    out[0] = V::fma(four, d[0], V::fma(V::neg(five), d[2], d[4]));
    out[1] = V::fma(V::neg(four), V::add(d[1], d[2]), V::add(d[3], d[4]));
    out[2] = V::fma(four, V::sub(d[1], d[2]), V::sub(d[4], d[3]));
    out[3] = V::fma(two, V::sub(d[3], d[1]), V::sub(d[4], d[2]));
    out[4] = V::fma(two, V::sub(d[1], d[3]), V::sub(d[4], d[2]));
    out[5] = V::fma(four, d[1], V::fma(V::neg(five), d[3], d[5]));
  }
  // A^T applied to T values: the 1-D output transform.
  static void at(const typename V::T m[6], typename V::T out[4]) {
    const typename V::T two = V::broadcast(2.0f), four = V::broadcast(4.0f), eight = V::broadcast(8.0f);
    const typename V::T a = V::add(m[1], m[2]), b = V::sub(m[1], m[2]);
    const typename V::T c = V::add(m[3], m[4]), d = V::sub(m[3], m[4]);
    out[0] = V::add(V::add(m[0], a), c);
    out[1] = V::fma(two, d, b);
    out[2] = V::fma(four, c, a);
    out[3] = V::add(V::fma(eight, d, b), m[5]);
  }
};

template <>
struct Winograd<6> {
  static constexpr int T = 8;
  static void bt(const typename V::T d[8], typename V::T out[8]) {
    const typename V::T k525 = V::broadcast(5.25f), k425 = V::broadcast(4.25f), k125 = V::broadcast(1.25f),
                        k025 = V::broadcast(0.25f), k05 = V::broadcast(0.5f), k25 = V::broadcast(2.5f),
                        k2 = V::broadcast(2.0f), k4 = V::broadcast(4.0f), k5 = V::broadcast(5.0f);
    out[0] = V::fma(k525, V::sub(d[4], d[2]), V::sub(d[0], d[6]));
    out[7] = V::fma(k525, V::sub(d[3], d[5]), V::sub(d[7], d[1]));
    const typename V::T a12 = V::fma(V::neg(k425), d[4], V::add(d[2], d[6]));
    const typename V::T b12 = V::fma(V::neg(k425), d[3], V::add(d[1], d[5]));
    out[1] = V::add(a12, b12);
    out[2] = V::sub(a12, b12);
    const typename V::T a34 = V::fma(V::neg(k125), d[4], V::fma(k025, d[2], d[6]));
    const typename V::T b34 = V::fma(k2, d[5], V::fma(V::neg(k25), d[3], V::mul(k05, d[1])));
    out[3] = V::add(a34, b34);
    out[4] = V::sub(a34, b34);
    const typename V::T a56 = V::fma(V::neg(k5), d[4], V::fma(k4, d[2], d[6]));
    const typename V::T b56 = V::fma(k05, d[5], V::fma(V::neg(k25), d[3], V::mul(k2, d[1])));
    out[5] = V::add(a56, b56);
    out[6] = V::sub(a56, b56);
  }
  static void at(const typename V::T m[8], typename V::T out[6]) {
    const typename V::T a = V::add(m[1], m[2]), b = V::sub(m[1], m[2]);
    const typename V::T c = V::add(m[3], m[4]), d = V::sub(m[3], m[4]);
    const typename V::T e = V::add(m[5], m[6]), f = V::sub(m[5], m[6]);
    out[0] = V::add(V::add(m[0], a), V::add(c, e));
    out[1] = V::fma(V::broadcast(2.0f), d, V::fma(V::broadcast(0.5f), f, b));
    out[2] = V::fma(V::broadcast(4.0f), c, V::fma(V::broadcast(0.25f), e, a));
    out[3] = V::fma(V::broadcast(8.0f), d, V::fma(V::broadcast(0.125f), f, b));
    out[4] = V::fma(V::broadcast(16.0f), c, V::fma(V::broadcast(0.0625f), e, a));
    out[5] = V::add(V::fma(V::broadcast(32.0f), d, V::fma(V::broadcast(0.03125f), f, b)), m[7]);
  }
};

// rows[r]: input row y0 - 1 + r, positioned at pixel M * tile0 - 1 (rows carry zero padding
// pixels: one on the left, at least M on the right). Calls store(position, tile, channel, value).
template <int M, typename Store>
inline void winograd_input_tiles(const float* const rows[], int tiles, int channels, Store store) {
  constexpr int T = Winograd<M>::T;
  for (int t = 0; t < tiles; ++t) {
    for (int c = 0; c < channels; c += V::lanes) {
      typename V::T tmp[T][T];
      for (int k = 0; k < T; ++k) {  // columns: B^T down each column of the tile
        typename V::T col[T], out[T];
        for (int r = 0; r < T; ++r) col[r] = V::load(rows[r] + static_cast<size_t>(M * t + k) * channels + c);
        Winograd<M>::bt(col, out);
        for (int r = 0; r < T; ++r) tmp[r][k] = out[r];
      }
      for (int r = 0; r < T; ++r) {
        typename V::T out[T];
        Winograd<M>::bt(tmp[r], out);
        for (int k = 0; k < T; ++k) store(r * T + k, t, c, out[k]);
      }
    }
  }
}

template <int M>
inline void winograd_input(const float* const rows[], int tiles, int channels, float* v, size_t v_pos_stride) {
  winograd_input_tiles<M>(rows, tiles, channels, [&](int p, int t, int c, typename V::T x) {
    V::store(v + p * v_pos_stride + static_cast<size_t>(t) * channels + c, x);
  });
}

// Tile t's products m[p * m_pos_stride + t * m_tile_stride + c] -> output pixel M t + k of row r
// at out_rows[r] + (M t + k) * out_px_step + c, for r < rows_valid and M t + k < cols_valid (cols
// counted from tile0), plus bias, plus residual (res_rows laid out like out_rows, or null), then
// ReLU. The strides let one call write a slice of the products' channels (an up2x phase) to every
// other pixel of a wider row; channels need not fill the last vector (a 12-channel RGB conv).
template <int M>
inline void winograd_output(const WinogradOutArgs& a) {
  constexpr int T = Winograd<M>::T;
  for (int t = 0; t < a.tiles; ++t) {
    const int cols = a.cols_valid - M * t < M ? a.cols_valid - M * t : M;
    for (int c = 0; c < a.channels; c += V::lanes) {
      const int n = a.channels - c < V::lanes ? a.channels - c : V::lanes;
      typename V::T tmp[M][T];
      for (int k = 0; k < T; ++k) {
        typename V::T col[T], out[M];
        for (int r = 0; r < T; ++r) col[r] = V::load(a.m + (r * T + k) * a.m_pos_stride + static_cast<size_t>(t) * a.m_tile_stride + c);
        Winograd<M>::at(col, out);
        for (int r = 0; r < M; ++r) tmp[r][k] = out[r];
      }
      const typename V::T b = a.bias ? V::load(a.bias + c) : V::zero();  // bias padded to whole vectors
      for (int r = 0; r < a.rows_valid; ++r) {
        typename V::T y[M];
        Winograd<M>::at(tmp[r], y);
        for (int k = 0; k < cols; ++k) {
          const size_t at = static_cast<size_t>(M * t + k) * a.out_px_step + c;
          typename V::T v = V::add(y[k], b);
          if (n == V::lanes) {
            if (a.res_rows) v = V::add(v, V::load(a.res_rows[r] + at));
            if (a.relu) v = V::max0(v);
            V::store(a.out_rows[r] + at, v);
          } else {  // partial vector: through a buffer, so no neighbouring pixel is touched
            alignas(64) float buf[V::lanes];
            V::store(buf, v);
            for (int i = 0; i < n; ++i) {
              float x = buf[i] + (a.res_rows ? a.res_rows[r][at + i] : 0.0f);
              a.out_rows[r][at + i] = a.relu && x < 0.0f ? 0.0f : x;
            }
          }
        }
      }
    }
  }
}

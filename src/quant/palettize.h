// Palettization (issue 6): each weight becomes a 4- or 8-bit index into a look-up table (LUT) of
// 2^bits values, one LUT per tensor or per group of output channels. The LUT is a 1-D k-means
// clustering of the group's weights.
//
// The k-means, and why it is deterministic and fast (~0.15 s of CPU per taef2 decoder at 8 bits):
//  - The group's values are sorted and merged into distinct values with counts, with prefix sums
//    of count and value. In 1-D every k-means cluster is a contiguous run of the sorted values, so
//    a clustering is just k-1 boundaries and a centroid is one prefix-sum difference.
//  - Two inits, no randomness: (1) equal-count quantiles; (2) equal shares of p^(1/3), the
//    asymptotically optimal level density, with p estimated from sample spacings. (1) is near
//    optimal at 16 levels; at 256 levels on real weights Lloyd from (1) stalls ~4x above the
//    optimum (singleton clusters in the tails never move) while (2) ends within ~1.3x of the
//    exact optimum (measured against an exact DP on the taef2 decoder). Boundaries are pushed
//    apart so no cluster starts empty.
//  - Lloyd steps: centroids from the runs, then each boundary moves to the midpoint of the
//    adjacent centroids (a value exactly at a midpoint joins the lower cluster), walking from
//    the old boundary: O(k + distance moved) per step, independent of n.
//  - Stop when a step leaves every boundary unchanged (a Lloyd fixed point: the same step
//    would repeat forever), or after kPaletteMaxIterations steps (rarely reached on real weights).
//  - A cluster that empties keeps its previous centroid; that centroid still lies strictly
//    between its neighbours' new ones, so the LUT stays sorted.
//  - Each result is rounded to fp16 and scored by its squared error; the lowest wins (the first
//    on a tie). With groups, the per-tensor LUT (as is, and refined by Lloyd on the group) also
//    competes, so per-group error <= per-tensor error holds by construction.
//  - Groups with <= 2^bits distinct values get those values exactly (the rest of the LUT repeats
//    the largest), so such a group is lossless whenever its values are representable in fp16.
//
// Storage: LUT entries are fp16. The runtime computes in fp32/bf16 and packages store unquantized
// weights as fp16, so an fp16 centroid costs at most 2^-11 relative, far below the clustering
// error, and it halves the LUT (which matters for 8-bit LUTs on small groups: 512 bytes per
// group instead of 1 KiB). After the centroids are rounded to fp16 every weight is assigned to its
// nearest fp16 entry (ties to the lower index), so the rounding never picks a worse entry.
// Indices are packed over the whole tensor in C order: 8-bit one per byte; 4-bit two per byte,
// element 2i in the low nibble of byte i, element 2i+1 in the high nibble, a final odd element
// leaving the high nibble 0. Groups are contiguous runs of C order (O is the first dim), so they
// need no separate index streams.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "quant/quant_common.h"

namespace taec {

constexpr int kPaletteMaxIterations = 300;

struct PalettizedTensor {
  std::vector<int64_t> shape;    // O first (OIHW for conv weights)
  int bits = 4;                  // 4 or 8
  int64_t group_channels = 0;    // output channels per LUT; 0 = one LUT for the whole tensor
  std::vector<uint16_t> luts;    // fp16 bits; group g's LUT is luts[g << bits .. (g + 1) << bits)
  std::vector<uint8_t> indices;  // packed as described above: ceil(elems * bits / 8) bytes
  QuantError error;              // measured by palettize(); zero after parsing

  int64_t lut_count() const;  // 1, or O / group_channels
};

// Palettizes `w` (C order, `shape` with O first). Fails on bits other than 4 or 8, a group size
// that does not divide O, a bad shape, or a weight that is not finite or does not fit fp16.
// Deterministic and single-threaded: the same input gives bit-identical output on every run.
Result<PalettizedTensor> palettize(const float* w, const std::vector<int64_t>& shape, int bits,
                                   int64_t group_channels);

// Checks that every field agrees with the others (bits, group size vs O, LUT and index lengths,
// finite LUT entries, zero padding nibble). The parser calls it on every tensor it reads.
Status check_palettized(const PalettizedTensor& t, const std::string& what);

// The fp32 weights the palette stands for, C order. `t` must pass check_palettized (palettize()
// and the parser guarantee it).
std::vector<float> dequantize(const PalettizedTensor& t);

}  // namespace taec

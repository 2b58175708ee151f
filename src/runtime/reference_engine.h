// Interprets a Graph with the reference kernels, node by node, in NCHW fp32 (batch 1).
// The oracle for every compiled plan; allocates each intermediate as it goes and frees it after
// its last reader, which is simple but not what production plans do.
#pragma once

#include "graph/graph.h"

namespace taec {

// input: [C, height, width] NCHW fp32; output: sized for graph.infer_shapes(height, width).back().
void run_graph_reference(const Graph& graph, int height, int width, const float* input, float* output);

}  // namespace taec

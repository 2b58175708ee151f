// Interprets a Graph with the reference kernels, node by node, in NCHW fp32 (batch 1): the oracle
// for every compiled plan. It allocates each intermediate as it goes, which is simple but not what
// production plans do.
//
// Two ways to run a video graph, matching the two modes of the reference taehv.py:
//   - step by step, frame by frame in causal order (its sequential mode): each step takes
//     temporal().frames_in frames and makes frames_out; what links steps is the state, the previous
//     frame of every concat_past input. An image graph is the one-frame, stateless case.
//   - the whole clip at once (its parallel mode): every op applied to all frames of the sequence.
#pragma once

#include <cstddef>
#include <vector>

#include "graph/graph.h"

namespace taec {

// Floats of state between steps: the previous frame of every concat_past input ([C,H,W] each).
size_t reference_state_floats(const Graph& graph, int height, int width);

// inputs: frames_in frames [C, height, width] back to back; outputs: frames_out frames of the
// output shape. state: reference_state_floats() floats, all zero at the start of a clip (no past),
// updated in place; may be null for a stateless graph.
void run_graph_reference_step(const Graph& graph, int height, int width, const float* inputs, float* outputs,
                              float* state);

// An image graph: one frame in, one out.
void run_graph_reference(const Graph& graph, int height, int width, const float* input, float* output);

// `count` input frames (a multiple of frames_in) -> count / frames_in * frames_out output frames,
// every op applied to the whole sequence as the reference's parallel mode does.
std::vector<float> run_graph_reference_clip(const Graph& graph, int height, int width, const float* frames, int count);

}  // namespace taec

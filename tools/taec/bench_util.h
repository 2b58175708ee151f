// Measurements shared by `taec bench`'s image and video paths.
#pragma once

#include <vector>

namespace taec_cli {

// Peak resident set of this process since start or the last reset (Linux VmHWM), in bytes.
long long peak_rss_bytes();
long long current_rss_bytes();
// Lets each measurement report its own peak: VmHWM restarts from the current RSS.
void reset_peak_rss();
// Linear interpolation between order statistics; p in [0, 1].
double percentile(std::vector<double> v, double p);

}  // namespace taec_cli

// The round trip's HTML report: one self-contained file (every image embedded as a base64 PNG
// data URI, the plot inline SVG, no scripts or styles fetched) that works offline and by mail.
//
// Contents: a quality-vs-speed plot (mean decode time vs mean PSNR against the original, per
// method); a summary table per method and a full table per image and method; per image, the
// original and every method side by side (previews at most 512 px, linked to the full-size PNGs
// beside the report), then 1:1 crops of the region where the methods differ most from the
// original (shown enlarged with nearest-neighbour scaling) with their |error| x4 maps.
//
// A small inline script marks <body data-images-loaded="N" data-images-total="M"> once the page
// has loaded, N counting the <img> elements that decoded (complete && naturalWidth > 0), so a
// headless browser can check that the report renders.
#pragma once

#include <string>

#include "base/status.h"
#include "quality/roundtrip.h"

namespace taec {

// Reads the PNGs named in `summary` (relative to summary.out_dir) and writes the report to
// html_path atomically.
Status write_roundtrip_report(const RoundtripSummary& summary, const std::string& html_path);

}  // namespace taec

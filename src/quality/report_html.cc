#include "quality/report_html.h"

#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "base/file_util.h"
#include "io/image.h"
#include "quality/image_prep.h"

namespace taec {
namespace {

namespace fs = std::filesystem;

constexpr int kPreviewMaxSide = 512;
constexpr int kCropSide = 128;      // 1:1 crop, displayed at 2x
constexpr float kErrorGain = 4.0f;  // |error| maps are amplified to be visible

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fmt(const char* format, double v) {
  if (std::isinf(v)) return "&infin;";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string base64(const std::vector<uint8_t>& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t b0 = bytes[i], b1 = i + 1 < bytes.size() ? bytes[i + 1] : 0,
                   b2 = i + 2 < bytes.size() ? bytes[i + 2] : 0;
    const uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}

Result<std::string> png_data_uri(const RgbImage& image) {
  const size_t plane = static_cast<size_t>(image.height) * image.width;
  std::vector<unsigned char> pixels(plane * 3);
  for (size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < 3; ++c) {
      const float v = std::clamp(image.chw[c * plane + i], 0.0f, 1.0f);
      pixels[3 * i + c] = static_cast<unsigned char>(std::isnan(v) ? 0 : std::lround(v * 255.0f));
    }
  }
  std::vector<uint8_t> png;
  if (!stbi_write_png_to_func(append_bytes, &png, image.width, image.height, 3, pixels.data(), image.width * 3)) {
    return Status(Code::internal, "PNG encoding for the report failed");
  }
  return "data:image/png;base64," + base64(png);
}

RgbImage error_map(const RgbImage& a, const RgbImage& b) {
  RgbImage e = a;
  for (size_t i = 0; i < e.chw.size(); ++i) e.chw[i] = std::min(1.0f, std::fabs(a.chw[i] - b.chw[i]) * kErrorGain);
  return e;
}

// Top-left corner of the side x side window (on a 16 px grid) with the largest summed |error|
// of any method against the original: where differences are worth looking at.
std::pair<int, int> worst_window(const RgbImage& original, const std::vector<RgbImage>& outputs, int side) {
  const int h = original.height, w = original.width;
  std::vector<double> err(static_cast<size_t>(h) * w, 0.0);
  const size_t plane = err.size();
  for (const RgbImage& out : outputs) {
    for (int c = 0; c < 3; ++c) {
      for (size_t i = 0; i < plane; ++i) err[i] += std::fabs(out.chw[c * plane + i] - original.chw[c * plane + i]);
    }
  }
  // Summed-area table for O(1) window sums.
  std::vector<double> sat(static_cast<size_t>(h + 1) * (w + 1), 0.0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      sat[(y + 1) * (w + 1) + x + 1] = err[static_cast<size_t>(y) * w + x] + sat[y * (w + 1) + x + 1] +
                                       sat[(y + 1) * (w + 1) + x] - sat[y * (w + 1) + x];
    }
  }
  double best = -1;
  std::pair<int, int> at{0, 0};
  for (int y = 0; y + side <= h; y += 16) {
    for (int x = 0; x + side <= w; x += 16) {
      const double s = sat[(y + side) * (w + 1) + x + side] - sat[y * (w + 1) + x + side] -
                       sat[(y + side) * (w + 1) + x] + sat[y * (w + 1) + x];
      if (s > best) {
        best = s;
        at = {y, x};
      }
    }
  }
  return at;
}

int original_preview_width(const RgbImage& image) {
  return image.width >= image.height ? std::min(image.width, kPreviewMaxSide)
                                     : std::max(1, image.width * kPreviewMaxSide / image.height);
}

struct MethodMeans {
  double psnr = 0, ssim = 0, psnr_fp32 = 0, ssim_fp32 = 0, encode = 0, decode = 0, max_abs = 0;
};

std::vector<MethodMeans> method_means(const RoundtripSummary& s) {
  std::vector<MethodMeans> means;
  for (size_t i = 0; i < s.methods.size(); ++i) {
    const MethodResult r = roundtrip_method_mean(s, i);
    means.push_back({r.vs_original.psnr_db, r.ssim_vs_original, r.vs_fp32.psnr_db, r.ssim_vs_fp32, r.encode_seconds,
                     r.decode_seconds, r.vs_fp32.max_abs});
  }
  return means;
}

std::string speedup_cell(const RoundtripSummary& s, size_t i, const char* baseline) {
  const double x = roundtrip_speedup(s, i, baseline);
  return x > 0 ? fmt("%.2f&#215;", x) : "&ndash;";
}

// Scatter plot: x = mean round-trip time (encode + decode) in ms, y = mean PSNR vs the original.
std::string quality_speed_svg(const RoundtripSummary& s, const std::vector<MethodMeans>& means) {
  constexpr double kW = 640, kH = 360, kLeft = 70, kRight = 30, kTop = 20, kBottom = 50;
  double x0 = std::numeric_limits<double>::infinity(), x1 = 0, y0 = x0, y1 = -x0;
  for (const auto& m : means) {
    const double t = (m.encode + m.decode) * 1000;
    x0 = std::min(x0, t);
    x1 = std::max(x1, t);
    y0 = std::min(y0, m.psnr);
    y1 = std::max(y1, m.psnr);
  }
  // Pad the ranges (and give single points or ties a visible span); time axis starts at 0.
  x0 = 0;
  x1 = x1 <= 0 ? 1 : x1 * 1.15;
  {  // round the time axis up to 4 ticks of 1, 2, 2.5 or 5 x 10^k ms
    const double raw_step = x1 / 4, mag = std::pow(10.0, std::floor(std::log10(raw_step)));
    double step = 10 * mag;
    for (double m : {1.0, 2.0, 2.5, 5.0}) {
      if (m * mag >= raw_step) {
        step = m * mag;
        break;
      }
    }
    x1 = 4 * step;
  }
  const double ypad = std::max(0.25, (y1 - y0) * 0.2);
  y0 -= ypad;
  y1 += ypad;
  auto px = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * (kW - kLeft - kRight); };
  auto py = [&](double y) { return kH - kBottom - (y - y0) / (y1 - y0) * (kH - kTop - kBottom); };
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt("%.0f", kW) + "\" height=\"" +
                    fmt("%.0f", kH) + "\" role=\"img\" aria-label=\"quality vs speed\">\n";
  svg += "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
  // Axes and ticks (5 per axis).
  svg += "<line x1=\"" + fmt("%.1f", kLeft) + "\" y1=\"" + fmt("%.1f", kH - kBottom) + "\" x2=\"" +
         fmt("%.1f", kW - kRight) + "\" y2=\"" + fmt("%.1f", kH - kBottom) + "\" stroke=\"#333\"/>\n";
  svg += "<line x1=\"" + fmt("%.1f", kLeft) + "\" y1=\"" + fmt("%.1f", kTop) + "\" x2=\"" + fmt("%.1f", kLeft) +
         "\" y2=\"" + fmt("%.1f", kH - kBottom) + "\" stroke=\"#333\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    const double xv = x0 + (x1 - x0) * i / 4, yv = y0 + (y1 - y0) * i / 4;
    svg += "<text x=\"" + fmt("%.1f", px(xv)) + "\" y=\"" + fmt("%.1f", kH - kBottom + 18) +
           "\" font-size=\"11\" text-anchor=\"middle\">" + fmt("%g", xv) + "</text>\n";
    svg += "<line x1=\"" + fmt("%.1f", kLeft) + "\" y1=\"" + fmt("%.1f", py(yv)) + "\" x2=\"" +
           fmt("%.1f", kW - kRight) + "\" y2=\"" + fmt("%.1f", py(yv)) + "\" stroke=\"#eee\"/>\n";
    svg += "<text x=\"" + fmt("%.1f", kLeft - 6) + "\" y=\"" + fmt("%.1f", py(yv) + 4) +
           "\" font-size=\"11\" text-anchor=\"end\">" + fmt("%.2f", yv) + "</text>\n";
  }
  svg += "<text x=\"" + fmt("%.1f", (kLeft + kW - kRight) / 2) + "\" y=\"" + fmt("%.1f", kH - 12) +
         "\" font-size=\"12\" text-anchor=\"middle\">mean round-trip time per image, encode + decode (ms, " +
         std::to_string(s.size) + "&#215;" + std::to_string(s.size) + ")</text>\n";
  svg += "<text transform=\"rotate(-90)\" x=\"" + fmt("%.1f", -(kTop + kH - kBottom) / 2) +
         "\" y=\"16\" font-size=\"12\" text-anchor=\"middle\">mean PSNR vs original (dB)</text>\n";
  static const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
  for (size_t i = 0; i < means.size(); ++i) {
    const double x = px((means[i].encode + means[i].decode) * 1000), y = py(means[i].psnr);
    const char* color = kColors[i % 6];
    svg += "<circle cx=\"" + fmt("%.1f", x) + "\" cy=\"" + fmt("%.1f", y) + "\" r=\"6\" fill=\"" + color +
           "\"><title>" + escape(s.methods[i].method.name) + ": " +
           fmt("%.1f", (means[i].encode + means[i].decode) * 1000) + " ms, " + fmt("%.3f", means[i].psnr) +
           " dB</title></circle>\n";
    svg += "<text x=\"" + fmt("%.1f", x + 9) + "\" y=\"" + fmt("%.1f", y - 8 - 12.0 * (i % 2)) +
           "\" font-size=\"12\" fill=\"" + color + "\">" + escape(s.methods[i].method.name) + "</text>\n";
  }
  return svg + "</svg>\n";
}

const char* kStyle = R"(<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1600px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}
td.l,th.l{text-align:left}
.row{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
figure{margin:0}figcaption{font-size:12px;color:#444}
.previews{display:grid;gap:12px}
img.preview{width:100%;height:auto;border:1px solid #ccc;display:block}
img.crop{width:256px;height:256px;image-rendering:pixelated;border:1px solid #ccc}
.note{font-size:13px;color:#555}
</style>)";

// Marks <body> once every image has loaded (see the header).
const char* kScript = R"(<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images-loaded', String(ok));
  document.body.setAttribute('data-images-total', String(imgs.length));
});
</script>)";

}  // namespace

Status write_roundtrip_report(const RoundtripSummary& s, const std::string& html_path) {
  const fs::path dir(s.out_dir);
  const std::vector<MethodMeans> means = method_means(s);
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>taec round trip: " +
                  escape(s.variant) + " " + std::to_string(s.size) + "</title>\n" + kStyle + "\n" + kScript +
                  "\n</head>\n<body>\n";
  h += "<h1>taec round trip &mdash; " + escape(s.variant) + " at " + std::to_string(s.size) + "&#215;" +
       std::to_string(s.size) + "</h1>\n";
  h += "<p class=\"note\">Encoder <code>" + escape(s.encoder_source) + "</code>, decoder <code>" +
       escape(s.decoder_source) + "</code>; " + std::to_string(s.images.size()) + " images, each scaled to cover " +
       std::to_string(s.size) + "&#215;" + std::to_string(s.size) +
       " and center-cropped, then encoded and decoded by each method. Metrics on outputs clamped to [0,1]: PSNR "
       "with peak 1.0; SSIM with an 11&#215;11 Gaussian window (&sigma; 1.5), mean over R, G, B. Times: fastest of " +
       std::to_string(s.timing_runs) + " runs after a warm-up run, " +
       std::to_string(s.methods.empty() ? 0 : s.methods[0].threads) + " threads, " +
       (s.methods.empty() ? std::string() : escape(s.methods[0].isa)) + " (" + escape(s.machine_load) +
       "; a load above the core count means other work shared the CPU and times are inflated). Created " +
       escape(s.created_utc) + ".</p>\n";

  h += "<h2>Quality vs speed</h2>\n" + quality_speed_svg(s, means);
  h += "<h2>Methods (means over images)</h2>\n<table><tr><th class=\"l\">method</th><th class=\"l\">what</th>"
       "<th>PSNR dB</th><th>SSIM</th><th>PSNR vs fp32 dB</th><th>SSIM vs fp32</th><th>max |err| vs fp32</th>"
       "<th>encode ms</th><th>decode ms</th><th>decode speed-up vs fp32</th><th>vs bf16</th><th>weight.bin bytes</th>"
       "<th class=\"l\">kernels (encoder / decoder)</th></tr>\n";
  for (size_t i = 0; i < s.methods.size(); ++i) {
    const auto& m = s.methods[i];
    const MethodMeans& a = means[i];
    h += "<tr><td class=\"l\">" + escape(m.method.name) + "</td><td class=\"l\">" + escape(m.method.label) +
         "</td><td>" + fmt("%.2f", a.psnr) + "</td><td>" + fmt("%.4f", a.ssim) + "</td><td>" +
         fmt("%.2f", a.psnr_fp32) + "</td><td>" + fmt("%.5f", a.ssim_fp32) + "</td><td>" + fmt("%.4f", a.max_abs) +
         "</td><td>" + fmt("%.1f", a.encode * 1000) + "</td><td>" + fmt("%.1f", a.decode * 1000) + "</td><td>" +
         speedup_cell(s, i, "fp32") + "</td><td>" + speedup_cell(s, i, "bf16") + "</td><td>" +
         (m.weight_file_bytes ? std::to_string(m.weight_file_bytes) : "&ndash;") + "</td><td class=\"l\">" + escape(m.encoder_kernel) + " / " + escape(m.decoder_kernel) + "</td></tr>\n";
  }
  h += "</table>\n<h2>Per image</h2>\n<table><tr><th class=\"l\">image</th><th class=\"l\">method</th><th>PSNR dB</th>"
       "<th>SSIM</th><th>MAE</th><th>RMSE</th><th>max |err|</th><th>PSNR vs fp32 dB</th><th>SSIM vs fp32</th>"
       "<th>encode ms</th><th>decode ms</th></tr>\n";
  for (const auto& img : s.images) {
    for (size_t i = 0; i < img.methods.size(); ++i) {
      const MethodResult& r = img.methods[i];
      h += "<tr><td class=\"l\">" + escape(img.name) + "</td><td class=\"l\">" + escape(s.methods[i].method.name) +
           "</td><td>" + fmt("%.2f", r.vs_original.psnr_db) + "</td><td>" + fmt("%.4f", r.ssim_vs_original) +
           "</td><td>" + fmt("%.4f", r.vs_original.mae) + "</td><td>" + fmt("%.4f", r.vs_original.rmse) + "</td><td>" +
           fmt("%.3f", r.vs_original.max_abs) + "</td><td>" + fmt("%.2f", r.vs_fp32.psnr_db) + "</td><td>" +
           fmt("%.5f", r.ssim_vs_fp32) + "</td><td>" + fmt("%.1f", r.encode_seconds * 1000) + "</td><td>" +
           fmt("%.1f", r.decode_seconds * 1000) + "</td></tr>\n";
    }
  }
  h += "</table>\n";

  for (const auto& img : s.images) {
    TAEC_ASSIGN_OR_RETURN(RgbImage original, read_image((dir / img.original_png).string()));
    std::vector<RgbImage> outputs;
    for (const auto& r : img.methods) {
      TAEC_ASSIGN_OR_RETURN(RgbImage out, read_image((dir / r.png).string()));
      if (out.height != original.height || out.width != original.width) {
        return Status(Code::internal, r.png + ": size differs from " + img.original_png);
      }
      outputs.push_back(std::move(out));
    }
    h += "<h2>" + escape(img.name) + " <span class=\"note\">(" + escape(img.source) + ", " +
         std::to_string(img.source_width) + "&#215;" + std::to_string(img.source_height) + ")</span></h2>\n";
    // One grid row: original + every method side by side, scaled down together if the page is narrow.
    h += "<div class=\"previews\" style=\"grid-template-columns:repeat(" + std::to_string(outputs.size() + 1) +
         ", minmax(0, " + std::to_string(original_preview_width(original)) + "px))\">\n";
    const RgbImage original_preview = downscale_to_fit(original, kPreviewMaxSide);
    const std::string fig = "<figure>";
    TAEC_ASSIGN_OR_RETURN(std::string uri, png_data_uri(original_preview));
    h += fig + "<a href=\"" + escape(img.original_png) + "\"><img class=\"preview\" alt=\"" + escape(img.name) +
         " original\" src=\"" + uri + "\"></a><figcaption>original (fitted input)</figcaption></figure>\n";
    for (size_t i = 0; i < outputs.size(); ++i) {
      const MethodResult& r = img.methods[i];
      TAEC_ASSIGN_OR_RETURN(uri, png_data_uri(downscale_to_fit(outputs[i], kPreviewMaxSide)));
      h += fig + "<a href=\"" + escape(r.png) + "\"><img class=\"preview\" alt=\"" + escape(img.name) + " " +
           escape(s.methods[i].method.name) + "\" src=\"" + uri + "\"></a><figcaption><b>" +
           escape(s.methods[i].method.name) + "</b>: PSNR " + fmt("%.2f", r.vs_original.psnr_db) + " dB, SSIM " +
           fmt("%.4f", r.ssim_vs_original) + "; vs fp32 " + fmt("%.2f", r.vs_fp32.psnr_db) +
           " dB</figcaption></figure>\n";
    }
    h += "</div>\n";
    const int side = std::min({kCropSide, original.height, original.width});
    const auto [cy, cx] = worst_window(original, outputs, side);
    h += "<p class=\"note\">1:1 crop at x " + std::to_string(cx) + ", y " + std::to_string(cy) + " (" +
         std::to_string(side) + "&#215;" + std::to_string(side) +
         " px, where the methods differ most from the original), shown at 2&#215; with nearest-neighbour "
         "scaling; below each, |method &minus; original| &#215;" +
         fmt("%.0f", kErrorGain) + " per channel.</p>\n";
    h += "<div class=\"row\">\n";
    const RgbImage original_crop = crop(original, cy, cx, side, side);
    TAEC_ASSIGN_OR_RETURN(uri, png_data_uri(original_crop));
    h += "<figure><img class=\"crop\" alt=\"" + escape(img.name) + " original crop\" src=\"" + uri +
         "\"><figcaption>original</figcaption></figure>\n";
    for (size_t i = 0; i < outputs.size(); ++i) {
      const RgbImage c = crop(outputs[i], cy, cx, side, side);
      TAEC_ASSIGN_OR_RETURN(uri, png_data_uri(c));
      TAEC_ASSIGN_OR_RETURN(std::string err_uri, png_data_uri(error_map(c, original_crop)));
      h += "<figure><img class=\"crop\" alt=\"" + escape(img.name) + " " + escape(s.methods[i].method.name) +
           " crop\" src=\"" + uri + "\"><br><img class=\"crop\" alt=\"" + escape(img.name) + " " +
           escape(s.methods[i].method.name) + " error\" src=\"" + err_uri + "\"><figcaption>" +
           escape(s.methods[i].method.name) + "</figcaption></figure>\n";
    }
    h += "</div>\n";
  }
  h += "</body></html>\n";
  return write_output_file(html_path, h.data(), h.size());
}

}  // namespace taec

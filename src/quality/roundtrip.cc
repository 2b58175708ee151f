#include "quality/roundtrip.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "base/file_util.h"
#include "package/pack.h"
#include "quality/calibrate.h"
#include "quality/validate.h"
#include "quality/image_prep.h"
#include "quality/report_html.h"

namespace taec {
namespace {

namespace fs = std::filesystem;

struct MethodPlans {
  std::unique_ptr<Plan> encoder, decoder;
};

Result<std::unique_ptr<Plan>> compile_for(std::shared_ptr<const Model> model, Precision precision, int size, int threads,
                                          std::shared_ptr<const ActivationCalibration> calibration = nullptr) {
  PlanOptions o;
  o.image_height = size;
  o.image_width = size;
  o.precision = precision;
  o.threads = threads;
  o.calibration = std::move(calibration);
  return compile_plan(std::move(model), o);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// [3,H,W] -> [H,W,3] for the PNG writer.
std::vector<float> chw_to_hwc(const std::vector<float>& chw, int height, int width) {
  const size_t plane = static_cast<size_t>(height) * width;
  std::vector<float> hwc(chw.size());
  for (size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < 3; ++c) hwc[3 * i + c] = chw[c * plane + i];
  }
  return hwc;
}

Status write_png_chw(const std::string& path, const std::vector<float>& chw, int height, int width) {
  const std::vector<float> hwc = chw_to_hwc(chw, height, width);
  return write_png_hwc(path, hwc.data(), height, width);
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json stats_json(const ErrorStats& e, double ssim_value) {
  auto num = [](double v) -> nlohmann::json {
    if (std::isnan(v)) return nullptr;
    if (std::isinf(v)) return "inf";
    return v;
  };
  return {{"max_abs", num(e.max_abs)},
          {"mae", num(e.mae)},
          {"rmse", num(e.rmse)},
          {"psnr_db", num(e.psnr_db)},
          {"ssim", num(ssim_value)}};
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// Cores and the 1-minute load average (Linux /proc/loadavg; "?" elsewhere).
std::string load_average() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  double one = -1;
  if (f != nullptr) {
    if (std::fscanf(f, "%lf", &one) != 1) one = -1;
    std::fclose(f);
  }
  return one < 0 ? "?" : fmt("%.2f", one);
}

}  // namespace

const std::vector<RoundtripMethod>& roundtrip_methods() {
  static const std::vector<RoundtripMethod> kMethods = {
      {"fp32", "compiled fp32 (encoder and decoder)", Precision::fp32},
      {"bf16", "FP16-class: decoder bf16 Winograd products; encoder kept fp32 (docs/ENGINE.md)", Precision::bf16},
      {"reference", "plain fp32 reference kernels (slow oracle)", Precision::reference},
      {"palette8", "8-bit palettized weights (one k-means LUT per tensor), bf16 compute", Precision::bf16, WeightQuant::palette8},
      {"palette4", "4-bit palettized weights (one k-means LUT per output channel), bf16 compute", Precision::bf16,
       WeightQuant::palette4},
      {"int8w", "int8 weights (per output channel, symmetric), bf16 compute", Precision::bf16, WeightQuant::int8},
      {"int8", "int8 weights and activations (u8 x s8, AVX512_VNNI), calibrated on these photos at 512x512", Precision::int8,
       WeightQuant::int8},
  };
  return kMethods;
}

Result<std::vector<RoundtripMethod>> parse_roundtrip_methods(const std::string& list) {
  if (list == "all") return roundtrip_methods();
  if (list == "quant") return parse_roundtrip_methods("fp32,bf16,palette8,palette4,int8w,int8");
  std::vector<RoundtripMethod> methods;
  std::stringstream in(list);
  std::string name;
  while (std::getline(in, name, ',')) {
    if (name.empty()) continue;
    const RoundtripMethod* found = nullptr;
    std::string known;
    for (const auto& m : roundtrip_methods()) {
      if (m.name == name) found = &m;
      known += (known.empty() ? "" : ", ") + m.name;
    }
    if (found == nullptr) {
      return Status(Code::invalid_argument, "unknown method '" + name + "'; known: " + known + " (or all)");
    }
    bool dup = false;
    for (const auto& m : methods) dup = dup || m.name == name;
    if (!dup) methods.push_back(*found);
  }
  if (methods.empty()) return Status(Code::invalid_argument, "no methods given");
  return methods;
}

Result<RoundtripSummary> run_roundtrip(std::shared_ptr<const Model> encoder, std::shared_ptr<const Model> decoder,
                                       const std::vector<std::string>& image_paths, const RoundtripOptions& options) {
  if (encoder->role != Role::encoder || decoder->role != Role::decoder) {
    return Status(Code::invalid_argument, "round trip needs an encoder and a decoder");
  }
  if (encoder->latent_channels != decoder->latent_channels) {
    return Status(Code::invalid_argument, "encoder (" + encoder->variant + ", " +
                                              std::to_string(encoder->latent_channels) + " channels) and decoder (" +
                                              decoder->variant + ", " + std::to_string(decoder->latent_channels) +
                                              " channels) do not belong together");
  }
  if (options.size <= 0 || options.size % decoder->spatial_factor != 0) {
    return Status(Code::invalid_argument, "round-trip size " + std::to_string(options.size) +
                                              " must be a positive multiple of " +
                                              std::to_string(decoder->spatial_factor));
  }
  if (image_paths.empty()) return Status(Code::invalid_argument, "no images to round-trip");
  auto say = [&](const std::string& line) {
    if (options.progress) options.progress(line);
  };

  RoundtripSummary summary;
  summary.variant = decoder->variant;
  summary.encoder_source = encoder->source_path;
  summary.decoder_source = decoder->source_path;
  summary.size = options.size;
  summary.timing_runs = std::max(1, options.timing_runs);
  summary.out_dir = options.out_dir;
  summary.created_utc = utc_now();

  std::vector<RoundtripMethod> methods = options.methods;
  if (methods.empty() || methods.front().name != "fp32") {
    std::erase_if(methods, [](const RoundtripMethod& m) { return m.name == "fp32"; });
    methods.insert(methods.begin(), roundtrip_methods().front());
  }

  std::error_code ec;
  fs::create_directories(fs::path(options.out_dir) / "original", ec);
  if (ec) return Status(Code::io, options.out_dir + ": cannot create folder: " + ec.message());

  const int n = options.size;
  std::vector<MethodPlans> plans;
  for (const RoundtripMethod& m : methods) {
    say("compiling " + m.name + " plans for " + std::to_string(n) + "x" + std::to_string(n));
    MethodPlans p;
    RoundtripMethodInfo info{m, "", "", "", 0, m.package_weight_bytes, ""};
    if (m.decoder_plan) {
      TAEC_ASSIGN_OR_RETURN(p.encoder, compile_for(encoder, Precision::fp32, n, options.threads));
      TAEC_ASSIGN_OR_RETURN(p.decoder, m.decoder_plan(n, options.threads));
    } else {
      std::shared_ptr<const Model> dec = decoder;
      if (m.weights != WeightQuant::none) {
        TAEC_ASSIGN_OR_RETURN(dec, with_quantized_weights(*decoder, m.weights));
      }
      TAEC_ASSIGN_OR_RETURN(info.weight_file_bytes, weight_file_bytes(*decoder, m.weights));
      std::shared_ptr<const ActivationCalibration> cal;
      if (m.precision == Precision::int8) {
        say("calibrating int8 activations on " + std::to_string(image_paths.size()) + " photos");
        TAEC_ASSIGN_OR_RETURN(ActivationCalibration c,
                              calibrate_on_photos(dec, *encoder, image_paths, kDefaultCalibrationSize, options.threads));
        info.calibration = c.inputs;
        cal = std::make_shared<const ActivationCalibration>(std::move(c));
      }
      const Precision encoder_precision = m.precision == Precision::int8 ? Precision::fp32 : m.precision;
      TAEC_ASSIGN_OR_RETURN(p.encoder, compile_for(encoder, encoder_precision, n, options.threads));
      TAEC_ASSIGN_OR_RETURN(p.decoder, compile_for(dec, m.precision, n, options.threads, cal));
    }
    // Warm-up run (first-touch page faults, caches) so the timed runs measure the steady state.
    std::vector<float> image(p.encoder->shapes().input_elems(), 0.5f), latent(p.encoder->shapes().output_elems());
    std::vector<float> decoded(p.decoder->shapes().output_elems());
    TAEC_RETURN_IF_ERROR(p.encoder->run(image.data(), latent.data()));
    TAEC_RETURN_IF_ERROR(p.decoder->run(latent.data(), decoded.data()));
    const PlanStats es = p.encoder->stats(), ds = p.decoder->stats();
    info.encoder_kernel = es.kernel;
    info.decoder_kernel = ds.kernel;
    info.isa = ds.isa;
    info.threads = ds.threads;
    summary.methods.push_back(std::move(info));
    fs::create_directories(fs::path(options.out_dir) / m.name, ec);
    if (ec) return Status(Code::io, options.out_dir + "/" + m.name + ": cannot create folder: " + ec.message());
    plans.push_back(std::move(p));
  }

  const std::string load_before = load_average();
  const size_t total_steps = image_paths.size() * methods.size();
  size_t step = 0;
  for (const std::string& path : image_paths) {
    TAEC_ASSIGN_OR_RETURN(RgbImage source, read_image(path));
    RoundtripImage result;
    result.name = fs::path(path).stem().string();
    result.source = path;
    result.source_height = source.height;
    result.source_width = source.width;
    const RgbImage fitted = resize_cover_crop(source, n, n);
    result.original_png = "original/" + result.name + ".png";
    TAEC_RETURN_IF_ERROR(write_png_chw((fs::path(options.out_dir) / result.original_png).string(), fitted.chw, n, n));

    std::vector<float> fp32_decoded;
    for (size_t mi = 0; mi < methods.size(); ++mi) {
      MethodPlans& p = plans[mi];
      std::vector<float> latent(p.encoder->shapes().output_elems()), decoded(p.decoder->shapes().output_elems());
      // Plans are deterministic, so every run yields the same output; the fastest run is the
      // least disturbed by whatever else the machine is doing.
      MethodResult r;
      r.encode_seconds = r.decode_seconds = std::numeric_limits<double>::infinity();
      for (int run = 0; run < summary.timing_runs; ++run) {
        auto t0 = std::chrono::steady_clock::now();
        Status s = p.encoder->run(fitted.chw.data(), latent.data());
        if (!s.ok()) return s.with_context("encoding " + path + " (" + methods[mi].name + ")");
        r.encode_seconds = std::min(r.encode_seconds, seconds_since(t0));
      }
      for (int run = 0; run < summary.timing_runs; ++run) {
        auto t0 = std::chrono::steady_clock::now();
        Status s = p.decoder->run(latent.data(), decoded.data());
        if (!s.ok()) return s.with_context("decoding " + path + " (" + methods[mi].name + ")");
        r.decode_seconds = std::min(r.decode_seconds, seconds_since(t0));
      }
      // Metrics on what a saved PNG holds: [0,1] (8-bit rounding aside).
      r.vs_original = compare_buffers(decoded.data(), fitted.chw.data(), decoded.size(), true);
      r.ssim_vs_original = ssim(decoded.data(), fitted.chw.data(), 3, n, n);
      if (mi == 0) fp32_decoded = decoded;
      r.vs_fp32 = compare_buffers(decoded.data(), fp32_decoded.data(), decoded.size(), true);
      r.ssim_vs_fp32 = ssim(decoded.data(), fp32_decoded.data(), 3, n, n);
      r.png = methods[mi].name + "/" + result.name + ".png";
      TAEC_RETURN_IF_ERROR(write_png_chw((fs::path(options.out_dir) / r.png).string(), decoded, n, n));
      ++step;
      char line[512];
      std::snprintf(line, sizeof line, "[%zu/%zu] %s %s: encode %.3f s, decode %.3f s, PSNR %.2f dB, SSIM %.4f", step,
                    total_steps, result.name.c_str(), methods[mi].name.c_str(), r.encode_seconds, r.decode_seconds,
                    r.vs_original.psnr_db, r.ssim_vs_original);
      std::string progress_line = line;
      if (mi > 0) progress_line += ", vs fp32 PSNR " + fmt("%.2f", r.vs_fp32.psnr_db) + " dB";
      say(progress_line);
      result.methods.push_back(r);
    }
    summary.images.push_back(std::move(result));
  }

  summary.machine_load = std::to_string(std::thread::hardware_concurrency()) + " cores, load average " + load_before +
                         " before / " + load_average() + " after";
  const std::string json = roundtrip_json(summary);
  TAEC_RETURN_IF_ERROR(
      write_output_file((fs::path(options.out_dir) / "summary.json").string(), json.data(), json.size()));
  say("writing report.html");
  TAEC_RETURN_IF_ERROR(write_roundtrip_report(summary, (fs::path(options.out_dir) / "report.html").string()));
  return summary;
}

std::string roundtrip_json(const RoundtripSummary& s) {
  nlohmann::json j;
  j["variant"] = s.variant;
  j["encoder"] = s.encoder_source;
  j["decoder"] = s.decoder_source;
  j["size"] = s.size;
  j["machine_load"] = s.machine_load;
  j["timing"] = "seconds per image: fastest of " + std::to_string(s.timing_runs) + " runs after a warm-up run";
  j["created_utc"] = s.created_utc;
  j["image_range"] =
      "[0,1]; metrics on outputs clamped to [0,1]; PSNR peak 1.0; SSIM Gaussian 11x11 sigma 1.5, "
      "mean over RGB channels";
  j["methods"] = nlohmann::json::array();
  for (const auto& m : s.methods) {
    j["methods"].push_back({{"name", m.method.name},
                            {"label", m.method.label},
                            {"precision", precision_name(m.method.precision)},
                            {"weights", weight_quant_name(m.method.weights)},
                            {"weight_file_bytes", m.weight_file_bytes},
                            {"calibration", m.calibration},
                            {"encoder_kernel", m.encoder_kernel},
                            {"decoder_kernel", m.decoder_kernel},
                            {"isa", m.isa},
                            {"threads", m.threads}});
  }
  j["images"] = nlohmann::json::array();
  for (const auto& img : s.images) {
    nlohmann::json ji = {{"name", img.name},
                         {"source", img.source},
                         {"source_size", {img.source_width, img.source_height}},
                         {"original_png", img.original_png}};
    ji["methods"] = nlohmann::json::object();
    for (size_t i = 0; i < img.methods.size(); ++i) {
      const MethodResult& r = img.methods[i];
      ji["methods"][s.methods[i].method.name] = {{"png", r.png},
                                                 {"encode_seconds", r.encode_seconds},
                                                 {"decode_seconds", r.decode_seconds},
                                                 {"vs_original", stats_json(r.vs_original, r.ssim_vs_original)},
                                                 {"vs_fp32", stats_json(r.vs_fp32, r.ssim_vs_fp32)}};
    }
    j["images"].push_back(ji);
  }
  return j.dump(2) + "\n";
}

MethodResult roundtrip_method_mean(const RoundtripSummary& s, size_t i) {
  MethodResult mean;
  double psnr = 0, psnr_fp32 = 0;
  bool fp32_inf = false;
  for (const auto& img : s.images) {
    const MethodResult& r = img.methods[i];
    psnr += r.vs_original.psnr_db;
    if (std::isinf(r.vs_fp32.psnr_db))
      fp32_inf = true;
    else
      psnr_fp32 += r.vs_fp32.psnr_db;
    mean.ssim_vs_original += r.ssim_vs_original;
    mean.ssim_vs_fp32 += r.ssim_vs_fp32;
    mean.vs_original.mae += r.vs_original.mae;
    mean.vs_original.rmse += r.vs_original.rmse;
    mean.vs_original.max_abs = std::max(mean.vs_original.max_abs, r.vs_original.max_abs);
    mean.vs_fp32.max_abs = std::max(mean.vs_fp32.max_abs, r.vs_fp32.max_abs);
    mean.encode_seconds += r.encode_seconds;
    mean.decode_seconds += r.decode_seconds;
  }
  const double k = static_cast<double>(s.images.size());
  mean.vs_original.psnr_db = psnr / k;
  mean.vs_fp32.psnr_db = fp32_inf ? INFINITY : psnr_fp32 / k;
  mean.ssim_vs_original /= k;
  mean.ssim_vs_fp32 /= k;
  mean.vs_original.mae /= k;
  mean.vs_original.rmse /= k;
  mean.encode_seconds /= k;
  mean.decode_seconds /= k;
  return mean;
}

double roundtrip_speedup(const RoundtripSummary& s, size_t i, const std::string& baseline) {
  for (size_t b = 0; b < s.methods.size(); ++b) {
    if (s.methods[b].method.name == baseline) return roundtrip_method_mean(s, b).decode_seconds / roundtrip_method_mean(s, i).decode_seconds;
  }
  return 0;
}

std::string roundtrip_method_table(const RoundtripSummary& s) {
  if (s.images.empty()) return "";
  std::string t = "| method | decode s | speed-up vs fp32 | vs bf16 | weight.bin bytes | PSNR dB | SSIM | PSNR vs fp32 dB | SSIM vs fp32 |\n"
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (size_t i = 0; i < s.methods.size(); ++i) {
    const MethodResult m = roundtrip_method_mean(s, i);
    const uint64_t bytes = s.methods[i].weight_file_bytes;
    const double vs_fp32 = roundtrip_speedup(s, i, "fp32"), vs_bf16 = roundtrip_speedup(s, i, "bf16");
    t += "| " + s.methods[i].method.name + " | " + fmt("%.3f", m.decode_seconds) + " | " +
         (vs_fp32 > 0 ? fmt("%.2fx", vs_fp32) : "-") + " | " + (vs_bf16 > 0 ? fmt("%.2fx", vs_bf16) : "-") +
         " | " + (bytes ? std::to_string(bytes) : "-") + " | " + fmt("%.2f", m.vs_original.psnr_db) + " | " + fmt("%.4f", m.ssim_vs_original) +
         " | " + fmt("%.2f", m.vs_fp32.psnr_db) + " | " + fmt("%.5f", m.ssim_vs_fp32) + " |\n";
  }
  return t;
}

std::string roundtrip_table(const RoundtripSummary& s) {
  std::string t =
      "| image | method | PSNR dB | SSIM | MAE | RMSE | max abs | PSNR vs fp32 dB | SSIM vs fp32 | encode s | "
      "decode s |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  auto row = [&](const std::string& image, const std::string& method, const MethodResult& r) {
    t += "| " + image + " | " + method + " | " + fmt("%.2f", r.vs_original.psnr_db) + " | " +
         fmt("%.4f", r.ssim_vs_original) + " | " + fmt("%.4f", r.vs_original.mae) + " | " +
         fmt("%.4f", r.vs_original.rmse) + " | " + fmt("%.3f", r.vs_original.max_abs) + " | " +
         fmt("%.2f", r.vs_fp32.psnr_db) + " | " + fmt("%.5f", r.ssim_vs_fp32) + " | " + fmt("%.3f", r.encode_seconds) +
         " | " + fmt("%.3f", r.decode_seconds) + " |\n";
  };
  for (const auto& img : s.images) {
    for (size_t i = 0; i < img.methods.size(); ++i) row(img.name, s.methods[i].method.name, img.methods[i]);
  }
  for (size_t i = 0; i < s.methods.size(); ++i) row("**mean**", "**" + s.methods[i].method.name + "**", roundtrip_method_mean(s, i));
  return t;
}

}  // namespace taec

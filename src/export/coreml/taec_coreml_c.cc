// The C ABI of the Core ML export (include/taec/taec_coreml.h). No exception crosses this file.
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "export/coreml/exporter.h"
#include "taec/taec_coreml.h"

namespace {

thread_local std::string g_last_error;

taec_status report_status(const taec::Status& status) {
  g_last_error = status.ok() ? "" : status.message();
  return static_cast<taec_status>(status.code());
}

taec_status invalid(const std::string& message) {
  return report_status(taec::Status(taec::Code::invalid_argument, message));
}

char* copy_text(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out == nullptr) throw std::bad_alloc();
  std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

taec_status run(const char* weights_path, const taec_coreml_options* options, char** report) {
  if (weights_path == nullptr || options == nullptr) return invalid("weights_path and options must not be NULL");
  if (options->sizes == nullptr || options->size_count == 0) return invalid("no image sizes given");
  int layout, io, packaging, state;  // read as ints: a C caller may store anything in an enum field
  std::memcpy(&state, &options->state_style, sizeof state);
  std::memcpy(&layout, &options->layout, sizeof layout);
  std::memcpy(&io, &options->io_dtype, sizeof io);
  std::memcpy(&packaging, &options->packaging, sizeof packaging);
  if ((layout != TAEC_LAYOUT_NCHW && layout != TAEC_LAYOUT_NHWC) || (io != TAEC_DTYPE_F16 && io != TAEC_DTYPE_F32) ||
      packaging < TAEC_COREML_PER_SIZE || packaging > TAEC_COREML_ENUMERATED) {
    return invalid("options: layout, io_dtype or packaging out of range");
  }
  if (state != TAEC_COREML_STATE_TENSORS && state != TAEC_COREML_STATE_STATEFUL) return invalid("options: state_style out of range");
  taec::coreml::ExportOptions o;
  for (size_t i = 0; i < options->size_count; ++i) o.sizes.push_back({options->sizes[2 * i], options->sizes[2 * i + 1]});
  o.lowering.nhwc = layout == TAEC_LAYOUT_NHWC;
  o.lowering.fp32_io = io == TAEC_DTYPE_F32;
  o.packaging = static_cast<taec::coreml::Packaging>(packaging);
  auto weights = taec::coreml::parse_weight_compression(options->weights ? options->weights : "none");
  if (!weights.ok()) return invalid("options: " + weights.status().message());
  o.weights = *weights;
  o.video.chunk_latents = options->chunk_latents;
  o.video.state = state == TAEC_COREML_STATE_STATEFUL ? taec::coreml::StateStyle::stateful : taec::coreml::StateStyle::tensors;
  const std::string variant = options->variant ? options->variant : "";
  std::string text;
  if (options->print_mil) {
    auto mil = taec::coreml::coreml_mil_text(weights_path, variant, o);
    if (!mil.ok()) return report_status(mil.status());
    text = std::move(mil).value();
  } else {
    if (options->out_dir == nullptr || options->out_dir[0] == '\0') return invalid("out_dir must be set");
    auto written = taec::coreml::export_coreml(weights_path, variant, o, options->out_dir);
    if (!written.ok()) return report_status(written.status());
    for (const auto& p : *written) {
      text += p.path + "\t" + std::to_string(p.total_bytes) + "\t" + p.weight_sha256 + "\t" + p.summary + "\n";
    }
  }
  if (report != nullptr) *report = copy_text(text);
  return report_status(taec::ok_status());
}

}  // namespace

void taec_coreml_options_init(taec_coreml_options* options) {
  if (options == nullptr) return;
  std::memset(options, 0, sizeof *options);
  options->layout = TAEC_LAYOUT_NHWC;
  options->io_dtype = TAEC_DTYPE_F16;
  options->packaging = TAEC_COREML_PER_SIZE;
  options->chunk_latents = 1;
  options->state_style = TAEC_COREML_STATE_TENSORS;
}

taec_status taec_coreml_export(const char* weights_path, const taec_coreml_options* options, char** report) {
  if (report != nullptr) *report = nullptr;
  try {
    return run(weights_path, options, report);
  } catch (const std::bad_alloc&) {
    return report_status(taec::Status(taec::Code::out_of_memory, "out of memory"));
  } catch (const std::exception& e) {
    return report_status(taec::Status(taec::Code::internal, std::string("internal error: ") + e.what()));
  }
}

const char* taec_coreml_last_error(void) { return g_last_error.c_str(); }

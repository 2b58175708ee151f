#include "plan/conv_choice.h"

#include <cstdlib>

namespace taec {
namespace {

constexpr ConvAlgo kAlgos[] = {ConvAlgo::direct, ConvAlgo::winograd_f4, ConvAlgo::winograd_f6, ConvAlgo::winograd_f4_bf16};
constexpr TuneMode kModes[] = {TuneMode::off, TuneMode::fast, TuneMode::full};

}  // namespace

const char* conv_algo_name(ConvAlgo algo) {
  switch (algo) {
    case ConvAlgo::direct: return "direct";
    case ConvAlgo::winograd_f4: return "winograd_f4";
    case ConvAlgo::winograd_f6: return "winograd_f6";
    case ConvAlgo::winograd_f4_bf16: return "winograd_f4_bf16";
  }
  return "?";
}

bool parse_conv_algo(const std::string& name, ConvAlgo* out) {
  for (ConvAlgo a : kAlgos) {
    if (name == conv_algo_name(a)) {
      *out = a;
      return true;
    }
  }
  return false;
}

std::string conv_algo_names() {
  std::string out;
  for (ConvAlgo a : kAlgos) out += (out.empty() ? "" : ", ") + std::string(conv_algo_name(a));
  return out;
}

const char* tune_mode_name(TuneMode mode) {
  switch (mode) {
    case TuneMode::off: return "off";
    case TuneMode::fast: return "fast";
    case TuneMode::full: return "full";
  }
  return "?";
}

bool parse_tune_mode(const std::string& name, TuneMode* out) {
  for (TuneMode m : kModes) {
    if (name == tune_mode_name(m)) {
      *out = m;
      return true;
    }
  }
  return false;
}

TuneMode default_tune_mode() {
  TuneMode m = TuneMode::fast;
  const char* env = std::getenv("TAEC_TUNE");
  if (env != nullptr) parse_tune_mode(env, &m);
  return m;
}

}  // namespace taec

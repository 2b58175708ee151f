// What the C API's opaque handles hold, shared by the translation units that implement the C
// API (taec_c.cc, taec_quality_c.cc), and the one place that records a status as the calling
// thread's taec_last_error().
#pragma once

#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <string>

#include "base/status.h"
#include "graph/model.h"
#include "package/package.h"
#include "plan/calibration.h"
#include "plan/plan.h"
#include "plan/stream.h"
#include "taec/taec.h"

struct taec_model {
  std::shared_ptr<const taec::Model> model;
};

struct taec_package {
  std::shared_ptr<taec::Package> package;
};

struct taec_calibration {
  std::shared_ptr<const taec::ActivationCalibration> calibration;
  std::string description;
};

struct taec_plan {
  std::unique_ptr<taec::Plan> plan;
  taec::PlanStats stats;  // backs the strings handed out by the stats/profile getters
};

struct taec_stream {
  std::unique_ptr<taec::Stream> stream;
  const taec_plan* plan = nullptr;  // borrowed: for the shape checks of taec_stream_push_shaped
};

namespace taec {
// A checked taec_tune (one_of) as the engine's mode; TAEC_TUNE_DEFAULT is $TAEC_TUNE or fast.
inline TuneMode tune_mode_of(taec_tune t) {
  return t == TAEC_TUNE_OFF ? TuneMode::off : t == TAEC_TUNE_FAST ? TuneMode::fast : t == TAEC_TUNE_FULL ? TuneMode::full : default_tune_mode();
}

// Sets taec_last_error() to the status's message ("" for ok) and returns its code.
taec_status report_c_status(const Status& status);

namespace c_api {

inline taec_status report(const Status& status) { return report_c_status(status); }
inline taec_status invalid(const std::string& message) { return report(Status(Code::invalid_argument, message)); }

// Runs body, mapping allocation failure and any stray exception to a status: no exception
// crosses the C ABI.
// `what` names the file or task in the message ("latent.npy: out of memory").
template <typename F>
taec_status guarded(const std::string& what, F&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return report(Status(Code::out_of_memory, what.empty() ? "out of memory" : what + ": out of memory"));
  } catch (const std::exception& e) {
    return report(Status(Code::internal, std::string("internal error") + (what.empty() ? "" : " (" + what + ")") + ": " + e.what()));
  }
}
template <typename F>
taec_status guarded(F&& body) {
  return guarded(std::string(), std::forward<F>(body));
}

// A C caller may store any int in an enum field; loading an out-of-range value as the C++ enum
// type is undefined behaviour, so fields are validated through their integer representation.
template <typename E>
int raw(const E& value) {
  static_assert(sizeof(E) == sizeof(int));
  int v;
  std::memcpy(&v, &value, sizeof v);
  return v;
}

template <typename E>
bool one_of(const E& value, std::initializer_list<int> allowed) {
  const int v = raw(value);
  for (int a : allowed) {
    if (v == a) return true;
  }
  return false;
}

}  // namespace c_api
}  // namespace taec

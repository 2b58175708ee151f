// Reading a package: verify every file, and load plans that share one copy of the weights.
//
// Package::open reads manifest.json, maps weight.bin once, checks its SHA-256 against the
// manifest and builds the model from it. load_plan(h, w) reads that size's plan file (hash
// checked), checks it refers to this weight.bin and this model, and compiles it against the
// package's packed-weight cache: every size loaded from one Package shares one copy of the
// packed weights, so each further size costs only its activation arena.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "package/package_format.h"
#include "package/package_store.h"
#include "plan/plan.h"

namespace taec {

struct PackagePlanOptions {
  int threads = 0;
  MemoryMode memory = MemoryMode::banded;
  NonfinitePolicy nonfinite = NonfinitePolicy::reject;
  // Banded, in one activation arena shared by every plan of this package loaded with this flag
  // and sized for the package's largest size: all sizes loaded cost the memory of the largest
  // one. Runs of those plans are serialized (one at a time).
  bool share_arena = false;
};

class Package {
 public:
  static Result<std::shared_ptr<Package>> open(const std::string& path);

  const std::string& path() const { return store_->path(); }
  const Manifest& manifest() const { return manifest_; }
  const std::shared_ptr<const Model>& model() const { return model_; }
  uint64_t weight_file_bytes() const { return manifest_.files.at(kWeightFileName).bytes; }
  size_t packed_weight_bytes() const { return cache_->bytes(); }

  // The plan for one of the listed sizes. Its notes (e.g. this CPU lowers a different program
  // than the one validated at pack time, and why) go into the plan's stats isa_note.
  Result<std::unique_ptr<Plan>> load_plan(int height, int width, const PackagePlanOptions& options);

 private:
  std::unique_ptr<PackageStore> store_;
  Manifest manifest_;
  std::shared_ptr<const Model> model_;
  std::shared_ptr<PackedWeightCache> cache_;
  std::shared_ptr<float> arena_;  // shared by plans loaded with share_arena, made at first use
  size_t arena_floats_ = 0;
  std::shared_ptr<std::mutex> arena_mutex_;

  Status make_shared_arena();
  Result<PlanFile> read_plan_file(const ManifestPlan& listed) const;  // read, parsed, checked against the manifest
  PlanOptions plan_options(const PlanFile& pf, const PackagePlanOptions& options) const;
};

// Bytes of stream state (the previous frame of every MemBlock input) a video plan of `model` at
// height x width holds between steps, from the model alone (no compile); 0 for image models.
Result<uint64_t> video_state_bytes(const Model& model, int height, int width);

// One line of `taec verify`: a file and what was found.
struct FileVerdict {
  std::string file;
  bool ok = false;
  std::string detail;  // "sha256 ok, 2.6 MB" or what is wrong
};

// Checks everything a loader relies on, file by file: the manifest parses and its versions are
// supported; every listed file exists, is a regular file, has the listed size and SHA-256;
// nothing unlisted is present; weight.bin parses and builds the listed model; each plan file
// parses, matches its size and the package's options, and refers to this weight.bin. Returns the
// verdicts (an unreadable package gives one failing verdict naming it).
std::vector<FileVerdict> verify_package(const std::string& path);

// Whether a pack may replace what is at `out`: nothing, an empty directory, or a taec package
// that verifies (a directory; with `zip`, a zip file). Anything else — a user's directory, a
// file, a link, a package that fails verification — is refused, naming the path and why.
Status check_replaceable_package(const std::string& out, bool zip);

}  // namespace taec

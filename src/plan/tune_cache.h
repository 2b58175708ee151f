// The persistent record of measured conv choices, so a second compile of the same convs on the
// same machine measures nothing.
//
// One JSON file (docs/ENGINE.md "Measured kernel choice"): $TAEC_TUNE_CACHE, else
// tune-cache.json in taec's cache directory ($TAEC_CACHE_DIR, $XDG_CACHE_HOME/taec,
// ~/.cache/taec). Entries are grouped by machine — CPU model, taec version and kernel set — and
// keyed by the conv's shape and candidates, never by model or image size, so every plan with
// that conv shares them. Writers hold an flock on `<file>.lock`, re-read the file and keep the
// entries already there (the first measurement wins), so processes compiling at once agree, and
// write atomically. A file that is not a tune cache is never written over: tuning then stays in
// memory and says so.
#pragma once

#include <map>
#include <string>

#include "plan/conv_choice.h"

namespace taec {

struct TuneEntry {
  ConvAlgo algo = ConvAlgo::direct;
  TuneMode mode = TuneMode::fast;          // how it was measured
  std::map<std::string, double> ms;        // per candidate name, median of the runs
};

using TuneEntries = std::map<std::string, TuneEntry>;  // conv key -> entry

std::string tune_cache_path();  // "" when there is no cache directory

// Entries for `machine` known to this process or in the cache file. `note` gets a problem with
// the file (unreadable, not a tune cache) if there is one.
TuneEntries tune_cache_lookup(const std::string& machine, std::string* note);

// Adds `measured` for `machine`: entries already recorded (by another process meanwhile) are
// kept unless they are fast ones replaced by full ones. Returns the entries in force afterwards
// for the keys of `measured`.
TuneEntries tune_cache_record(const std::string& machine, const TuneEntries& measured, std::string* note);

}  // namespace taec

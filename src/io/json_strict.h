// The one way taec parses JSON from a file (safetensors headers, package manifests and plan
// files, Core ML manifests): bounded size, bounded nesting, no duplicate keys.
//
// Nesting is checked by a scan of the bytes before nlohmann::json sees them: its error paths and
// destructor recurse, so a value nested 100,000 deep would overflow the stack. Duplicate keys are
// refused because nlohmann keeps the last one silently, so two readers of one file (taec and, say,
// Python's json) could see different values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace taec {

// Deep enough for every format taec reads (a manifest nests 5 levels), far below a stack risk.
inline constexpr int kMaxJsonDepth = 64;

// `what` names the file in messages. The top-level value must be an object.
Result<nlohmann::json> parse_json_object(const std::string& what, const uint8_t* data, size_t size, size_t max_bytes);

}  // namespace taec

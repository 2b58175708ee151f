#include "io/json_strict.h"

#include <set>
#include <vector>

#include "base/text.h"

namespace taec {
namespace {

// Deepest [ / { nesting outside strings, stopping as soon as it passes `limit`.
int nesting_depth(const uint8_t* data, size_t size, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < size; ++i) {
    const uint8_t c = data[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

Result<nlohmann::json> parse_json_object(const std::string& what, const uint8_t* data, size_t size, size_t max_bytes) {
  using nlohmann::json;
  if (size > max_bytes) return Status(Code::format, what + ": JSON of " + std::to_string(size) + " bytes, more than the " +
                                                        std::to_string(max_bytes) + " allowed");
  if (nesting_depth(data, size, kMaxJsonDepth) > kMaxJsonDepth) {
    return Status(Code::format, what + ": JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  std::vector<std::set<std::string>> keys;  // one set per open object
  std::string duplicate;
  const json::parser_callback_t on_event = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: keys.emplace_back(); break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!keys.empty() && !keys.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
          duplicate = parsed.get<std::string>();
        }
        break;
      default: break;
    }
    return true;
  };
  json j = json::parse(data, data + size, on_event, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status(Code::format, what + ": not valid JSON (truncated or altered?)");
  if (!duplicate.empty()) return Status(Code::format, what + ": JSON object has the key \"" + printable(duplicate) + "\" twice");
  if (!j.is_object()) return Status(Code::format, what + ": not a JSON object");
  return j;
}

}  // namespace taec

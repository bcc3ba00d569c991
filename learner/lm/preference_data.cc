#include "learner/lm/preference_data.h"

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/file_util.h"
#include "nlohmann/json.hpp"

namespace proxima::lm {
namespace {

constexpr const char* kKeys[] = {"prompt",      "chosen",        "rejected",
                                 "true_chosen", "true_rejected", "noisy"};

bool IsKnownKey(const std::string& key) {
  for (const char* k : kKeys) {
    if (key == k) return true;
  }
  return false;
}

bool IsBlank(absl::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

// Reads one row. `where` is "FILE line N" for the messages.
absl::Status ParseRow(absl::string_view line, const std::string& where, PreferencePair* pair) {
  nlohmann::json row;
  try {
    row = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    // e.what() names the byte and the problem (a number too large, say).
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": not a JSON object (does not parse: ", e.what(), ")"));
  }
  if (!row.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": not a JSON object"));
  }
  for (auto it = row.begin(); it != row.end(); ++it) {
    if (!IsKnownKey(it.key())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": \"", it.key(),
                       "\": unknown key (known: prompt, chosen, rejected, true_chosen, "
                       "true_rejected, noisy)"));
    }
  }
  auto text = [&](const char* key, std::string* out) -> absl::Status {
    auto it = row.find(key);
    if (it == row.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": \"", key, "\": must be a non-empty string"));
    }
    *out = it->get<std::string>();
    return absl::OkStatus();
  };
  if (absl::Status s = text("prompt", &pair->prompt); !s.ok()) return s;
  if (absl::Status s = text("chosen", &pair->chosen); !s.ok()) return s;
  if (absl::Status s = text("rejected", &pair->rejected); !s.ok()) return s;
  if (pair->chosen == pair->rejected) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": \"rejected\": must differ from \"chosen\""));
  }
  auto score = [&](const char* key, std::optional<double>* out) -> absl::Status {
    auto it = row.find(key);
    if (it == row.end()) return absl::OkStatus();
    if (!it->is_number() || !std::isfinite(it->get<double>())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": \"", key, "\": must be a finite number"));
    }
    *out = it->get<double>();
    return absl::OkStatus();
  };
  if (absl::Status s = score("true_chosen", &pair->true_chosen); !s.ok()) return s;
  if (absl::Status s = score("true_rejected", &pair->true_rejected); !s.ok()) return s;
  if (pair->true_chosen.has_value() != pair->true_rejected.has_value()) {
    const char* missing = pair->true_chosen.has_value() ? "true_rejected" : "true_chosen";
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": \"", missing, "\": missing (true_chosen and true_rejected come together)"));
  }
  if (auto it = row.find("noisy"); it != row.end()) {
    if (!it->is_boolean()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": \"noisy\": must be true or false"));
    }
    pair->noisy = it->get<bool>();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<PreferencePair>> ReadPreferences(const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFile(path);
  if (!contents.ok()) return contents.status();
  std::vector<PreferencePair> pairs;
  const absl::string_view text = *contents;
  size_t start = 0;
  int line_number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == absl::string_view::npos) end = text.size();
    const absl::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (IsBlank(line)) continue;
    PreferencePair pair;
    if (absl::Status s = ParseRow(line, absl::StrCat(path, " line ", line_number), &pair);
        !s.ok()) {
      return s;
    }
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

absl::Status WritePreferences(const std::string& path, const std::vector<PreferencePair>& pairs) {
  std::string out;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const PreferencePair& p = pairs[i];
    const std::string where = absl::StrCat(path, ": pair ", i);
    if (p.prompt.empty() || p.chosen.empty() || p.rejected.empty() || p.chosen == p.rejected) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": prompt, chosen and rejected must be non-empty and chosen != rejected"));
    }
    if (p.true_chosen.has_value() != p.true_rejected.has_value() ||
        (p.true_chosen.has_value() &&
         (!std::isfinite(*p.true_chosen) || !std::isfinite(*p.true_rejected)))) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": true_chosen and true_rejected must be both finite or both absent"));
    }
    nlohmann::ordered_json row;
    row["prompt"] = p.prompt;
    row["chosen"] = p.chosen;
    row["rejected"] = p.rejected;
    if (p.true_chosen.has_value()) {
      row["true_chosen"] = *p.true_chosen;
      row["true_rejected"] = *p.true_rejected;
    }
    row["noisy"] = p.noisy;
    try {
      out += row.dump();
    } catch (const nlohmann::json::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": not valid UTF-8 (", e.what(), ")"));
    }
    out += '\n';
  }
  return WriteFileAtomic(path, out);
}

}  // namespace proxima::lm

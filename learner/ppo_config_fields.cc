#include "learner/ppo_config_fields.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "learner/ppo_config_field_list.h"

namespace proxima {
namespace {

using C = PpoConfig;
using P = PpoRange;

// The env's row (its flag, --env, picks the preset and is written out in
// learner/cli/ppo_flags.cc, so the row names none), then one row per entry of
// learner/ppo_config_field_list.h.
#define PROXIMA_PPO_FIELD_ROW(key, flag, alias, member, range, choices, settable,            \
                              optional_in_json, help)                                       \
  {#key, #flag, alias, [](C& c) -> auto& { return c.member; }, P::range, choices, settable, \
   optional_in_json},
constexpr PpoConfigField kFields[] = {
    {"env", nullptr, nullptr, [](C& c) -> std::string& { return c.env_id; }, P::kAny, nullptr,
     false},
    PROXIMA_PPO_CONFIG_FIELDS(PROXIMA_PPO_FIELD_ROW)};
#undef PROXIMA_PPO_FIELD_ROW

// "--num-minibatches" for the flag num_minibatches.
std::string FlagName(const PpoConfigField& row) {
  return absl::StrCat("--", absl::StrReplaceAll(row.flag, {{"_", "-"}}));
}

absl::Status RangeError(const PpoConfigField& row, absl::string_view range, double got) {
  return absl::InvalidArgumentError(
      absl::StrCat(FlagName(row), " must be ", range, " (got ", got, ")"));
}

absl::Status CheckNumber(const PpoConfigField& row, double v, const PpoConfig& c) {
  switch (row.range) {
    case P::kPositive:
      if (!(v > 0) || !std::isfinite(v)) return RangeError(row, "> 0", v);
      break;
    case P::kNonNegative:
      if (!(v >= 0) || !std::isfinite(v)) return RangeError(row, ">= 0", v);
      break;
    case P::kUnit:
      if (!(v >= 0 && v <= 1)) return RangeError(row, "in [0, 1]", v);
      break;
    case P::kFinite:
      if (!std::isfinite(v)) return RangeError(row, "finite", v);
      break;
    case P::kCount:
      if (v <= 0) return RangeError(row, "> 0", v);
      break;
    case P::kAtLeastOne:
      if (v <= 0) return RangeError(row, ">= 1", v);
      break;
    case P::kMinibatches:
      if (v <= 0) return RangeError(row, ">= 1", v);
      if (c.batch_size() % c.num_minibatches != 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--num-minibatches must divide the batch (--num-envs × --rollout-length = ",
            c.batch_size(), "), got ", c.num_minibatches));
      }
      break;
    case P::kThreads:
      if (v <= 0 || v > 256) return RangeError(row, "in [1, 256]", v);
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

template <typename Int>
absl::Status ParseInteger(absl::string_view value, Int* out) {
  Int v;
  if (!absl::SimpleAtoi(value, &v)) {
    return absl::InvalidArgumentError(absl::StrCat("'", value, "' is not an integer"));
  }
  *out = v;
  return absl::OkStatus();
}

absl::Status ParseDouble(absl::string_view value, double* out) {
  double v;
  if (!absl::SimpleAtod(value, &v)) {
    return absl::InvalidArgumentError(absl::StrCat("'", value, "' is not a number"));
  }
  *out = v;
  return absl::OkStatus();
}

bool IsName(const PpoConfigField& row, absl::string_view key) {
  return key == row.key || (row.flag != nullptr && key == row.flag) ||
         (row.alias != nullptr && key == row.alias);
}

}  // namespace

absl::Span<const PpoConfigField> PpoConfigFields() { return kFields; }

absl::Status CheckPpoFieldRange(const PpoConfigField& row, const PpoConfig& config) {
  return VisitPpoField(row, config, [&](const auto& v) -> absl::Status {
    using T = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<T, std::optional<double>>) {
      return v.has_value() ? CheckNumber(row, *v, config) : absl::OkStatus();
    } else if constexpr (std::is_same_v<T, std::vector<int>>) {
      if (row.range != P::kLayerSizes) return absl::OkStatus();
      if (v.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(FlagName(row), " must list at least one layer size"));
      }
      for (int h : v) {
        if (h <= 0) return RangeError(row, "a list of sizes >= 1", h);
      }
      return absl::OkStatus();
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (row.range != P::kChoice) return absl::OkStatus();
      for (absl::string_view choice : absl::StrSplit(row.choices, ", ")) {
        if (v == choice) return absl::OkStatus();
      }
      return absl::InvalidArgumentError(
          absl::StrCat(FlagName(row), " must be one of ", row.choices, " (got '", v, "')"));
    } else if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
      return CheckNumber(row, static_cast<double>(v), config);
    } else {
      return absl::OkStatus();
    }
  });
}

absl::StatusOr<std::vector<int>> ParseLayerSizes(absl::string_view sizes) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(sizes, ',', absl::SkipWhitespace())) {
    int v;
    if (!absl::SimpleAtoi(part, &v)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--hidden-sizes must be comma-separated integers (got '", sizes, "')"));
    }
    out.push_back(v);
  }
  return out;
}

absl::Status SetPpoFieldFromString(const PpoConfigField& row, absl::string_view value,
                                   PpoConfig* config) {
  return VisitPpoField(row, *config, [&](auto& field) -> absl::Status {
    using T = std::decay_t<decltype(field)>;
    if constexpr (std::is_same_v<T, bool>) {
      bool v;
      if (!absl::SimpleAtob(value, &v)) {
        return absl::InvalidArgumentError(absl::StrCat("'", value, "' is not a boolean"));
      }
      field = v;
      return absl::OkStatus();
    } else if constexpr (std::is_same_v<T, double>) {
      return ParseDouble(value, &field);
    } else if constexpr (std::is_same_v<T, std::optional<double>>) {
      if (value == "none" || value.empty()) {
        field.reset();
        return absl::OkStatus();
      }
      double v;
      PROXIMA_RETURN_IF_ERROR(ParseDouble(value, &v));
      field = v;
      return absl::OkStatus();
    } else if constexpr (std::is_integral_v<T>) {
      return ParseInteger(value, &field);
    } else if constexpr (std::is_same_v<T, std::string>) {
      field = std::string(value);
      return absl::OkStatus();
    } else if constexpr (std::is_same_v<T, std::vector<int>>) {
      PROXIMA_ASSIGN_OR_RETURN(field, ParseLayerSizes(value));
      return absl::OkStatus();
    } else {
      static_assert(std::is_same_v<T, AdvantageEstimator>);
      PROXIMA_ASSIGN_OR_RETURN(field, ParseAdvantageEstimator(value));
      return absl::OkStatus();
    }
  });
}

absl::Status SetHyperparameter(absl::string_view key, absl::string_view value, PpoConfig* config,
                               absl::Span<const absl::string_view> also_settable) {
  const std::string name = absl::StrReplaceAll(key, {{"-", "_"}});
  std::vector<absl::string_view> settable;
  for (const PpoConfigField& row : PpoConfigFields()) {
    if (!row.settable_while_training) continue;
    if (IsName(row, name)) return SetPpoFieldFromString(row, value, config);
    settable.push_back(row.flag);
  }
  settable.insert(settable.end(), also_settable.begin(), also_settable.end());
  return absl::InvalidArgumentError(
      absl::StrCat("unknown or not changeable while training; changeable: ",
                   absl::StrJoin(settable, ", ")));
}

}  // namespace proxima

// The table of PpoConfig's hyperparameters: one row per field naming its
// config.json key, its command-line flag (and alias), where it lives in a
// PpoConfig, its valid range and whether Admin.SetHyperparameters may change
// it while training. Everything that handles fields one by one walks this
// table: config.json (ConfigToJson/ConfigFromJson, learner/run_files.h),
// PpoConfig::Validate(), the flags (learner/cli/ppo_flags.cc maps each row's
// flag onto its field) and set-by-key (SetHyperparameter below). Defaults are
// PpoConfig's member initializers; per-env presets are PresetFor().
//
// The rows are generated from learner/ppo_config_field_list.h, as are the
// flags themselves: a new hyperparameter is a member of PpoConfig and one
// entry in that list.
//
// Pure functions over plain data: thread-compatible, nothing blocks.
#ifndef PROXIMA_LEARNER_PPO_CONFIG_FIELDS_H_
#define PROXIMA_LEARNER_PPO_CONFIG_FIELDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "learner/ppo_config.h"

namespace proxima {

// The field of a PpoConfig that a row names (a captureless lambda: fields of
// the nested ModelSpec have no pointer-to-member of PpoConfig).
template <typename T>
using PpoFieldRef = T& (*)(PpoConfig&);
using PpoFieldAccess =
    std::variant<PpoFieldRef<bool>, PpoFieldRef<int>, PpoFieldRef<int64_t>,
                 PpoFieldRef<uint64_t>, PpoFieldRef<double>, PpoFieldRef<std::optional<double>>,
                 PpoFieldRef<std::string>, PpoFieldRef<std::vector<int>>,
                 PpoFieldRef<AdvantageEstimator>>;

// What Validate() requires of a field; the error names the flag and the range
// ("--gamma must be in [0, 1] (got 1.5)").
enum class PpoRange {
  kAny,
  kPositive,     // > 0 and finite (an unset optional passes)
  kNonNegative,  // >= 0 and finite
  kUnit,         // in [0, 1]
  kFinite,
  kCount,        // an integer > 0
  kAtLeastOne,   // an integer >= 1
  kMinibatches,  // >= 1 and divides num_envs × rollout_length
  kThreads,      // in [1, 256]
  kLayerSizes,   // at least one size, every one >= 1
  kChoice,       // one of `choices`
};

struct PpoConfigField {
  const char* key;         // config.json key; the SetHyperparameters key
  const char* flag;        // absl flag name; nullptr: none (--env picks the preset)
  const char* alias;       // a second flag and key for the field, or nullptr
  PpoFieldAccess access;
  PpoRange range;
  const char* choices;     // kChoice: "tanh, relu"
  bool settable_while_training;
  // Added after runs were written: a config.json (checkpoint, run directory)
  // without the key keeps PpoConfig's default instead of being an error.
  bool optional_in_json = false;
};

// Every field, in config.json's (and Validate()'s) order.
absl::Span<const PpoConfigField> PpoConfigFields();

// Calls fn(field) with a reference to the field `row` names in `config`.
template <typename Fn>
decltype(auto) VisitPpoField(const PpoConfigField& row, PpoConfig& config, Fn&& fn) {
  return std::visit([&](auto ref) -> decltype(auto) { return fn(ref(config)); }, row.access);
}
// The same with a const reference. (The accessors only locate the field, so
// reading through them leaves `config` as it is.)
template <typename Fn>
decltype(auto) VisitPpoField(const PpoConfigField& row, const PpoConfig& config, Fn&& fn) {
  return std::visit(
      [&](auto ref) -> decltype(auto) {
        return fn(std::as_const(ref(const_cast<PpoConfig&>(config))));
      },
      row.access);
}

// OK when `row`'s field of `config` is in its range, else InvalidArgument.
absl::Status CheckPpoFieldRange(const PpoConfigField& row, const PpoConfig& config);

// Sets `row`'s field from text: numbers as absl::SimpleAtod/SimpleAtoi read
// them, booleans as SimpleAtob, an optional number from "none" or "" as unset,
// layer sizes comma-separated, the advantage estimator by name.
absl::Status SetPpoFieldFromString(const PpoConfigField& row, absl::string_view value,
                                   PpoConfig* config);

// "64,64" → {64, 64}; InvalidArgument naming --hidden-sizes otherwise.
absl::StatusOr<std::vector<int>> ParseLayerSizes(absl::string_view sizes);

// Applies KEY=VALUE of Admin.SetHyperparameters to `config` (not validated:
// call Validate()). KEY is a field's key, flag or alias, with dashes or
// underscores. A field not settable while training, or no field, is
// InvalidArgument listing the settable ones and `also_settable` (keys the
// caller handles itself, e.g. the learner's max_policy_lag).
absl::Status SetHyperparameter(absl::string_view key, absl::string_view value, PpoConfig* config,
                               absl::Span<const absl::string_view> also_settable = {});

}  // namespace proxima

#endif  // PROXIMA_LEARNER_PPO_CONFIG_FIELDS_H_

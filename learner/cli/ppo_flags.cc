#include "learner/cli/ppo_flags.h"

#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/ppo_config_field_list.h"
#include "learner/ppo_config_fields.h"

namespace proxima {
namespace {

// The flag type for a field of type T: std::optional<T>, except that list and
// enum fields take their text form and an optional number its number.
template <typename T>
struct FlagValue {
  using type = T;
};
template <>
struct FlagValue<std::optional<double>> {
  using type = double;
};
template <>
struct FlagValue<std::vector<int>> {
  using type = std::string;
};
template <>
struct FlagValue<AdvantageEstimator> {
  using type = std::string;
};

// The flag of a field of type T.
template <typename T>
using PpoFlagOf = std::optional<typename FlagValue<T>::type>;

}  // namespace
}  // namespace proxima

// The env, whose preset the other flags override.
ABSL_FLAG(std::string, env, "CartPole-v1", "Environment id (see `proxima env list`)");
// Every field's flag (learner/ppo_config_field_list.h): optional, unset by
// default, of the type PpoFlagOf gives the field's; defined here (not in a
// header), so each flag's file is learner/cli/ppo_flags.cc.
#define PROXIMA_PPO_FLAG(key, flag, alias, member, range, choices, settable, optional_in_json, \
                         help)                                                                 \
  ABSL_FLAG(::proxima::PpoFlagOf<decltype(std::declval<::proxima::PpoConfig&>().member)>,     \
            flag, std::nullopt, help);
PROXIMA_PPO_CONFIG_FIELDS(PROXIMA_PPO_FLAG)
#undef PROXIMA_PPO_FLAG
// The one alias (the list's alias column), of its field's flag type.
ABSL_FLAG(std::optional<double>, lr, std::nullopt, "Alias of --learning-rate");

namespace proxima {
namespace {

// Sets `row`'s field of `c` from the flag `name` when that flag was given.
absl::Status ApplyFlag(const char* name, const PpoConfigField& row, PpoConfig* c) {
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  if (flag == nullptr) return absl::InternalError(absl::StrCat("no flag --", name));
  return VisitPpoField(row, *c, [&](auto& field) -> absl::Status {
    using T = std::decay_t<decltype(field)>;
    using F = typename FlagValue<T>::type;
    const auto value = flag->TryGet<std::optional<F>>();  // absl::optional
    if (!value.has_value()) {
      return absl::InternalError(absl::StrCat("--", name, " is not of the type of ", row.key));
    }
    if (!value->has_value()) return absl::OkStatus();
    if constexpr (std::is_same_v<F, std::string> && !std::is_same_v<T, std::string>) {
      return SetPpoFieldFromString(row, **value, c);
    } else {
      field = **value;
      return absl::OkStatus();
    }
  });
}

}  // namespace

absl::StatusOr<PpoConfig> PpoConfigFromFlags() {
  PROXIMA_ASSIGN_OR_RETURN(PpoConfig c, PresetFor(absl::GetFlag(FLAGS_env)));
  // Every field's flag, then its alias (--lr wins over --learning-rate).
  for (const PpoConfigField& row : PpoConfigFields()) {
    if (row.flag != nullptr) PROXIMA_RETURN_IF_ERROR(ApplyFlag(row.flag, row, &c));
    if (row.alias != nullptr) PROXIMA_RETURN_IF_ERROR(ApplyFlag(row.alias, row, &c));
  }
  PROXIMA_RETURN_IF_ERROR(c.Validate());
  return c;
}

bool FlagGiven(absl::string_view name) {
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  return flag != nullptr && flag->CurrentValue() != flag->DefaultValue();
}

std::map<std::string, std::string> ResumeChangesFromFlags() {
  std::map<std::string, std::string> out;
  if (FlagGiven("env")) out["env"] = absl::GetFlag(FLAGS_env);
  for (const PpoConfigField& row : PpoConfigFields()) {
    // The alias last: it wins, as in PpoConfigFromFlags().
    for (const char* name : {row.flag, row.alias}) {
      if (name == nullptr || !FlagGiven(name)) continue;
      out[row.key] = absl::FindCommandLineFlag(name)->CurrentValue();
    }
  }
  return out;
}

}  // namespace proxima

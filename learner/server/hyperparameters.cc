#include "learner/server/hyperparameters.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/ppo_config_fields.h"
#include "learner/run_files.h"

namespace proxima {

absl::Status ApplyHyperparameter(std::string key, const std::string& value, PpoConfig* c,
                                 LearnerOptions* o) {
  std::replace(key.begin(), key.end(), '-', '_');
  if (key == "max_policy_lag") {
    int v;
    if (!absl::SimpleAtoi(value, &v)) {
      return absl::InvalidArgumentError(absl::StrCat("'", value, "' is not an integer"));
    }
    o->max_policy_lag = v;
    return absl::OkStatus();
  }
  return SetHyperparameter(key, value, c, {"max_policy_lag"});
}

void ConfigToStrings(const PpoConfig& c, std::map<std::string, std::string>* out) {
  const nlohmann::json j = ConfigToJson(c);
  for (auto it = j.begin(); it != j.end(); ++it) {
    const nlohmann::json& v = it.value();
    (*out)[it.key()] = v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump();
  }
}

}  // namespace proxima

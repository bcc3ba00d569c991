#include "learner/server/hyperparameters.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/run_files.h"

namespace proxima {

absl::Status ApplyHyperparameter(std::string key, const std::string& value, PpoConfig* c,
                                 LearnerOptions* o) {
  std::replace(key.begin(), key.end(), '-', '_');
  auto as_double = [&](double* out) -> absl::Status {
    double v;
    if (!absl::SimpleAtod(value, &v)) {
      return absl::InvalidArgumentError(absl::StrCat("'", value, "' is not a number"));
    }
    *out = v;
    return absl::OkStatus();
  };
  auto as_int = [&](int* out) -> absl::Status {
    int v;
    if (!absl::SimpleAtoi(value, &v)) {
      return absl::InvalidArgumentError(absl::StrCat("'", value, "' is not an integer"));
    }
    *out = v;
    return absl::OkStatus();
  };
  auto as_bool = [&](bool* out) -> absl::Status {
    bool v;
    if (!absl::SimpleAtob(value, &v)) {
      return absl::InvalidArgumentError(absl::StrCat("'", value, "' is not a boolean"));
    }
    *out = v;
    return absl::OkStatus();
  };
  if (key == "learning_rate" || key == "lr") return as_double(&c->learning_rate);
  if (key == "ent_coef") return as_double(&c->ent_coef);
  if (key == "vf_coef") return as_double(&c->vf_coef);
  if (key == "clip_coef") return as_double(&c->clip_coef);
  if (key == "max_grad_norm") return as_double(&c->max_grad_norm);
  if (key == "gamma") return as_double(&c->gamma);
  if (key == "gae_lambda") return as_double(&c->gae_lambda);
  if (key == "kl_target") return as_double(&c->kl_target);
  if (key == "update_epochs") return as_int(&c->update_epochs);
  if (key == "num_minibatches") return as_int(&c->num_minibatches);
  if (key == "anneal_lr") return as_bool(&c->anneal_lr);
  if (key == "norm_adv" || key == "normalize_advantages") {
    return as_bool(&c->normalize_advantages);
  }
  if (key == "target_kl") {
    if (value == "none" || value.empty()) {
      c->target_kl.reset();
      return absl::OkStatus();
    }
    double v;
    PROXIMA_RETURN_IF_ERROR(as_double(&v));
    c->target_kl = v;
    return absl::OkStatus();
  }
  if (key == "max_policy_lag") return as_int(&o->max_policy_lag);
  return absl::InvalidArgumentError(
      "unknown or not changeable while training; changeable: learning_rate, ent_coef, vf_coef, "
      "clip_coef, max_grad_norm, gamma, gae_lambda, kl_target, target_kl, update_epochs, "
      "num_minibatches, anneal_lr, norm_adv, max_policy_lag");
}

void ConfigToStrings(const PpoConfig& c, std::map<std::string, std::string>* out) {
  const nlohmann::json j = ConfigToJson(c);
  for (auto it = j.begin(); it != j.end(); ++it) {
    const nlohmann::json& v = it.value();
    (*out)[it.key()] = v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump();
  }
}

}  // namespace proxima

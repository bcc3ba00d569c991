#include "learner/periodic_eval_options.h"

#include "absl/strings/str_cat.h"

namespace proxima {

absl::Status PeriodicEvalOptions::Validate() const {
  if (every < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--eval-every must be >= 0 updates, 0 = off (got ", every, ")"));
  }
  if (episodes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--eval-episodes must be >= 1 (got ", episodes, ")"));
  }
  return absl::OkStatus();
}

}  // namespace proxima

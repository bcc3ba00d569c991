#include "common/lm/task_registry.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/flags.h"
#include "common/lm/addition_task.h"
#include "common/lm/digit_string_task.h"

namespace proxima::lm {

absl::StatusOr<std::unique_ptr<Task>> MakeTask(absl::string_view id) {
  if (id == "lm/Addition-v0") return std::make_unique<AdditionTask>();
  if (id == "lm/Reverse-v0") {
    return std::make_unique<DigitStringTask>(DigitStringTask::Kind::kReverse);
  }
  if (id == "lm/Sort-v0") return std::make_unique<DigitStringTask>(DigitStringTask::Kind::kSort);
  const std::vector<std::string> ids = TaskIds();
  const std::string closest = ClosestName(id, ids);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown task id \"", id, "\"",
                   closest.empty() ? "" : absl::StrCat("; did you mean \"", closest, "\"?"),
                   "; known task ids: ", absl::StrJoin(ids, ", ")));
}

std::vector<std::string> TaskIds() { return {"lm/Addition-v0", "lm/Reverse-v0", "lm/Sort-v0"}; }

bool IsTaskId(absl::string_view id) { return absl::StartsWith(id, "lm/"); }

}  // namespace proxima::lm

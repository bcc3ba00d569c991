// The table of sequence tasks (common/lm/task.h), by id.
//
// Task ids live in the "lm/" namespace, written as Gymnasium writes a
// namespaced id ("lm/Addition-v0", "lm/Reverse-v0", "lm/Sort-v0"), so a task
// id is never mistaken for an environment id (common/envs/registry.h) and a
// command taking --env can tell them apart with IsTaskId().
//
// Tasks have their own registry rather than being Envs: an Env is a Gymnasium
// step function over fixed-size float observations and actions
// (common/envs/env.h), run a step at a time by VectorEnv and RolloutCollector.
// A task's state is a variable-length token prefix, its episode one
// autoregressive generation whose cost is the model's (a key/value cache, not
// an observation vector), and its reward a rule over the whole completion;
// forcing that through Env would mean padded token observations and no cache.
//
// Looking up an unknown id is an InvalidArgument error that names it, suggests
// the closest known one and lists them all. Thread-safe.
#ifndef PROXIMA_COMMON_LM_TASK_REGISTRY_H_
#define PROXIMA_COMMON_LM_TASK_REGISTRY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/lm/task.h"

namespace proxima::lm {

absl::StatusOr<std::unique_ptr<Task>> MakeTask(absl::string_view id);

// Every task id, in a fixed order.
std::vector<std::string> TaskIds();

// True if `id` is in the "lm/" namespace (whether or not it is registered).
bool IsTaskId(absl::string_view id);

}  // namespace proxima::lm

#endif  // PROXIMA_COMMON_LM_TASK_REGISTRY_H_

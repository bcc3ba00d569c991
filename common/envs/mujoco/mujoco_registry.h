// The MuJoCo env ids Proxima implements (Gymnasium's v4 and v5 locomotion
// suite) and how to build them.
//
// An id may carry options after '?', Gymnasium's make() keyword arguments
// for that env: "Hopper-v4?healthy_reward=0.5&terminate_when_unhealthy=0".
// Building an env loads its model file (mujoco_model.h); a missing or invalid
// file, a model whose sizes are not the env's, an unknown option or a bad
// value is an InvalidArgument error that names it. Thread-safe.
#ifndef PROXIMA_COMMON_ENVS_MUJOCO_MUJOCO_REGISTRY_H_
#define PROXIMA_COMMON_ENVS_MUJOCO_MUJOCO_REGISTRY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/envs/mujoco/mujoco_env.h"

namespace proxima {

// Every MuJoCo id, in a fixed order (v4 then v5 of each env).
const std::vector<MujocoEnvDef>& MujocoEnvDefs();

// True if `id` (before any '?') names a MuJoCo env.
bool IsMujocoEnvId(absl::string_view id);

// A fresh env for `id` (options allowed), seeded with 0 and not yet reset.
absl::StatusOr<std::unique_ptr<MujocoEnv>> MakeMujocoEnv(absl::string_view id);

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MUJOCO_MUJOCO_REGISTRY_H_

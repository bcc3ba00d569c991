// The table of environments Proxima knows, by Gymnasium id.
//
// Ids are exactly Gymnasium's: classic control ("CartPole-v1", "Acrobot-v1",
// "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1") and the MuJoCo
// v4/v5 suite (common/envs/mujoco/mujoco_registry.h; "HalfCheetah-v4", ...,
// optionally with Gymnasium's keyword options after '?'). Each env comes with its
// TimeLimit (max_episode_steps) and registered reward threshold. Looking up an
// unknown id is an InvalidArgument error that names the id, suggests the closest
// known one ("did you mean", common/flags.h ClosestName) and lists them all. All functions are thread-safe.
//
// Besides the registered ids, MakeEnv and GetEnvSpec accept remote env ids,
// remote://HOST:PORT[/ENV_ID][?KEY=VALUE&...]: an env served by another
// process through the proxima.v1.Env service (common/envs/remote_env.h).
// MakeEnv opens one session per env; GetEnvSpec opens one for the handshake
// and closes it. The spec's id is the remote id itself. Remote ids are not in
// RegisteredEnvIds().
#ifndef PROXIMA_COMMON_ENVS_REGISTRY_H_
#define PROXIMA_COMMON_ENVS_REGISTRY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/envs/env.h"

namespace proxima {

// A fresh env, seeded with 0 and not yet reset.
absl::StatusOr<std::unique_ptr<Env>> MakeEnv(absl::string_view id);

absl::StatusOr<EnvSpec> GetEnvSpec(absl::string_view id);

// Every registered id, in a fixed order.
std::vector<std::string> RegisteredEnvIds();

// True if `id` starts with "remote://" (whether or not the rest parses).
bool IsRemoteEnvId(absl::string_view id);

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_REGISTRY_H_

#include "common/envs/registry.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/envs/acrobot.h"
#include "common/envs/cartpole.h"
#include "common/envs/mountain_car.h"
#include "common/envs/mujoco/mujoco_registry.h"
#include "common/envs/mountain_car_continuous.h"
#include "common/envs/pendulum.h"
#include "common/envs/remote_env.h"
#include "common/flags.h"
#include "common/status_macros.h"

namespace proxima {
namespace {

struct Entry {
  const char* id;
  const EnvSpec& (*spec)();
  std::unique_ptr<Env> (*make)();
};

template <typename T>
std::unique_ptr<Env> Make() {
  return std::make_unique<T>();
}

constexpr Entry kEntries[] = {
    {"CartPole-v1", &CartPole::Spec, &Make<CartPole>},
    {"Acrobot-v1", &Acrobot::Spec, &Make<Acrobot>},
    {"MountainCar-v0", &MountainCar::Spec, &Make<MountainCar>},
    {"MountainCarContinuous-v0", &MountainCarContinuous::Spec, &Make<MountainCarContinuous>},
    {"Pendulum-v1", &Pendulum::Spec, &Make<Pendulum>},
};

absl::StatusOr<const Entry*> Find(absl::string_view id) {
  for (const Entry& e : kEntries) {
    if (id == e.id) return &e;
  }
  // "did you mean" on the id without its options ("Hopper-v3?x=1" → Hopper-v4).
  const std::vector<std::string> ids = RegisteredEnvIds();
  const std::string closest = ClosestName(id.substr(0, id.find('?')), ids);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown environment id \"", id, "\"",
                   closest.empty() ? "" : absl::StrCat("; did you mean \"", closest, "\"?"),
                   "; known ids: ", absl::StrJoin(ids, ", ")));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Env>> MakeEnv(absl::string_view id) {
  if (IsRemoteEnvId(id)) {
    PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<RemoteEnv> env, RemoteEnv::Connect(id));
    return std::unique_ptr<Env>(std::move(env));
  }
  if (IsMujocoEnvId(id)) {
    PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<MujocoEnv> env, MakeMujocoEnv(id));
    return std::unique_ptr<Env>(std::move(env));
  }
  absl::StatusOr<const Entry*> e = Find(id);
  if (!e.ok()) return e.status();
  return (*e)->make();
}

absl::StatusOr<EnvSpec> GetEnvSpec(absl::string_view id) {
  if (IsRemoteEnvId(id)) return GetRemoteEnvSpec(id);
  if (IsMujocoEnvId(id)) {
    PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<MujocoEnv> env, MakeMujocoEnv(id));
    return env->spec();
  }
  absl::StatusOr<const Entry*> e = Find(id);
  if (!e.ok()) return e.status();
  return (*e)->spec();
}

bool IsRemoteEnvId(absl::string_view id) { return absl::StartsWith(id, kRemoteEnvScheme); }

std::vector<std::string> RegisteredEnvIds() {
  std::vector<std::string> ids;
  for (const Entry& e : kEntries) ids.emplace_back(e.id);
  for (const MujocoEnvDef& d : MujocoEnvDefs()) ids.emplace_back(d.id);
  return ids;
}

}  // namespace proxima

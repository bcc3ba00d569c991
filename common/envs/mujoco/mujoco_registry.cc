#include "common/envs/mujoco/mujoco_registry.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/envs/mujoco/ant.h"
#include "common/envs/mujoco/half_cheetah.h"
#include "common/envs/mujoco/hopper.h"
#include "common/envs/mujoco/humanoid.h"
#include "common/envs/mujoco/humanoid_standup.h"
#include "common/envs/mujoco/inverted_double_pendulum.h"
#include "common/envs/mujoco/inverted_pendulum.h"
#include "common/envs/mujoco/mujoco_model.h"
#include "common/envs/mujoco/pusher.h"
#include "common/envs/mujoco/reacher.h"
#include "common/envs/mujoco/swimmer.h"
#include "common/envs/mujoco/walker2d.h"
#include "common/status_macros.h"

namespace proxima {
namespace {

// One line per env family (its v4 and v5 ids), in Gymnasium's listing order.
using Family = std::vector<MujocoEnvDef> (*)();
const Family kFamilies[] = {
    &ReacherEnvDefs,
    &PusherEnvDefs,
    &InvertedPendulumEnvDefs,
    &InvertedDoublePendulumEnvDefs,
    &HalfCheetahEnvDefs,
    &HopperEnvDefs,
    &SwimmerEnvDefs,
    &Walker2dEnvDefs,
    &AntEnvDefs,
    &HumanoidEnvDefs,
    &HumanoidStandupEnvDefs,
};

std::vector<MujocoEnvDef> AllDefs() {
  std::vector<MujocoEnvDef> defs;
  for (Family family : kFamilies) {
    for (MujocoEnvDef& d : family()) defs.push_back(std::move(d));
  }
  return defs;
}

const MujocoEnvDef* Find(absl::string_view base_id) {
  for (const MujocoEnvDef& d : MujocoEnvDefs()) {
    if (base_id == d.id) return &d;
  }
  return nullptr;
}

absl::string_view BaseId(absl::string_view id) { return id.substr(0, id.find('?')); }

}  // namespace

const std::vector<MujocoEnvDef>& MujocoEnvDefs() {
  static const std::vector<MujocoEnvDef>* const defs = new std::vector<MujocoEnvDef>(AllDefs());
  return *defs;
}

bool IsMujocoEnvId(absl::string_view id) { return Find(BaseId(id)) != nullptr; }

absl::StatusOr<std::unique_ptr<MujocoEnv>> MakeMujocoEnv(absl::string_view id) {
  const size_t q = id.find('?');
  const absl::string_view base = BaseId(id);
  const MujocoEnvDef* def = Find(base);
  if (def == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("\"", base, "\" is not a MuJoCo env id"));
  }
  PROXIMA_ASSIGN_OR_RETURN(
      MujocoParams params,
      MujocoParams::Parse(base, def->params,
                          q == absl::string_view::npos ? absl::string_view() : id.substr(q + 1)));
  absl::StatusOr<std::shared_ptr<const mjModel>> model = LoadMujocoModel(def->xml);
  if (!model.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(def->id, ": ", model.status().message()));
  }
  const mjModel* m = model->get();
  if (m->nq != def->nq || m->nv != def->nv || m->nu != def->nu) {
    return absl::InvalidArgumentError(absl::StrCat(
        def->id, ": MuJoCo model file ", def->xml, " has nq=", m->nq, " nv=", m->nv, " nu=", m->nu,
        "; the env needs nq=", def->nq, " nv=", def->nv, " nu=", def->nu,
        " (is it Gymnasium's file?)"));
  }
  std::unique_ptr<MujocoEnv> env = def->make(*def, *std::move(model), params);
  PROXIMA_RETURN_IF_ERROR(env->status());
  return env;
}

}  // namespace proxima

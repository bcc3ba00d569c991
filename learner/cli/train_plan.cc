#include "learner/cli/train_plan.h"

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "learner/cli/local_cluster.h"
#include "learner/run_files.h"

namespace proxima {

nlohmann::json RunToJson(const TrainPlan& plan, const PpoConfig& config) {
  nlohmann::json run;
  if (plan.in_process) {
    run["launch"] = "in-process";
    run["mode"] = "in-process";
    run["actors"] = 0;
    run["env_columns_per_actor"] = nullptr;
    run["env_columns"] = config.num_envs;
    run["actor_threads"] = nullptr;
  } else {
    const int per_actor = ActorNumEnvs(config.num_envs, plan.actors);
    run["launch"] = "local-cluster";
    run["mode"] = plan.mode;
    run["actors"] = plan.actors;
    run["env_columns_per_actor"] = per_actor;
    run["env_columns"] = per_actor * plan.actors;
    run["actor_threads"] = plan.actor_threads;
  }
  return run;
}

absl::Status AddRunToConfigJson(const std::string& run_dir, const nlohmann::json& run) {
  const std::string path = run_dir + "/config.json";
  PROXIMA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::DataLossError(absl::StrCat(path, " is not a JSON object"));
  j["run"] = run;
  return WriteFileAtomic(path, j.dump(2) + "\n");
}

}  // namespace proxima

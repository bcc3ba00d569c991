#include "learner/cli/train_plan.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/envs/registry.h"
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
  } else if (plan.learner_only) {
    run["launch"] = "learner";
    run["mode"] = plan.mode;
    run["actors"] = nullptr;
    run["env_columns_per_actor"] = plan.actor_num_envs > 0 ? plan.actor_num_envs : config.num_envs;
    run["env_columns"] = nullptr;
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

nlohmann::json TrainConfigJson(const TrainPlan& plan, const PpoConfig& config) {
  nlohmann::json j = ConfigToJson(config);
  j["run"] = RunToJson(plan, config);
  return j;
}

namespace {

// Sets "run" in DIR/config.json to run_of(the file's object) and rewrites the
// file atomically.
absl::Status SetRunInConfigJson(
    const std::string& run_dir,
    const std::function<absl::StatusOr<nlohmann::json>(const nlohmann::json&)>& run_of) {
  const std::string path = run_dir + "/config.json";
  PROXIMA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::DataLossError(absl::StrCat(path, " is not a JSON object"));
  absl::StatusOr<nlohmann::json> run = run_of(j);
  if (!run.ok()) return absl::DataLossError(absl::StrCat(path, ": ", run.status().message()));
  j["run"] = *std::move(run);
  return WriteFileAtomic(path, j.dump(2) + "\n");
}

}  // namespace

absl::Status AddRunToConfigJson(const std::string& run_dir, const nlohmann::json& run) {
  return SetRunInConfigJson(run_dir, [&](const nlohmann::json&) { return run; });
}

absl::Status AddRunToConfigJson(const std::string& run_dir, const TrainPlan& plan) {
  return SetRunInConfigJson(run_dir,
                            [&](const nlohmann::json& file) -> absl::StatusOr<nlohmann::json> {
                              PROXIMA_ASSIGN_OR_RETURN(PpoConfig config, ConfigFromJson(file));
                              return RunToJson(plan, config);
                            });
}

absl::Status CheckTrainFlags(const std::set<std::string>& given, const TrainPlan& plan,
                             const PpoConfig& config) {
  if (plan.in_process) {
    for (const char* flag : {"actors", "actor_threads", "mode"}) {
      if (given.count(flag) == 0) continue;
      const std::string dashed = flag == std::string("actor_threads") ? "actor-threads" : flag;
      return absl::InvalidArgumentError(absl::StrCat(
          "--in-process and --", dashed, " conflict: an in-process run steps its envs in this "
          "process, with no learner server and no actor processes; drop one of them"));
    }
  }
  if (plan.stop_when_solved && !IsRemoteEnvId(config.env_id)) {
    PROXIMA_ASSIGN_OR_RETURN(EnvSpec spec, GetEnvSpec(config.env_id));
    if (!spec.has_reward_threshold) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--stop-when-solved and --env ", config.env_id, " conflict: ", config.env_id,
          " has no registered reward threshold, so the run would never count as solved"));
    }
  }
  if (!plan.in_process && plan.actors >= 1 && config.num_envs > plan.actors &&
      config.num_envs % plan.actors != 0) {
    const int per_actor = ActorNumEnvs(config.num_envs, plan.actors);
    return absl::InvalidArgumentError(absl::StrCat(
        "--actors ", plan.actors, " and --num-envs ", config.num_envs, " conflict: ",
        config.num_envs, " env columns do not split evenly over ", plan.actors,
        " actors (each would run ", per_actor, ", ", per_actor * plan.actors,
        " in all); give a --num-envs that is a multiple of --actors"));
  }
  return absl::OkStatus();
}

nlohmann::json SummaryForDisplay(const nlohmann::json& summary) {
  if (summary.is_structured()) {
    nlohmann::json out = summary;
    for (auto& item : out.items()) item.value() = SummaryForDisplay(item.value());
    return out;
  }
  if (!summary.is_number_float()) return summary;
  const double v = summary.get<double>();
  if (!std::isfinite(v) || v == 0) return summary;
  const int whole_digits = static_cast<int>(std::floor(std::log10(std::fabs(v)))) + 1;
  const int decimals = std::max(0, 5 - whole_digits);
  const double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

}  // namespace proxima

// What `proxima train` runs besides the PPO hyperparameters: how it is
// launched (in process or a local cluster), the learner's mode, the actors
// and their env columns. It goes into config.json as one "run" object, so
// that the file holds everything that defines the run:
//
//   "run": {"launch": "in-process" | "local-cluster" | "learner",
//           "mode": "in-process" | "sync" | "async",
//           "actors": N (0 in process), "env_columns_per_actor": K (null in
//           process), "env_columns": all columns, "actor_threads": T (null
//           in process)}
//
// "learner" is a `proxima-learner` started by itself (docs/cluster.md): it
// cannot know its actors, which connect and leave as they like, so
// "actors", "env_columns" and "actor_threads" are null there, and
// "env_columns_per_actor" is what an actor that does not choose runs (the
// learner's --actor-num-envs, else --num-envs). summary.json's "actors"
// counts the actors that took part.
//
// The key is additive: ConfigFromJson (learner/run_files.h) reads only the
// hyperparameters' keys, so files with and without it load alike.
//
// CheckTrainFlags refuses flag combinations that would otherwise be
// accepted silently; the error names both flags (mains exit 2).
//
// SummaryForDisplay rounds the run summary that `proxima train` prints at
// the end; summary.json keeps full precision.
//
// Pure functions over plain data, except AddRunToConfigJson (one file).
#ifndef PROXIMA_LEARNER_CLI_TRAIN_PLAN_H_
#define PROXIMA_LEARNER_CLI_TRAIN_PLAN_H_

#include <set>
#include <string>

#include "absl/status/status.h"
#include "learner/ppo_config.h"
#include "nlohmann/json.hpp"

namespace proxima {

struct TrainPlan {
  bool in_process = false;
  bool learner_only = false;  // a proxima-learner started by itself
  std::string mode;           // the learner's --mode (not in process)
  int actors = 0;
  int actor_threads = 1;
  int actor_num_envs = 0;  // learner_only: its --actor-num-envs (0: none)
  bool stop_when_solved = false;
};

// config.json's "run" object for `plan` and the resolved `config`.
nlohmann::json RunToJson(const TrainPlan& plan, const PpoConfig& config);

// What config.json will hold: ConfigToJson(config) plus "run".
nlohmann::json TrainConfigJson(const TrainPlan& plan, const PpoConfig& config);

// Sets "run" in DIR/config.json (rewritten atomically); NotFound if the file
// is not there.
absl::Status AddRunToConfigJson(const std::string& run_dir, const nlohmann::json& run);
// The same with RunToJson(plan, the config the file holds): for a process
// that did not resolve the config itself (a resumed proxima-learner takes
// its checkpoint's).
absl::Status AddRunToConfigJson(const std::string& run_dir, const TrainPlan& plan);

// InvalidArgument naming both flags for: --in-process with --actors,
// --actor-threads or --mode; --stop-when-solved on an env without a reward
// threshold; a cluster whose env columns (--num-envs) do not split evenly
// over --actors (more columns than actors and not a multiple). `given` holds
// the flags set (ParsedArgs::given, common/flags.h).
absl::Status CheckTrainFlags(const std::set<std::string>& given, const TrainPlan& plan,
                             const PpoConfig& config);

// `summary` (SummaryToJson, learner/run_files.h) for a person to read:
// every number with a fraction, nested ones too, keeps 5 significant digits
// and all of its whole digits (25.240506 → 25.241, 0.0116895 → 0.01169,
// 175199.29 → 175199); integers, strings and nulls are unchanged.
nlohmann::json SummaryForDisplay(const nlohmann::json& summary);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_TRAIN_PLAN_H_

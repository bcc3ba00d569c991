#include "learner/cli/train_command.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/envs/mujoco/mujoco_registry.h"
#include "common/flags.h"
#include "common/logging.h"
#include "learner/cli/command_help.h"
#include "learner/cli/learner_flags.h"
#include "learner/cli/local_cluster.h"
#include "learner/cli/ppo_flags.h"
#include "learner/cli/train_plan.h"
#include "learner/resume_config.h"
#include "learner/run_files.h"

ABSL_FLAG(bool, in_process, false,
          "train: run vector env + PPO in this process (no actors, no network)");
ABSL_FLAG(int, actors, 2, "train: actor processes of the local cluster");
ABSL_FLAG(bool, print_config, false,
          "train: print the resolved config (config.json as the run would write it, \"run\" "
          "included) and exit without training");
ABSL_FLAG(int, actor_threads, 1,
          "train: threads per actor process (proxima-actor --threads): env columns stepped in "
          "parallel");
// --run-dir, --resume, --stop-when-solved, --quiet and --mode live in
// learner_flags.cc.
ABSL_DECLARE_FLAG(std::string, mode);
ABSL_DECLARE_FLAG(std::string, resume);
ABSL_DECLARE_FLAG(bool, quiet);

namespace proxima {

bool TrainNeedsTorch() {
  return absl::GetFlag(FLAGS_in_process) || !absl::GetFlag(FLAGS_resume).empty();
}

std::string NewTrainRunDir(const PpoConfig& config, const LearnerOptions& learner) {
  const std::string default_dir = DefaultRunDir(config.env_id, config.seed);
  absl::StatusOr<std::string> dir = NewRunDir(learner.run_dir, default_dir, learner.overwrite);
  if (absl::IsInvalidArgument(dir.status())) ExitWithUsageError("proxima train", dir.status());
  if (!dir.ok()) {
    LogError(dir.status().ToString());
    std::exit(1);
  }
  if (learner.run_dir.empty() && *dir != default_dir) {
    LogRaw(absl::StrCat("proxima train: ", default_dir, " holds another run; this one goes to ",
                        *dir, "\n"));
  }
  return *dir;
}

int TrainCluster(const std::set<std::string>& given, const ResumePoint* resume) {
  absl::StatusOr<PpoConfig> config = PpoConfigFromFlags();
  if (!config.ok()) ExitWithUsageError("proxima train", config.status());
  absl::StatusOr<LearnerOptions> learner = LearnerOptionsFromFlags();
  if (!learner.ok()) ExitWithUsageError("proxima train", learner.status());
  if (!learner->tls_cert.empty() || !learner->auth_tokens_file.empty() ||
      !learner->auth_tokens.empty()) {
    ExitWithUsageError("proxima train",
                       absl::InvalidArgumentError(
                           "the local cluster runs on loopback without TLS or bearer tokens; "
                           "for a secure cluster start proxima-learner and proxima-actor "
                           "(docs/security.md)"));
  }
  if (resume != nullptr) {
    *config = resume->config;
    if (given.count("actor_num_envs") > 0) {
      ExitWithUsageError("proxima train",
                         absl::InvalidArgumentError(absl::StrCat(
                             "--actor-num-envs cannot change when resuming: the run's ",
                             config->num_envs, " env columns come from its checkpoint")));
    }
  }
  const int actors = absl::GetFlag(FLAGS_actors);
  if (actors < 1) {
    ExitWithUsageError("proxima train", absl::InvalidArgumentError(absl::StrCat(
                                            "--actors must be >= 1 (got ", actors, ")")));
  }
  LocalClusterOptions options;
  options.learner_flags = LearnerFlagsToForward(given);
  // The dashboard is on by default in the local cluster, on loopback
  // (docs/monitoring.md): --dashboard-listen= turns it off, HOST:PORT moves it.
  if (given.count("dashboard_listen") == 0) {
    options.learner_flags.push_back("--dashboard-listen=127.0.0.1:0");
  }
  // A MuJoCo preset collects its batch as one 2,048-step env column
  // (CleanRL's ppo_continuous_action). A cluster of N actors splits it into N
  // columns of 2,048/N steps, one per actor: a sync round (one chunk per
  // actor) is then exactly one batch, and async chunks are 1/N of a batch,
  // which keeps the policy lag of trained data low. --num-envs or
  // --rollout-length on the command line turn this off.
  if (resume == nullptr && IsMujocoEnvId(config->env_id) && actors > 1 && config->num_envs == 1 &&
      config->rollout_length % actors == 0 && !FlagGiven("num_envs") &&
      !FlagGiven("rollout_length")) {
    config->num_envs = actors;
    config->rollout_length /= actors;
    options.learner_flags.push_back(absl::StrCat("--num-envs=", config->num_envs));
    options.learner_flags.push_back(absl::StrCat("--rollout-length=", config->rollout_length));
  }
  options.env_id = config->env_id;
  options.total_steps = config->total_steps;
  options.num_envs = config->num_envs;
  options.actors = actors;
  options.actor_engine = config->engine;
  options.actor_threads = absl::GetFlag(FLAGS_actor_threads);
  if (options.actor_threads < 1 || options.actor_threads > 256) {
    ExitWithUsageError("proxima train",
                       absl::InvalidArgumentError(absl::StrCat(
                           "--actor-threads must be in [1, 256] (got ", options.actor_threads, ")")));
  }
  TrainPlan plan;
  plan.mode = absl::GetFlag(FLAGS_mode);
  plan.actors = actors;
  plan.actor_threads = options.actor_threads;
  plan.stop_when_solved = learner->stop_when_solved;
  if (absl::Status conflict = CheckTrainFlags(given, plan, *config); !conflict.ok()) {
    ExitWithUsageError("proxima train", conflict);
  }
  if (absl::GetFlag(FLAGS_print_config)) {
    std::printf("%s\n", TrainConfigJson(plan, *config).dump(2).c_str());
    return 0;
  }
  options.run = RunToJson(plan, *config);
  // Resuming continues the run in its own directory.
  options.run_dir = resume != nullptr ? learner->resume_dir : NewTrainRunDir(*config, *learner);
  options.quiet = absl::GetFlag(FLAGS_quiet);
  // The learner's own shutdown budget plus time to flush and exit.
  options.learner_grace = absl::Seconds(learner->grace_period_seconds) + absl::Seconds(10);
  LogRaw(TrainStartLines(*config, given, options.run_dir, resume != nullptr ? resume->checkpoint.path : ""));
  return RunLocalCluster(options);
}

}  // namespace proxima

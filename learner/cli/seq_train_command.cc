#include "learner/cli/seq_train_command.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "common/flags.h"
#include "common/lm/task_registry.h"
#include "common/logging.h"
#include "learner/cli/learner_flags.h"
#include "learner/cli/local_cluster.h"
#include "learner/cli/seq_learner_flags.h"
#include "learner/cli/train_command.h"
#include "learner/lm/seq_checkpoint.h"
#include "learner/run_files.h"
#include "learner/server/seq_run_files.h"
#include "nlohmann/json.hpp"

ABSL_DECLARE_FLAG(int, actors);
ABSL_DECLARE_FLAG(int, actor_threads);
ABSL_DECLARE_FLAG(bool, quiet);
ABSL_DECLARE_FLAG(std::string, env);
ABSL_DECLARE_FLAG(std::string, algo);

namespace proxima {
namespace {

constexpr char kProgram[] = "proxima train";
constexpr int64_t kDefaultUpdates = 200;

[[noreturn]] void Refuse(const std::string& message) {
  ExitWithUsageError(kProgram, absl::InvalidArgumentError(message));
}

void SetDefault(const std::set<std::string>& given, const char* name, const std::string& value) {
  if (given.count(name) > 0) return;
  std::string error;
  if (!absl::FindCommandLineFlag(name)->ParseFrom(value, &error)) Refuse(error);
}

}  // namespace

bool IsSequenceRunDir(const std::string& dir) {
  return !dir.empty() && SeqRunFiles::ReadConfig(dir).ok();
}

int TrainSequenceCluster(const std::set<std::string>& given) {
  if (absl::GetFlag(FLAGS_in_process)) {
    Refuse("--in-process trains MLP policies; a sequence run in one process is "
           "`proxima lm rl` (docs/sequence-policies.md)");
  }
  absl::StatusOr<LearnerOptions> learner = LearnerOptionsFromFlags();
  if (!learner.ok()) ExitWithUsageError(kProgram, learner.status());
  std::set<std::string> learner_given = given;  // what the learner will see as given
  std::string run_dir;
  if (!learner->resume_dir.empty()) {
    absl::StatusOr<nlohmann::json> recorded = SeqRunFiles::ReadConfig(learner->resume_dir);
    if (!recorded.ok()) Refuse(absl::StrCat("--resume: ", recorded.status().message()));
    const std::string env = recorded->value("env", std::string());
    if (given.count("env") > 0 && absl::GetFlag(FLAGS_env) != env) {
      Refuse(absl::StrCat("--resume ", learner->resume_dir, " is a run of ", env, ", not ",
                          absl::GetFlag(FLAGS_env)));
    }
    absl::SetFlag(&FLAGS_env, env);
    if (absl::Status s = RestoreSeqRunFlags(*recorded, given); !s.ok()) {
      ExitWithUsageError(kProgram, s);
    }
    run_dir = learner->resume_dir;
  } else {
    SetDefault(given, "algo", "grpo");
    SetDefault(given, "lm_updates", absl::StrCat(kDefaultUpdates));
  }
  const std::string task_id = absl::GetFlag(FLAGS_env);
  std::set<std::string> check = given;
  check.erase("actors");
  check.erase("actor_threads");
  if (absl::Status s = CheckNoMlpOnlyFlags(check); !s.ok()) ExitWithUsageError(kProgram, s);
  if (!learner->tls_cert.empty() || !learner->auth_tokens_file.empty() ||
      !learner->auth_tokens.empty()) {
    Refuse("the local cluster runs on loopback without TLS or bearer tokens; for a secure "
           "cluster start proxima-learner and proxima-actor (docs/security.md)");
  }
  absl::StatusOr<SeqLearnerConfig> config = SeqLearnerConfigFromFlags(task_id);
  if (!config.ok()) ExitWithUsageError(kProgram, config.status());
  if (config->init_checkpoint.empty()) {
    Refuse("--init-checkpoint: a sequence run trains from a warm start; run `proxima lm sft "
           "--run-dir DIR` first and pass --init-checkpoint DIR");
  }
  // The checkpoint is checked here so that a bad one stops the run before
  // any process starts.
  absl::StatusOr<lm::LoadedSeqCheckpoint> init = lm::LoadSeqCheckpoint(config->init_checkpoint);
  if (!init.ok()) Refuse(absl::StrCat("--init-checkpoint: ", init.status().message()));
  if (init->info.task_id != task_id) {
    Refuse(absl::StrCat("--init-checkpoint ", init->path, " was trained on ", init->info.task_id,
                        ", this run is ", task_id));
  }
  const int actors = absl::GetFlag(FLAGS_actors);
  if (actors < 1) Refuse(absl::StrCat("--actors must be >= 1 (got ", actors, ")"));
  LocalClusterOptions options;
  options.sequence = true;
  options.env_id = task_id;
  options.total_steps = config->max_updates;
  options.num_envs = actors;  // one generator per actor
  options.actors = actors;
  options.actor_threads = absl::GetFlag(FLAGS_actor_threads);
  if (options.actor_threads < 1 || options.actor_threads > 256) {
    Refuse(absl::StrCat("--actor-threads must be in [1, 256] (got ", options.actor_threads, ")"));
  }
  // The learner gets every flag that defines the run, resolved (so its
  // config.json records them), then the learner flags given. A sync run's
  // first round waits for every actor started here (reproducible for a seed
  // and actor count); an explicit --min-actors comes later and wins.
  options.learner_flags.push_back(absl::StrCat("--env=", task_id));
  if (config->sync) options.learner_flags.push_back(absl::StrCat("--min-actors=", actors));
  for (const std::string& name : SeqRunFlagNames()) {
    const absl::CommandLineFlag* f = absl::FindCommandLineFlag(name);
    if (f == nullptr || (name == "seed" && f->CurrentValue() == f->DefaultValue())) continue;
    options.learner_flags.push_back(absl::StrCat(DashedFlag(name), "=", f->CurrentValue()));
  }
  for (const std::string& flag : LearnerFlagsToForward(given)) {
    if (absl::StartsWith(flag, "--env=") || absl::StartsWith(flag, "--seed=")) continue;
    options.learner_flags.push_back(flag);
  }
  if (run_dir.empty()) {
    absl::StatusOr<std::string> dir =
        NewRunDir(learner->run_dir, DefaultRunDir(task_id, config->seed), learner->overwrite);
    if (absl::IsInvalidArgument(dir.status())) ExitWithUsageError(kProgram, dir.status());
    if (!dir.ok()) {
      LogError(dir.status().ToString());
      return 1;
    }
    run_dir = *dir;
  }
  options.run_dir = run_dir;
  options.run = {{"command", "proxima train"},
                 {"actors", actors},
                 {"actor_threads", options.actor_threads},
                 {"resumed", !learner->resume_dir.empty()}};
  options.quiet = absl::GetFlag(FLAGS_quiet);
  options.learner_grace = absl::Seconds(learner->grace_period_seconds) + absl::Seconds(30);
  if (absl::GetFlag(FLAGS_print_config)) {
    nlohmann::json shown = {{"kind", "sequence"},
                            {"env", task_id},
                            {"learner_flags", SeqRunFlagValues()},
                            {"init_checkpoint", config->init_checkpoint},
                            {"run", options.run}};
    std::printf("%s\n", shown.dump(2).c_str());
    return 0;
  }
  LogRaw(absl::StrFormat(
      "proxima train: %s, %s from %s (SFT held-out exact match %.1f%%), %d actors, %d updates "
      "of %s%s; run directory %s%s\n",
      task_id, absl::GetFlag(FLAGS_algo), init->path, 100 * init->info.sft.held_out_accuracy,
      actors, config->max_updates,
      config->sync ? "one chunk per actor (sync)"
                   : absl::StrCat(config->training->chunks_per_update, " chunks"),
      config->training->reward_settings.enabled()
          ? absl::StrCat(", rewarded by the reward model ",
                         config->training->reward_settings.reward_model, " (scored in the learner)")
          : "",
      run_dir, learner->resume_dir.empty() ? "" : " (resumed)"));
  return RunLocalCluster(options);
}

}  // namespace proxima

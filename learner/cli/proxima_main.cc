// `proxima-torch`: the commands of `proxima` that load LibTorch — train,
// eval, export and bench. Users run them as `proxima COMMAND ...`: the
// `proxima` executable (proxima_front_main.cc, which loads no LibTorch)
// replaces itself with this one, argv unchanged, so messages name the
// command as "proxima train: ..." and the usage is `proxima --help`'s.
//
// Exit status: 0 success, 1 runtime failure (run failed), 2 bad command
// line or config.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/envs/mujoco/mujoco_registry.h"
#include "common/flags.h"
#include "common/logging.h"
#include "learner/cli/bench/bench_command.h"
#include "learner/cli/command_help.h"
#include "learner/cli/eval_command.h"
#include "learner/cli/export_command.h"
#include "learner/cli/learner_flags.h"
#include "learner/cli/local_cluster.h"
#include "learner/cli/ppo_flags.h"
#include "learner/cli/train_plan.h"
#include "learner/in_process_trainer.h"
#include "learner/resume_config.h"
#include "learner/run_files.h"
#include "learner/trainer_checkpoint.h"

ABSL_FLAG(bool, in_process, false,
          "train: run vector env + PPO in this process (no actors, no network)");
ABSL_FLAG(int, actors, 2, "train: actor processes of the local cluster");
ABSL_FLAG(bool, print_config, false,
          "train: print the resolved config (config.json as the run would write it, \"run\" "
          "included) and exit without training");
ABSL_FLAG(int, actor_threads, 1,
          "train: threads per actor process (proxima-actor --threads): env columns stepped in "
          "parallel");
ABSL_FLAG(bool, json, false, "eval: print the result as one JSON object");
// --run-dir, --stop-when-solved, --quiet and --mode live in learner_flags.cc,
// --env in ppo_flags.cc.
ABSL_DECLARE_FLAG(std::string, run_dir);
ABSL_DECLARE_FLAG(std::string, mode);
ABSL_DECLARE_FLAG(std::string, env);
ABSL_DECLARE_FLAG(bool, stop_when_solved);
ABSL_DECLARE_FLAG(bool, quiet);
namespace proxima {
namespace {

constexpr char kUsage[] =
    "usage: proxima train|eval|export|bench [flags] (run through `proxima`; see 'proxima "
    "--help')\n";

// A new run's directory (NewRunDir, learner/run_files.h); exits 2 for a
// --run-dir that holds a run without --overwrite.
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

// With --resume: the checkpoint to continue and its config with the flags
// given again applied (learner/resume_config.h); exits 2 for a directory
// without a checkpoint or a flag that cannot change.
std::optional<ResumePoint> TrainResumePoint(const LearnerOptions& learner,
                                            const std::set<std::string>& given) {
  if (learner.resume_dir.empty()) return std::nullopt;
  absl::StatusOr<ResumePoint> point =
      FindResumePoint(learner.resume_dir, ResumeChangesGiven(given));
  if (absl::IsInvalidArgument(point.status())) ExitWithUsageError("proxima train", point.status());
  if (!point.ok()) {
    LogError(point.status().ToString());
    std::exit(1);
  }
  return *std::move(point);
}

// The local cluster: learner + actor processes (learner/cli/local_cluster.h).
// Everything is validated here, so bad input exits 2 before any process
// starts.
int TrainCluster(const std::set<std::string>& given) {
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
  const std::optional<ResumePoint> resume = TrainResumePoint(*learner, given);
  if (resume) {
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
  options.learner_flags = LearnerFlagsToForward();
  // A MuJoCo preset collects its batch as one 2,048-step env column
  // (CleanRL's ppo_continuous_action). A cluster of N actors splits it into N
  // columns of 2,048/N steps, one per actor: a sync round (one chunk per
  // actor) is then exactly one batch, and async chunks are 1/N of a batch,
  // which keeps the policy lag of trained data low. --num-envs or
  // --rollout-length on the command line turn this off.
  if (!resume && IsMujocoEnvId(config->env_id) && actors > 1 && config->num_envs == 1 &&
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
  options.run_dir = resume ? learner->resume_dir : NewTrainRunDir(*config, *learner);
  options.quiet = absl::GetFlag(FLAGS_quiet);
  // The learner's own shutdown budget plus time to flush and exit.
  options.learner_grace = absl::Seconds(learner->grace_period_seconds) + absl::Seconds(10);
  LogRaw(TrainStartLines(*config, given, options.run_dir, resume ? resume->checkpoint.path : ""));
  return RunLocalCluster(options);
}

int Train(const std::set<std::string>& given) {
  if (!absl::GetFlag(FLAGS_in_process)) return TrainCluster(given);
  absl::StatusOr<PpoConfig> config = PpoConfigFromFlags();
  if (!config.ok()) ExitWithUsageError("proxima train", config.status());
  // --run-dir, --overwrite, --resume and the checkpoint cadence.
  absl::StatusOr<LearnerOptions> learner = LearnerOptionsFromFlags();
  if (!learner.ok()) ExitWithUsageError("proxima train", learner.status());
  const std::optional<ResumePoint> resume = TrainResumePoint(*learner, given);
  TrainPlan plan;
  plan.in_process = true;
  plan.stop_when_solved = absl::GetFlag(FLAGS_stop_when_solved);
  const PpoConfig& resolved = resume ? resume->config : *config;
  if (absl::Status conflict = CheckTrainFlags(given, plan, resolved); !conflict.ok()) {
    ExitWithUsageError("proxima train", conflict);
  }
  if (absl::GetFlag(FLAGS_print_config)) {
    std::printf("%s\n", TrainConfigJson(plan, resolved).dump(2).c_str());
    return 0;
  }
  TrainerOptions options;
  options.run_dir = resume ? learner->resume_dir : NewTrainRunDir(*config, *learner);
  options.stop_when_solved = absl::GetFlag(FLAGS_stop_when_solved);
  options.progress = !absl::GetFlag(FLAGS_quiet);
  options.checkpoint_every_seconds = learner->checkpoint_every_seconds;
  options.checkpoint_every_updates = learner->checkpoint_every_updates;
  options.keep_checkpoints = learner->keep_checkpoints;
  options.eval = learner->eval;
  auto trainer =
      resume ? ResumeTrainer(*resume, options) : InProcessTrainer::Create(*config, options);
  if (!trainer.ok()) {
    if (trainer.status().code() == absl::StatusCode::kInvalidArgument ||
        trainer.status().code() == absl::StatusCode::kFailedPrecondition) {
      ExitWithUsageError("proxima train", trainer.status());
    }
    LogError(trainer.status().ToString());
    return 1;
  }
  if (absl::Status added = AddRunToConfigJson(options.run_dir, RunToJson(plan, resolved));
      !added.ok()) {
    LogWarning(absl::StrCat("config.json: cannot add the run's launch: ", added.message()));
  }
  LogRaw(TrainStartLines(resolved, given, options.run_dir, resume ? resume->checkpoint.path : ""));
  absl::StatusOr<RunSummary> summary = (*trainer)->Run();
  if (!summary.ok()) {
    LogError(summary.status().ToString());
    return 1;
  }
  std::printf("%s\n", SummaryForDisplay(SummaryToJson(*summary)).dump(2).c_str());
  std::printf("run directory: %s\n", options.run_dir.c_str());
  return 0;
}

}  // namespace
}  // namespace proxima

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // `bench` parses its own flags (learner/cli/bench/bench_command.h); the
  // rest are named once parsed.
  if (!args.empty() && args[0] == "bench") {
    proxima::SetProcessName("proxima bench");
    return proxima::BenchMain({args.begin() + 1, args.end()});
  }
  proxima::ParsedArgs parsed;
  absl::Status s = proxima::ParseFlags(args, &parsed);
  proxima::SetProcessName(proxima::CommandProgramName(parsed.positional));
  if (parsed.help && !parsed.positional.empty()) {
    return proxima::PrintCommandHelp(parsed.positional[0], absl::GetFlag(FLAGS_env),
                                     proxima::kUsage);
  }
  if (parsed.help || (s.ok() && parsed.positional.empty())) {
    std::printf("%s", proxima::kUsage);
    return parsed.help ? 0 : 2;
  }
  if (!s.ok()) proxima::ExitWithUsageError("proxima", s);
  const std::vector<std::string>& pos = parsed.positional;
  const std::string& cmd = pos[0];
  if (cmd == "train" && pos.size() == 1) return proxima::Train(parsed.given);
  if (cmd == "export" && pos.size() == 1) return proxima::ExportCommand(std::cout, std::cerr);
  if (cmd == "eval" && pos.size() == 1) return proxima::EvalCommand(args, std::cout, std::cerr);
  proxima::ExitWithUsageError(
      "proxima", absl::InvalidArgumentError(absl::StrCat(
                     "unknown command '", absl::StrJoin(pos, " "), "'; see 'proxima --help'")));
}

// `proxima-torch`: the commands of `proxima` that load LibTorch — train
// (--resume, --in-process), eval, export, bench and lm. Users run them as `proxima COMMAND ...`: the
// `proxima` executable (proxima_main.cc, which loads no LibTorch)
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
#include "common/flags.h"
#include "common/lm/task_registry.h"
#include "common/logging.h"
#include "learner/cli/bench/bench_command.h"
#include "learner/cli/command_help.h"
#include "learner/cli/eval_command.h"
#include "learner/cli/export_command.h"
#include "learner/cli/learner_flags.h"
#include "learner/cli/ppo_flags.h"
#include "learner/cli/seq_train_command.h"
#include "learner/cli/train_command.h"
#include "learner/cli/train_plan.h"
#include "learner/in_process_trainer.h"
#include "learner/lm/lm_command.h"
#include "learner/resume_config.h"
#include "learner/run_files.h"
#include "learner/trainer_checkpoint.h"

ABSL_FLAG(bool, json, false, "eval: print the result as one JSON object");
// --stop-when-solved and --quiet live in learner_flags.cc, --in-process and
// --print-config in train_command.cc.
ABSL_DECLARE_FLAG(bool, stop_when_solved);
ABSL_DECLARE_FLAG(bool, quiet);
ABSL_DECLARE_FLAG(std::string, env);
ABSL_DECLARE_FLAG(std::string, resume);
namespace proxima {
namespace {

constexpr char kUsage[] =
    "usage: proxima train|eval|export|bench|lm [flags] (run through `proxima`; see 'proxima "
    "--help')\n";

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

// `proxima train --resume DIR` (local cluster) and `--in-process`; a new
// local-cluster run starts from `proxima` (train_command.h).
int Train(const std::set<std::string>& given) {
  if (lm::IsTaskId(absl::GetFlag(FLAGS_env)) || IsSequenceRunDir(absl::GetFlag(FLAGS_resume))) {
    return TrainSequenceCluster(given);
  }
  if (!absl::GetFlag(FLAGS_in_process)) {
    absl::StatusOr<LearnerOptions> learner = LearnerOptionsFromFlags();
    if (!learner.ok()) ExitWithUsageError("proxima train", learner.status());
    const std::optional<ResumePoint> resume = TrainResumePoint(*learner, given);
    return TrainCluster(given, resume ? &*resume : nullptr);
  }
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
  // `lm` parses its own flags too (learner/lm/lm_command.h).
  if (!args.empty() && args[0] == "lm") {
    proxima::SetProcessName("proxima lm");
    return proxima::RunLmCommand(argc - 1, argv + 1);
  }
  proxima::ParsedArgs parsed;
  if (const std::optional<int> done = proxima::ParseCommandLine(args, proxima::kUsage, &parsed)) {
    return *done;
  }
  const std::vector<std::string>& pos = parsed.positional;
  const std::string& cmd = pos[0];
  if (cmd == "train" && pos.size() == 1) return proxima::Train(parsed.given);
  if (cmd == "export" && pos.size() == 1) return proxima::ExportCommand(std::cout, std::cerr);
  if (cmd == "eval" && pos.size() == 1) return proxima::EvalCommand(args, std::cout, std::cerr);
  proxima::ExitWithUsageError(
      "proxima", absl::InvalidArgumentError(absl::StrCat(
                     "unknown command '", absl::StrJoin(pos, " "), "'; see 'proxima --help'")));
}

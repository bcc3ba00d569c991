#include "learner/cli/eval_command.h"

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/policy/cpu_threads.h"
#include "common/flags.h"
#include "common/lm/task_eval.h"
#include "common/lm/task_registry.h"
#include "learner/export/policy_evaluator.h"
#include "learner/lm/seq_checkpoint.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, policy, "", "eval: a TorchScript policy written by `proxima export`");
ABSL_FLAG(int, episodes, 10, "eval: episodes to run");
ABSL_FLAG(bool, deterministic, false, "eval: act with the argmax / mean instead of sampling");
ABSL_FLAG(int, prompts, 500,
          "eval of a sequence-policy checkpoint: held-out prompts to complete greedily");
ABSL_DECLARE_FLAG(std::string, checkpoint);  // export_command.cc
ABSL_DECLARE_FLAG(std::string, env);         // ppo_flags.cc
ABSL_DECLARE_FLAG(std::optional<uint64_t>, seed);
ABSL_DECLARE_FLAG(std::optional<bool>, clip_action);  // ppo_flags.cc; eval: default the policy's
ABSL_DECLARE_FLAG(bool, json);               // proxima_torch_main.cc

namespace proxima {
namespace {

constexpr char kProgram[] = "proxima eval";
constexpr uint64_t kDefaultSeed = 1;

// --env has a default (CartPole-v1) for `train`, but eval defaults to the
// policy's env, so it must know whether --env was given — on the command line
// or in a --flagfile. Re-parsing the same arguments with --env cleared tells
// (they parsed once, so they parse again to the same values).
bool EnvFlagGiven(const std::vector<std::string>& args) {
  const std::string parsed = absl::GetFlag(FLAGS_env);
  absl::SetFlag(&FLAGS_env, "");
  ParsedArgs again;
  const bool given = ParseFlags(args, &again).ok() && !absl::GetFlag(FLAGS_env).empty();
  absl::SetFlag(&FLAGS_env, parsed);
  return given;
}

// Bad input (a missing or unreadable policy file, an env that does not exist
// or does not fit) exits 2; anything else (e.g. a remote env that fails) 1.
int Fail(const absl::Status& s, std::ostream& err) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kDataLoss:
      ExitWithUsageError(kProgram, s);
    default:
      err << kProgram << ": " << s.message() << "\n";
      return 1;
  }
}

// A sequence-policy checkpoint (learner/lm/seq_checkpoint.h): greedy exact
// match and mean partial credit on --prompts held-out prompts of its task.
int SeqEvalCommand(const std::string& checkpoint, std::ostream& out, std::ostream& err) {
  const int prompts = absl::GetFlag(FLAGS_prompts);
  if (prompts <= 0) {
    ExitWithUsageError(kProgram, absl::InvalidArgumentError(
                                     absl::StrCat("--prompts must be >= 1 (got ", prompts, ")")));
  }
  const uint64_t seed = absl::GetFlag(FLAGS_seed).value_or(kDefaultSeed);
  absl::StatusOr<lm::LoadedSeqCheckpoint> ckpt = lm::LoadSeqCheckpoint(checkpoint);
  if (!ckpt.ok()) return Fail(ckpt.status(), err);
  absl::StatusOr<std::unique_ptr<lm::Task>> task = lm::MakeTask(ckpt->info.task_id);
  if (!task.ok()) {
    return Fail(absl::DataLossError(absl::StrCat(ckpt->path, ": ", task.status().message())), err);
  }
  absl::StatusOr<lm::TaskEvalResult> r = lm::EvaluateTask(
      *ckpt->model, **task, *ckpt->tokenizer, lm::TaskSplit::kHeldOut, prompts, seed);
  if (!r.ok()) return Fail(r.status(), err);
  if (absl::GetFlag(FLAGS_json)) {
    nlohmann::json j = {{"checkpoint", ckpt->path},       {"task", ckpt->info.task_id},
                        {"split", "held-out"},            {"decoding", "greedy"},
                        {"seed", seed},                   {"prompts", r->prompts},
                        {"exact", r->exact},              {"accuracy", r->accuracy},
                        {"mean_partial_credit", r->mean_partial_credit},
                        {"policy_version", ckpt->info.policy_version}};
    out << j.dump() << "\n";
  } else {
    out << absl::StrFormat(
        "%s: %d held-out prompts (greedy, seed %d): exact match %.1f%% (%d/%d), partial credit "
        "%.3f\n",
        ckpt->info.task_id, r->prompts, seed, 100.0 * r->accuracy, r->exact, r->prompts,
        r->mean_partial_credit);
  }
  return 0;
}

}  // namespace

int EvalCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const std::string checkpoint = absl::GetFlag(FLAGS_checkpoint);
  const std::string policy_path = absl::GetFlag(FLAGS_policy);
  if (checkpoint.empty() == policy_path.empty()) {
    ExitWithUsageError(kProgram, absl::InvalidArgumentError(
                                     "give exactly one of --checkpoint PATH and --policy FILE"));
  }
  ConfigureCpuThreads(1);
  if (!checkpoint.empty()) {
    absl::StatusOr<bool> seq = lm::DetectSeqCheckpoint(checkpoint);
    if (!seq.ok()) return Fail(seq.status(), err);
    if (*seq) return SeqEvalCommand(checkpoint, out, err);
  }
  EvalOptions options;
  options.episodes = absl::GetFlag(FLAGS_episodes);
  if (options.episodes <= 0) {
    ExitWithUsageError(kProgram, absl::InvalidArgumentError(absl::StrCat(
                                     "--episodes must be >= 1 (got ", options.episodes, ")")));
  }
  options.deterministic = absl::GetFlag(FLAGS_deterministic);
  options.seed = absl::GetFlag(FLAGS_seed).value_or(kDefaultSeed);
  options.clip_action = absl::GetFlag(FLAGS_clip_action);
  if (EnvFlagGiven(args)) options.env_id = absl::GetFlag(FLAGS_env);

  absl::StatusOr<std::unique_ptr<EvalPolicy>> policy =
      checkpoint.empty() ? LoadTorchScriptEvalPolicy(policy_path)
                         : LoadCheckpointEvalPolicy(checkpoint);
  if (!policy.ok()) return Fail(policy.status(), err);
  absl::StatusOr<EvalResult> r = Evaluate(**policy, options);
  if (!r.ok()) return Fail(r.status(), err);
  if (absl::GetFlag(FLAGS_json)) {
    out << EvalResultToJson(*r).dump() << "\n";
  } else {
    out << absl::StrFormat(
        "%s: %d episodes (%s, seed %d%s): return %.2f ± %.2f, length %.1f ± %.1f\n", r->env,
        r->returns.size(), r->deterministic ? "deterministic" : "stochastic", r->seed,
        r->clip_action ? ", actions clipped" : "", r->mean_return, r->std_return, r->mean_length,
        r->std_length);
  }
  return 0;
}

}  // namespace proxima

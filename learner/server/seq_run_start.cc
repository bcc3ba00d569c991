#include "learner/server/seq_run_start.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "learner/lm/sft.h"
#include "learner/server/seq_reward.h"

namespace proxima {
namespace {

// The model of the checkpoint at `path`, with its shape and alphabet written
// into `run` (checked against run->task_id).
absl::StatusOr<lm::LoadedSeqCheckpoint> StartFromCheckpoint(const std::string& path,
                                                            SeqRunSettings* run) {
  PROXIMA_ASSIGN_OR_RETURN(lm::LoadedSeqCheckpoint ckpt, lm::LoadSeqCheckpoint(path));
  const lm::SeqCheckpointInfo& info = ckpt.info;
  if (info.task_id != run->task_id) {
    return absl::InvalidArgumentError(absl::StrCat("--init-checkpoint ", ckpt.path,
                                                   " was trained on ", info.task_id,
                                                   ", this run is ", run->task_id));
  }
  if (info.tokenizer.kind != lm::kCharTokenizerKind) {
    return absl::InvalidArgumentError(
        absl::StrCat("--init-checkpoint ", ckpt.path, " has a ", info.tokenizer.kind,
                     " tokenizer; a sequence run's actors take character tokenizers only"));
  }
  run->alphabet = info.tokenizer.data;
  run->model = info.config;
  PROXIMA_RETURN_IF_ERROR(run->Finish());
  LogInfo(absl::StrFormat("starting from %s (version %llu, SFT held-out exact match %.1f%%)",
                          ckpt.path, static_cast<unsigned long long>(info.policy_version),
                          100 * info.sft.held_out_accuracy));
  return ckpt;
}

absl::Status CheckRunSettings(const SeqLearnerConfig& config) {
  if (config.held_out_every < 0 || config.held_out_prompts < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "held-out evaluation: every ", config.held_out_every, " chunks on ",
        config.held_out_prompts, " prompts; want every >= 0 and prompts >= 1"));
  }
  if (!config.training.has_value() &&
      (!config.run_dir.empty() || config.max_updates > 0 || config.eval_every_updates > 0)) {
    return absl::InvalidArgumentError(
        "a run directory, max_updates and eval_every_updates need training (--algo)");
  }
  if (config.max_updates < 0 || config.eval_every_updates < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_updates ", config.max_updates, " and eval_every_updates ",
        config.eval_every_updates, " must be >= 0"));
  }
  if (config.resume && config.run_dir.empty()) {
    return absl::InvalidArgumentError("resume needs the run directory to continue");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SeqRunStart> PrepareSeqRunStart(SeqLearnerConfig* config) {
  PROXIMA_RETURN_IF_ERROR(config->run.Finish());
  PROXIMA_RETURN_IF_ERROR(CheckRunSettings(*config));
  SeqRunStart start;
  if (config->init_checkpoint.empty()) {
    start.model = lm::SeqPolicy(config->run.model, config->seed);
    // The frozen reference is the policy's start: the same seeded init.
    if (config->training.has_value()) {
      start.reference = lm::SeqPolicy(config->run.model, config->seed);
    }
  } else {
    PROXIMA_ASSIGN_OR_RETURN(lm::LoadedSeqCheckpoint init,
                             StartFromCheckpoint(config->init_checkpoint, &config->run));
    start.model = init.model;
    start.checkpoint.sft = init.info.sft;
    start.held_out_seed = lm::HeldOutEvalSeed(init.info.sft.seed);
    // ... or the same checkpoint, loaded again.
    if (config->training.has_value()) {
      PROXIMA_ASSIGN_OR_RETURN(lm::LoadedSeqCheckpoint ref,
                               lm::LoadSeqCheckpoint(config->init_checkpoint));
      start.reference = ref.model;
    }
  }
  if (config->training.has_value() && config->training->reward_settings.enabled()) {
    // Issue 26: the learned reward, normalized on the reference's samples.
    SeqRewardModel::Options r;
    r.settings = config->training->reward_settings;
    r.task_id = config->run.task_id;
    r.rule = config->run.reward_mode;
    r.held_out_prompts = config->held_out_prompts;
    r.held_out_seed = start.held_out_seed;
    r.max_new_tokens = config->run.max_new_tokens;
    PROXIMA_ASSIGN_OR_RETURN(config->training->reward,
                             SeqRewardModel::Create(r, start.reference));
  }
  start.checkpoint.config = config->run.model;
  start.checkpoint.tokenizer = {lm::kCharTokenizerKind, config->run.alphabet};
  start.checkpoint.task_id = config->run.task_id;
  if (config->resume) {
    PROXIMA_ASSIGN_OR_RETURN(start.files, SeqRunFiles::Reopen(config->run_dir));
    PROXIMA_ASSIGN_OR_RETURN(lm::LoadedSeqCheckpoint last,
                             lm::LoadSeqCheckpoint(config->run_dir));
    if (last.info.config.DebugString() != config->run.model.DebugString() ||
        last.info.task_id != config->run.task_id) {
      return absl::FailedPreconditionError(absl::StrCat(
          last.path, " holds ", last.info.task_id, " (", last.info.config.DebugString(),
          "), not this run's ", config->run.task_id, " (", config->run.model.DebugString(), ")"));
    }
    start.model = last.model;
    start.version = last.info.policy_version;
    LogInfo(absl::StrFormat("resuming %s from %s (version %llu)", config->run_dir, last.path,
                            static_cast<unsigned long long>(start.version)));
  } else if (!config->run_dir.empty()) {
    PROXIMA_ASSIGN_OR_RETURN(start.files,
                             SeqRunFiles::Create(config->run_dir, config->run_config));
  }
  start.model->eval();
  return start;
}

}  // namespace proxima

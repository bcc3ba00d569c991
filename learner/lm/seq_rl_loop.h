// RunSeqRlLoop: reinforcement learning of a sequence policy in one process —
// generate, score, update, evaluate — the same steps the actor-learner
// cluster runs across processes, without the wire. It is the reference the
// cluster's sequence runs are compared with, and the quickest way to see
// what GRPO or sequence PPO does to a task.
//
// Each iteration samples `prompts_per_update` prompts of the task's TRAIN
// split (never a held-out one), generates `group_size` completions of each
// with the current policy (temperature, top_k, max_new_tokens = the task's
// longest answer + 1, stop at <eos>; the KV cache), scores every completion
// by the task's rule (`reward_mode`) — or, given SeqRlHooks::score, by that
// scorer (a learned reward model: learner/lm/rlhf_scorer.h) — packs them as
// one SequenceChunk per prompt group and runs one SeqTrainer::Update. Every
// `eval_every` iterations, and after the last, EvaluateTask measures greedy
// exact match on `eval_prompts` held-out prompts (the same prompts each time,
// and the same as `proxima lm sft` with this seed and count evaluates);
// SeqRlHooks::evaluate, when set, runs at the same points and once before
// the first iteration (iteration 0).
//
// Deterministic for fixed seeds and thread count. Errors: InvalidArgument
// for bad options (naming the field) or a task the model cannot hold;
// whatever SeqTrainer::Update returns.
#ifndef PROXIMA_LEARNER_LM_SEQ_RL_LOOP_H_
#define PROXIMA_LEARNER_LM_SEQ_RL_LOOP_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/lm/task.h"
#include "common/lm/task_eval.h"
#include "common/lm/tokenizer.h"
#include "learner/lm/seq_trainer.h"

namespace proxima::learner_lm {

struct SeqRlLoopOptions {
  int iterations = 100;
  int prompts_per_update = 16;
  int group_size = 8;
  double temperature = 1.0;
  int top_k = 0;
  lm::RewardMode reward_mode = lm::RewardMode::kExactMatch;
  int eval_every = 10;  // 0: only after the last iteration
  int eval_prompts = 500;
  // > 0: each evaluation also samples this many completions of every
  // held-out prompt at `temperature` (EvaluateTaskSampled: the success rate
  // RL maximizes, next to the greedy accuracy).
  int eval_samples = 0;
  uint64_t seed = 1;  // prompts and sampling
  // Generation's limit per completion, <eos> included; 0: the task's longest
  // answer + 1.
  int max_new_tokens = 0;

  absl::Status Validate() const;
};

// One iteration's completions, in generation order: prompt p's group is
// [p · group_size, (p + 1) · group_size).
struct CompletionBatch {
  std::vector<std::string> prompts;      // the task prompt of each completion
  std::vector<std::string> completions;  // decoded, without <eos>; "" when !decoded
  std::vector<bool> decoded;             // false: a special token before <eos>
};

// What the loop calls besides the trainer (both optional).
struct SeqRlHooks {
  // The rewards of a batch, one per completion, replacing the task's rule.
  // An error stops the loop and is returned.
  std::function<absl::StatusOr<std::vector<double>>(const CompletionBatch&)> score;
  // Runs after each held-out evaluation, with the iterations done (0: before
  // the first). An error stops the loop and is returned.
  std::function<absl::Status(int iteration)> evaluate;
};

struct SeqRlProgress {
  int iteration = 0;  // iterations done
  int64_t sequences = 0;
  int64_t tokens = 0;  // generated so far
  double seconds = 0;
  double generation_seconds = 0;  // of which generating
  SeqUpdateMetrics update;        // the last update's
  std::optional<lm::TaskEvalResult> held_out;
  std::optional<lm::TaskEvalResult> held_out_sampled;  // with eval_samples
};

struct SeqRlResult {
  lm::TaskEvalResult initial;  // before the first update
  lm::TaskEvalResult final;    // after the last
  // The same, sampled (eval_samples > 0; else unset).
  std::optional<lm::TaskEvalResult> initial_sampled, final_sampled;
  SeqRlProgress last;
};

absl::StatusOr<SeqRlResult> RunSeqRlLoop(SeqTrainer& trainer, const lm::Task& task,
                                         const lm::Tokenizer& tokenizer,
                                         const SeqRlLoopOptions& options,
                                         const std::function<void(const SeqRlProgress&)>& on_progress,
                                         const SeqRlHooks& hooks = {});

}  // namespace proxima::learner_lm

#endif  // PROXIMA_LEARNER_LM_SEQ_RL_LOOP_H_

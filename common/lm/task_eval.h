// EvaluateTask: a sequence policy's accuracy on a task split, by the task's
// rule.
//
// Draws `num_prompts` prompts of `split` with Rng(seed) (the same prompts for
// the same task, split and seed, whatever the model), completes each with
// greedy decoding (temperature 0, stop at <eos>, at most the task's longest
// answer + 1 tokens; EvaluateTaskSampled: sampled, several times per
// prompt), batched by prompt length, and scores the decoded
// completion with RewardMode::kExactMatch (accuracy) and kPartialCredit
// (mean_partial_credit). A completion that does not decode (a special token
// before its <eos>) scores 0. Errors: InvalidArgument for num_prompts < 1
// or a task whose prompts do not fit the model (its vocabulary or
// max_seq_len).
#ifndef PROXIMA_COMMON_LM_TASK_EVAL_H_
#define PROXIMA_COMMON_LM_TASK_EVAL_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "common/lm/char_tokenizer.h"
#include "common/lm/seq_policy.h"
#include "common/lm/task.h"

namespace proxima::lm {

struct TaskEvalResult {
  int prompts = 0;
  int completions = 0;               // prompts x samples per prompt
  int exact = 0;                     // completions equal to the answer
  double accuracy = 0.0;             // exact / completions
  double mean_partial_credit = 0.0;  // mean kPartialCredit reward
};

absl::StatusOr<TaskEvalResult> EvaluateTask(SeqPolicyImpl& model, const Task& task,
                                            const Tokenizer& tokenizer, TaskSplit split,
                                            int num_prompts, uint64_t seed);

// The same prompts (same `seed`), each completed `samples` times by sampling
// at `temperature` (> 0) with Rng(sample_seed): the policy's success rate
// as it samples — what RL maximizes — where EvaluateTask measures its greedy
// answer. InvalidArgument also for samples < 1 or temperature <= 0.
absl::StatusOr<TaskEvalResult> EvaluateTaskSampled(SeqPolicyImpl& model, const Task& task,
                                                   const Tokenizer& tokenizer, TaskSplit split,
                                                   int num_prompts, uint64_t seed,
                                                   double temperature, int samples,
                                                   uint64_t sample_seed);

}  // namespace proxima::lm

#endif  // PROXIMA_COMMON_LM_TASK_EVAL_H_

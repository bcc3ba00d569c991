// Supervised warm start of a sequence policy: train on the task's own
// demonstrations (prompt → rule answer), report held-out exact match.
//
// Each step draws batch_size examples from the task's kTrain split (never a
// held-out problem), builds the sequences <bos> prompt answer <eos>, right-
// padded (MakeSftBatch), and minimizes the mean cross-entropy of the answer
// and <eos> tokens given everything before them (the prompt's own tokens are
// not targets: the policy is never trained to write prompts). Adam, the
// learning rate warmed up linearly over warmup_steps then decayed by a cosine
// to a tenth at the last step, the gradient norm clipped to grad_clip. Every
// eval_every steps and after the last one, EvaluateTask (common/lm/
// task_eval.h) measures greedy exact match on eval_prompts held-out prompts
// (the same prompts at every evaluation).
//
// Deterministic for a fixed seed, model and thread count (CPU). LibTorch
// errors inside a step become an Internal status; options are validated
// first (InvalidArgument naming the field). Runs on the calling thread.
#ifndef PROXIMA_LEARNER_LM_SFT_H_
#define PROXIMA_LEARNER_LM_SFT_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/lm/char_tokenizer.h"
#include "common/lm/seq_policy.h"
#include "common/lm/task.h"
#include "common/lm/task_eval.h"

namespace proxima::lm {

struct SftOptions {
  int steps = 2000;
  int batch_size = 64;
  double learning_rate = 1e-3;
  int warmup_steps = 100;
  double grad_clip = 1.0;
  int eval_every = 500;    // 0: evaluate only after the last step
  int eval_prompts = 500;  // held-out prompts per evaluation
  uint64_t seed = 1;       // the demonstrations' draws (the model has its own)

  absl::Status Validate() const;
};

// Demonstrations as next-token targets: inputs are the sequences without
// their last token, targets the sequences shifted left by one, mask 1 where
// the target is an answer token or <eos>. All [B, L-1]; inputs and targets
// int64 (padding <pad>), mask float.
struct SftBatch {
  at::Tensor inputs;
  at::Tensor targets;
  at::Tensor mask;
};

absl::StatusOr<SftBatch> MakeSftBatch(const std::vector<TaskExample>& examples,
                                      const Tokenizer& tokenizer);

// The masked mean cross-entropy of `batch` under `model` (a scalar with grad).
at::Tensor SftLoss(SeqPolicyImpl& model, const SftBatch& batch);

// The seed of the held-out prompts RunSft evaluates for SftOptions.seed
// `seed`; an RL run from its checkpoint evaluates the same prompts with it.
uint64_t HeldOutEvalSeed(uint64_t seed);

struct SftProgress {
  int step = 0;  // steps done
  double loss = 0.0;
  double learning_rate = 0.0;
  std::optional<TaskEvalResult> held_out;  // on evaluation steps
};

struct SftResult {
  int steps = 0;
  double final_loss = 0.0;
  TaskEvalResult held_out;  // after the last step
  double seconds = 0.0;
};

// Trains `model` in place. `on_progress` (may be empty) is called on every
// evaluation step and every 100 steps.
absl::StatusOr<SftResult> RunSft(SeqPolicyImpl& model, const Task& task,
                                 const Tokenizer& tokenizer, const SftOptions& options,
                                 const std::function<void(const SftProgress&)>& on_progress);

}  // namespace proxima::lm

#endif  // PROXIMA_LEARNER_LM_SFT_H_

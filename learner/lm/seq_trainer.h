// SeqTrainer: the learner's update of a sequence policy on a batch of
// sequence chunks — GRPO (no critic) or sequence PPO (value-head critic,
// KL-shaped per-token rewards, GAE over tokens) — with a frozen reference
// model. The loss terms are learner/lm/seq_loss.h's; this class runs them.
//
// One Update(chunks):
//  1. MakeSeqBatch (learner/lm/seq_batch.h): one row per sequence.
//  2. A pre-pass under no-grad at the recorded temperature and top-k: the
//     policy's log-probs, entropies and values as they are before the update,
//     and the reference's log-probs. Reported KL to the reference is measured
//     here, on the actors' samples: per token the k3 estimate, per sequence
//     Σ_t (log π − log π_ref) over its completion tokens.
//  3. Advantages — GRPO: GroupRelativeAdvantages over each chunk's groups;
//     PPO: KlShapedRewards from the pre-pass (never from numbers an actor
//     sent) then TokenGae.
//  4. `epochs` passes over the rows in shuffled minibatches of
//     `minibatch_size` sequences: the loss (GrpoLoss with the ratio against
//     the actor's behaviour log-probs and the k3 KL to the reference in the
//     loss; or SeqPpoLoss), backward, the gradient norm clipped to
//     `grad_clip`, one Adam step. The first minibatch's ratios are reported
//     (max |ratio − 1|): in sync mode, before any step, it is float noise.
//  5. PPO with kl_target > 0: the KL coefficient adapts (AdaptKlCoefficient)
//     to the pre-pass mean per-sequence KL.
//
// Not thread-safe; the caller serializes updates. LibTorch errors become
// Internal; bad chunks InvalidArgument (from MakeSeqBatch); options are
// validated at construction (Create).
#ifndef PROXIMA_LEARNER_LM_SEQ_TRAINER_H_
#define PROXIMA_LEARNER_LM_SEQ_TRAINER_H_

#include <torch/optim/adam.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/lm/seq_policy.h"
#include "common/rng.h"
#include "common/wire/seq_chunk_codec.h"
#include "learner/lm/seq_loss.h"

namespace proxima::learner_lm {

enum class SeqAlgo { kGrpo, kPpo };

// "grpo" / "ppo"; InvalidArgument names anything else.
absl::StatusOr<SeqAlgo> ParseSeqAlgo(const std::string& name);
const char* SeqAlgoName(SeqAlgo algo);

struct SeqTrainerOptions {
  SeqAlgo algo = SeqAlgo::kGrpo;
  double learning_rate = 1e-4;
  double grad_clip = 1.0;
  int epochs = 1;
  int minibatch_size = 64;  // sequences
  uint64_t seed = 1;        // minibatch order

  // GRPO
  GrpoOptions grpo;
  bool scale_by_std = true;

  // Sequence PPO (its clip and value options; the KL goes in the reward)
  SeqPpoOptions ppo;
  double reward_kl_beta = 0.05;
  double kl_target = 0.0;  // > 0: adapt reward_kl_beta toward this per-sequence KL
  double kl_horizon = 10000.0;
  double gamma = 1.0;
  double lambda = 0.95;

  // OK, or InvalidArgument naming the first field out of range.
  absl::Status Validate() const;
};

struct SeqUpdateMetrics {
  int64_t sequences = 0;
  int64_t tokens = 0;
  int64_t groups = 0;
  int64_t degenerate_groups = 0;  // GRPO: groups with no reward spread
  double mean_reward = 0;
  double solved_fraction = 0;  // rewards ≥ 1 (an exact match)
  double mean_completion_length = 0;
  // Pre-pass, before the update:
  double kl_to_ref = 0;      // token mean of k3(π ‖ π_ref)
  double seq_kl_to_ref = 0;  // mean over sequences of Σ_t (log π − log π_ref)
  double entropy = 0;        // token mean
  double behaviour_gap = 0;  // token mean |log π − log μ| (policy lag + rounding)
  double behaviour_gap_max = 0;  // the largest
  // Over the update's minibatches (means):
  double loss = 0;
  double policy_loss = 0;
  double value_loss = 0;  // PPO only
  double clip_fraction = 0;
  double approx_kl = 0;
  double grad_norm = 0;
  double first_ratio_deviation = 0;  // max |ratio − 1| in the first minibatch
  double kl_coef = 0;                // the coefficient used (β or the reward's)
  int minibatch_steps = 0;
};

class SeqTrainer {
 public:
  // `policy` is trained in place; `reference` is only read (frozen).
  static absl::StatusOr<std::unique_ptr<SeqTrainer>> Create(lm::SeqPolicy policy,
                                                            lm::SeqPolicy reference,
                                                            const SeqTrainerOptions& options);

  absl::StatusOr<SeqUpdateMetrics> Update(absl::Span<const SequenceChunk> chunks);

  const SeqTrainerOptions& options() const { return options_; }
  lm::SeqPolicy policy() const { return policy_; }
  double reward_kl_beta() const { return reward_kl_beta_; }

 private:
  SeqTrainer(lm::SeqPolicy policy, lm::SeqPolicy reference, const SeqTrainerOptions& options);
  absl::StatusOr<SeqUpdateMetrics> UpdateOrThrow(absl::Span<const SequenceChunk> chunks);

  lm::SeqPolicy policy_;
  lm::SeqPolicy reference_;
  SeqTrainerOptions options_;
  torch::optim::Adam optimizer_;
  Rng rng_;
  double reward_kl_beta_;
};

}  // namespace proxima::learner_lm

#endif  // PROXIMA_LEARNER_LM_SEQ_TRAINER_H_

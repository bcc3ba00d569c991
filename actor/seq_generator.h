// SequenceGenerator: what an actor of a sequence run (protocol revision 2,
// docs/sequence-policies.md "Actors generating") does in place of stepping
// envs — it holds a SeqPolicy built from RunConfig.sequence, loads each
// WeightSnapshot into it (checksum, names and shapes checked), and makes
// one chunk's worth of data: prompts_per_chunk prompts drawn from the
// task's TRAIN split, G completions of each sampled with the KV cache at the
// run's temperature and top-k (stop token <eos>, at most max_new_tokens),
// every completion scored by the task's rule, groups numbered by a counter
// that runs over the generator's life (so ids never repeat in a session).
//
// Deterministic for a seed and a sequence of weights: prompts and samples
// come from one Rng seeded with the actor's action seed.
// Not thread-safe: one generator per stepping thread.
#ifndef PROXIMA_ACTOR_SEQ_GENERATOR_H_
#define PROXIMA_ACTOR_SEQ_GENERATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/lm/char_tokenizer.h"
#include "common/lm/seq_policy.h"
#include "common/lm/task.h"
#include "common/policy/seq_run_config.h"
#include "common/rng.h"
#include "common/wire/seq_chunk_codec.h"
#include "proxima/v1/weights.pb.h"

namespace proxima {

class SequenceGenerator {
 public:
  static absl::StatusOr<std::unique_ptr<SequenceGenerator>> Create(const SeqRunSettings& run,
                                                                   uint64_t seed);

  // Loads `snapshot` (all or nothing); its version becomes version().
  absl::Status SetWeights(const v1::WeightSnapshot& snapshot);
  uint64_t version() const { return version_; }
  bool has_weights() const { return has_weights_; }

  struct Timing {
    double generate_seconds = 0;  // sampling (the model)
    double score_seconds = 0;     // decoding and the task's rule
  };
  // One chunk: prompts_per_chunk groups of group_size completions.
  absl::StatusOr<SequenceChunk> Next(Timing* timing = nullptr);

  lm::SeqPolicyImpl& model() { return *model_; }

  // Replaces the rule's rewards of every chunk Next() makes, timed as
  // scoring: the actor placement of a learned reward model (issue 26), which
  // must be learner/server/seq_reward.h's RescoreSequenceChunks, the
  // function the learner placement runs, so that both give the same
  // rewards. Unset: the task's rule.
  using Rescorer = std::function<absl::Status(SequenceChunk*)>;
  void SetRescorer(Rescorer rescorer) { rescorer_ = std::move(rescorer); }

 private:
  SequenceGenerator(SeqRunSettings run, lm::CharTokenizer tok, std::unique_ptr<lm::Task> task,
                    uint64_t seed);

  const SeqRunSettings run_;
  const lm::CharTokenizer tokenizer_;
  const std::unique_ptr<lm::Task> task_;
  lm::SeqPolicy model_;
  Rng rng_;
  uint64_t version_ = 0;
  bool has_weights_ = false;
  int64_t next_group_ = 0;
  Rescorer rescorer_;
};

}  // namespace proxima

#endif  // PROXIMA_ACTOR_SEQ_GENERATOR_H_

// SequenceEvaluator: what the learner of a sequence run (protocol revision 2)
// does with accepted sequence chunks until issue 25 trains on them — it
// counts them (sequences, completion tokens, mean reward, mean completion
// length), recomputes log pi of every completion token with the learner's
// weights at the chunk's recorded temperature and top-k, and keeps the gap
// |log pi_learner - log mu_behaviour| (about 0 when the chunk's policy
// version is the learner's: the ratio-1 check GRPO/PPO rely on). It also
// counts rejected sequence chunks by rule class
// (common/wire/seq_chunk_validator.h) and can measure greedy exact match on
// the task's held-out prompts.
//
// TokenLogProb is the recomputation: log softmax(logits / temperature) of a
// token, restricted to the top_k largest logits (ties kept in id order, as
// generation samples) — in double precision, like lm::SampleToken.
//
// Threads: Evaluate / HeldOutAccuracy run on one thread (the model is not
// thread-safe); the counters are under the evaluator's own mutex (a leaf),
// so FillStatus and CountRejected may be called from any thread.
#ifndef PROXIMA_LEARNER_SERVER_SEQ_EVALUATOR_H_
#define PROXIMA_LEARNER_SERVER_SEQ_EVALUATOR_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/lm/seq_policy.h"
#include "common/lm/task.h"
#include "common/policy/seq_run_config.h"
#include "common/wire/seq_chunk_codec.h"
#include "proxima/v1/trajectory.pb.h"

namespace proxima {

// log p(token) under softmax(logits / temperature) restricted to the top_k
// largest logits (0: all); -infinity for a token outside the top k.
double TokenLogProb(const float* logits, int vocab_size, double temperature, int top_k,
                    int token);

class SequenceEvaluator {
 public:
  // `model` is the learner's policy (the evaluator only reads it).
  static absl::StatusOr<std::unique_ptr<SequenceEvaluator>> Create(const SeqRunSettings& run,
                                                                   lm::SeqPolicy model);

  struct ChunkGap {
    double sum_abs = 0, max_abs = 0;
    int64_t tokens = 0;
  };
  // Counts an accepted chunk and returns its log-prob gap. Without
  // `recompute` it only counts (no forward pass; the gap is not measured):
  // a training learner's update measures the gap in its own pre-pass.
  ChunkGap Evaluate(const SequenceChunk& chunk, bool recompute = true);

  // Greedy exact match on `prompts` held-out prompts drawn with `seed` (the
  // same prompts every time), recorded with `version`.
  absl::StatusOr<double> HeldOutAccuracy(int prompts, uint64_t version, uint64_t seed);

  // A sequence chunk rejected by rule `rule_class` (SeqRejectName).
  void CountRejected(const std::string& rule_class);

  void FillStatus(v1::SequenceStatus* out) const;

  lm::SeqPolicyImpl& model() { return *model_; }

 private:
  SequenceEvaluator(SeqRunSettings run, lm::SeqPolicy model, std::unique_ptr<lm::Task> task)
      : run_(std::move(run)), model_(std::move(model)), task_(std::move(task)) {}
  // Adds a chunk to the counts, and its gap when it was measured.
  void Record(int64_t sequences, int64_t tokens, double reward, const ChunkGap* gap);

  const SeqRunSettings run_;
  lm::SeqPolicy model_;
  const std::unique_ptr<lm::Task> task_;

  mutable absl::Mutex mu_;
  v1::SequenceStatus counts_ ABSL_GUARDED_BY(mu_);
  double reward_sum_ ABSL_GUARDED_BY(mu_) = 0;
  double gap_sum_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t gap_tokens_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_SEQ_EVALUATOR_H_

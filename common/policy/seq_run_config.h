// SeqRunSettings: what the actors of a sequence run (protocol revision 2, an
// `lm/...` task as env) need besides the weights — the task, the tokenizer,
// the transformer's shape, and how to generate (group size, prompts per
// chunk, temperature, top-k, max new tokens, reward rule) — and its wire
// form, RunConfig.sequence (config.proto, trajectory.proto).
//
// The learner fills the message from its settings (SeqRunToProto); an actor
// reads it back (SeqRunFromProto), which checks every field and names the
// first bad one, so an actor never builds a model or sampler from a config
// it cannot honour. Only character tokenizers travel in a RunConfig
// ("char:" + alphabet). Pure functions, thread-safe.
#ifndef PROXIMA_COMMON_POLICY_SEQ_RUN_CONFIG_H_
#define PROXIMA_COMMON_POLICY_SEQ_RUN_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/lm/generation.h"
#include "common/lm/seq_policy.h"
#include "common/lm/task.h"
#include "proxima/v1/config.pb.h"

namespace proxima {

struct SeqRunSettings {
  std::string task_id = "lm/Addition-v0";
  std::string alphabet;              // the character tokenizer's; empty: the default
  lm::SeqPolicyConfig model;         // vocab_size follows the alphabet
  int group_size = 8;                // G completions per prompt
  int prompts_per_chunk = 4;         // N = G x prompts per chunk
  double temperature = 1.0;          // > 0
  int top_k = 0;                     // 0: the whole vocabulary
  int max_new_tokens = 6;            // the completion's most tokens (<eos> included)
  lm::RewardMode reward_mode = lm::RewardMode::kExactMatch;

  // OK, or InvalidArgument naming the first field out of range (task id
  // unknown, alphabet not a tokenizer, model shape, G / prompts < 1,
  // temperature not finite > 0, top_k outside [0, vocab], max_new_tokens
  // < 1 or beyond the model's positions for the task's longest prompt).
  // Fills model.vocab_size from the alphabet.
  absl::Status Finish();
  // The sampling options an actor generates with (stop token <eos>).
  lm::SamplingOptions sampling() const;
};

void SeqRunToProto(const SeqRunSettings& s, v1::SequenceRunConfig* out);

// The settings of `rc` (its env_id and sequence), checked by Finish().
absl::StatusOr<SeqRunSettings> SeqRunFromProto(const v1::RunConfig& rc);

}  // namespace proxima

#endif  // PROXIMA_COMMON_POLICY_SEQ_RUN_CONFIG_H_

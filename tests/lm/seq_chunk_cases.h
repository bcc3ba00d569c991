// Sequence chunks for tests (protocol revision 2): a valid chunk built
// through the codec, and one malformed variant per rule of
// ValidateSequenceChunk, each with the rule class the learner must name.
// Shared by seq_wire_test (the validator alone) and seq_learner_test (the
// same cases through a real gRPC learner).
#ifndef PROXIMA_TESTS_LM_SEQ_CHUNK_CASES_H_
#define PROXIMA_TESTS_LM_SEQ_CHUNK_CASES_H_

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "common/wire/seq_chunk_codec.h"
#include "proxima/v1/trajectory.pb.h"

namespace proxima::testing {

// Two groups of two sequences over a vocabulary of 19 ids (the default
// character tokenizer): prompts of 4 and 3 tokens, completions of 1-3.
inline SequenceChunk ValidSequences(int group_size = 2) {
  SequenceChunk c;
  c.group_size = group_size;
  c.temperature = 1.0f;
  c.top_k = 0;
  const std::vector<std::vector<int>> prompts = {{1, 4, 16, 5}, {1, 7, 16}};
  const std::vector<std::vector<int>> completions = {{5, 2}, {6, 9, 2}, {8}, {10, 2}};
  for (size_t i = 0; i < completions.size(); ++i) {
    SequenceRecord r;
    const size_t g = i / static_cast<size_t>(group_size);
    r.prompt = prompts[g % prompts.size()];
    r.completion = completions[i];
    for (size_t j = 0; j < r.completion.size(); ++j) r.logprobs.push_back(-0.25f * (j + 1));
    r.reward = static_cast<float>(i % 2);
    r.group_id = static_cast<int64_t>(10 + g);
    c.sequences.push_back(r);
  }
  return c;
}

inline v1::TrajectoryChunk ChunkOf(const SequenceChunk& s) {
  v1::TrajectoryChunk c;
  EncodeSequenceBatch(s, c.mutable_sequences());
  return c;
}

// Overwrites element `i` of a tensor of T.
template <typename T>
void SetElement(v1::TensorProto* t, size_t i, T v) {
  std::memcpy(&(*t->mutable_data())[i * sizeof(T)], &v, sizeof(T));
}

struct SeqCase {
  std::string name;
  std::string rule;  // SeqRejectName of the expected rejection
  std::function<void(v1::TrajectoryChunk*)> spoil;
};

// One case per rule and way of breaking it. ValidSequences(2): N = 4,
// P = 4, C = 3, vocabulary 19.
inline std::vector<SeqCase> MalformedSequenceCases() {
  using C = v1::TrajectoryChunk;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  return {
      {"no_sequences", "kind", [](C* c) { c->clear_sequences(); }},
      {"step_fields_set", "kind", [](C* c) { c->set_num_envs(1); }},
      {"no_sequences_at_all", "shape", [](C* c) { c->mutable_sequences()->set_num_sequences(0); }},
      {"mask_dtype", "shape",
       [](C* c) { c->mutable_sequences()->mutable_completion_mask()->set_dtype(v1::DTYPE_INT32); }},
      {"rewards_short", "shape",
       [](C* c) { c->mutable_sequences()->mutable_rewards()->mutable_data()->resize(12); }},
      {"zero_completion_length", "length",
       [](C* c) {
         v1::SequenceBatch* b = c->mutable_sequences();
         SetElement<int32_t>(b->mutable_completion_lengths(), 2, 0);
       }},
      {"prompt_longer_than_row", "length",
       [](C* c) { SetElement<int32_t>(c->mutable_sequences()->mutable_prompt_lengths(), 0, 5); }},
      {"token_above_vocabulary", "token_range",
       [](C* c) { SetElement<int32_t>(c->mutable_sequences()->mutable_completion_tokens(), 0, 19); }},
      {"negative_prompt_token", "token_range",
       [](C* c) { SetElement<int32_t>(c->mutable_sequences()->mutable_prompt_tokens(), 1, -1); }},
      {"padding_not_zero", "token_range",
       // sequence 0 has 2 completion tokens: position 2 is padding
       [](C* c) { SetElement<int32_t>(c->mutable_sequences()->mutable_completion_tokens(), 2, 4); }},
      {"mask_past_length", "mask",
       [](C* c) { SetElement<uint8_t>(c->mutable_sequences()->mutable_completion_mask(), 2, 1); }},
      {"mask_hole", "mask",
       [](C* c) { SetElement<uint8_t>(c->mutable_sequences()->mutable_completion_mask(), 3, 0); }},
      {"log_prob_nan", "log_prob",
       [nan](C* c) {
         SetElement<float>(c->mutable_sequences()->mutable_behaviour_log_probs(), 1, nan);
       }},
      {"log_prob_positive", "log_prob",
       [](C* c) {
         SetElement<float>(c->mutable_sequences()->mutable_behaviour_log_probs(), 0, 0.5f);
       }},
      {"log_prob_on_padding", "log_prob",
       [](C* c) {
         SetElement<float>(c->mutable_sequences()->mutable_behaviour_log_probs(), 2, -1.0f);
       }},
      {"reward_infinite", "reward",
       [inf](C* c) { SetElement<float>(c->mutable_sequences()->mutable_rewards(), 3, inf); }},
      {"group_size_not_dividing", "group",
       [](C* c) { c->mutable_sequences()->set_group_size(3); }},
      {"group_size_not_the_runs", "group",
       [](C* c) { c->mutable_sequences()->set_group_size(4); }},
      {"group_id_split", "group",
       [](C* c) { SetElement<int64_t>(c->mutable_sequences()->mutable_group_ids(), 1, 99); }},
      {"group_id_reused", "group",
       [](C* c) {
         SetElement<int64_t>(c->mutable_sequences()->mutable_group_ids(), 2, 10);
         SetElement<int64_t>(c->mutable_sequences()->mutable_group_ids(), 3, 10);
       }},
      {"group_prompts_differ", "group",
       [](C* c) { SetElement<int32_t>(c->mutable_sequences()->mutable_prompt_tokens(), 6, 9); }},
      {"temperature_zero", "sampling",
       [](C* c) { c->mutable_sequences()->set_temperature(0); }},
      {"temperature_nan", "sampling",
       [nan](C* c) { c->mutable_sequences()->set_temperature(nan); }},
      {"top_k_above_vocabulary", "sampling",
       [](C* c) { c->mutable_sequences()->set_top_k(20); }},
      {"negative_timing", "timing", [](C* c) { c->set_inference_seconds(-1); }},
  };
}

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_LM_SEQ_CHUNK_CASES_H_

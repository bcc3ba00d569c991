// The tiny sequence policy the lm unit tests build and train in seconds:
// TinySeqPolicyConfig(d_model, max_seq_len) is a character-tokenizer model
// with one layer, two heads, width d_model and a feed-forward of 2 x d_model;
// max_seq_len defaults to SeqPolicyConfig's own.
#ifndef PROXIMA_TESTS_LM_TINY_SEQ_POLICY_H_
#define PROXIMA_TESTS_LM_TINY_SEQ_POLICY_H_

#include "common/lm/char_tokenizer.h"
#include "common/lm/seq_policy.h"

namespace proxima::lm_testing {

inline lm::SeqPolicyConfig TinySeqPolicyConfig(int d_model,
                                               int max_seq_len = lm::SeqPolicyConfig().max_seq_len) {
  lm::SeqPolicyConfig c;
  c.vocab_size = lm::CharTokenizer().vocab_size();
  c.max_seq_len = max_seq_len;
  c.d_model = d_model;
  c.num_layers = 1;
  c.num_heads = 2;
  c.d_ff = 2 * d_model;
  return c;
}

}  // namespace proxima::lm_testing

#endif  // PROXIMA_TESTS_LM_TINY_SEQ_POLICY_H_

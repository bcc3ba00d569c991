// Generate: autoregressive sampling from a SeqPolicy, recording each sampled
// token's behaviour log-probability.
//
// Generate(model, prompt, count, options, rng) samples `count` completions of
// one prompt (token ids, <bos> first) as one batch: a GRPO group;
// GenerateBatch does the same for several prompts of one length. Each step
// turns the last position's logits into the sampling distribution
//   p = softmax(logits / temperature), restricted to the top_k largest
//       logits and renormalized when top_k > 0,
// draws the next token by inverse CDF with the caller's Rng (one Uniform()
// per unfinished sequence per step, in row order: the same seed and model
// give the same completions on every platform), and records log p(token) —
// the behaviour log-prob a learner's importance ratio needs, at the same
// temperature and top-k. temperature 0 is greedy decoding (the largest
// logit, the lowest id on ties; no draws), recording the untempered
// log-softmax of the chosen token: for evaluation, not a behaviour policy.
//
// A sequence ends at the stop token (recorded, with its log-prob) or after
// max_new_tokens. With use_cache (default) the prompt runs once and each new
// token costs one cached step (SeqPolicy::ForwardCached); without it every
// step recomputes the whole sequence (the reference the bench and the tests
// compare with). Both give the same tokens for the same draws unless two
// probabilities straddle a draw within float rounding.
//
// Runs under torch::NoGradGuard; the model is only read. Errors are
// InvalidArgument naming the option or prompt token at fault.
#ifndef PROXIMA_COMMON_LM_GENERATION_H_
#define PROXIMA_COMMON_LM_GENERATION_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/lm/char_tokenizer.h"
#include "common/lm/seq_policy.h"
#include "common/rng.h"

namespace proxima::lm {

struct SamplingOptions {
  double temperature = 1.0;              // > 0 samples; 0 is greedy
  int top_k = 0;                         // 0: the whole vocabulary
  int max_new_tokens = 8;                // prompt length + this ≤ max_seq_len
  int stop_token = CharTokenizer::kEos;  // -1: none, run to max_new_tokens
  bool use_cache = true;

  // OK, or InvalidArgument naming the first bad field.
  absl::Status Validate(int vocab_size) const;
};

// `count` completions of one prompt; row i of every vector is sample i.
struct Completions {
  std::vector<std::vector<int>> tokens;      // generated ids, the stop token included
  std::vector<std::vector<float>> logprobs;  // log p of each generated id
  std::vector<bool> stopped;                 // ended with the stop token
};

absl::StatusOr<Completions> Generate(SeqPolicyImpl& model, absl::Span<const int> prompt, int count,
                                     const SamplingOptions& options, Rng& rng);

// One completion of each of `prompts`, which must all have the same length
// (InvalidArgument naming the first that does not): the batch of an
// evaluation over prompts of one length. Row i is prompts[i]'s completion.
absl::StatusOr<Completions> GenerateBatch(SeqPolicyImpl& model,
                                          absl::Span<const std::vector<int>> prompts,
                                          const SamplingOptions& options, Rng& rng);

// Draws one token from `logits` (vocab_size floats) as Generate does, and
// writes its log-probability: exposed for the learner's recomputation and
// for tests.
int SampleToken(const float* logits, int vocab_size, double temperature, int top_k, Rng& rng,
                float* logprob);

}  // namespace proxima::lm

#endif  // PROXIMA_COMMON_LM_GENERATION_H_

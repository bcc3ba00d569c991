// SeqBatch: sequence chunks as the padded tensors a sequence-policy update
// runs on, and the per-token log-probs of a model over them.
//
// MakeSeqBatch lays every sequence of `chunks` out as one row: `inputs` is
// prompt ++ completion without its last token, right-padded with <pad>
// ([B, L], int64); the completion-aligned tensors ([B, C], C the longest
// completion) follow learner/lm/seq_loss.h's layout: column j is completion
// token j, predicted by the logits at input position `positions[b, j]` =
// prompt_length_b + j − 1; `mask` is 1 on real tokens. Group keys are made
// unique per chunk (chunk index · 2³² + the chunk's group id), so groups of
// different actors never merge. Each row keeps its chunk's temperature and
// top-k: the learner recomputes log-probs under exactly the distribution the
// actor sampled from.
//
// TokenLogProbs runs `model` over the batch (with autograd unless the caller
// holds a NoGradGuard) and returns, per completion token, log p(token) under
// softmax(logits / temperature) restricted to the row's top-k when top_k > 0,
// that distribution's entropy, and the value head at the same positions
// (PPO's V of the state before token j). Padding entries are 0.
//
// Errors: InvalidArgument when there is no sequence, a sequence has an empty
// prompt or completion, or a row does not fit `max_seq_len`.
#ifndef PROXIMA_LEARNER_LM_SEQ_BATCH_H_
#define PROXIMA_LEARNER_LM_SEQ_BATCH_H_

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/lm/seq_policy.h"
#include "common/wire/seq_chunk_codec.h"

namespace proxima::learner_lm {

struct SeqBatch {
  at::Tensor inputs;          // [B, L] int64
  at::Tensor positions;       // [B, C] int64 (0 on padding)
  at::Tensor tokens;          // [B, C] int64 (<pad> on padding)
  at::Tensor mask;            // [B, C] float
  at::Tensor behaviour_logp;  // [B, C] float (0 on padding)
  at::Tensor temperature;     // [B] float
  at::Tensor top_k;           // [B] int64 (0: off)
  at::Tensor rewards;         // [B] float
  at::Tensor group_keys;      // [B] int64
  int64_t num_tokens = 0;     // Σ mask

  int64_t rows() const { return mask.size(0); }
  // The rows `index` ([n] int64) of every tensor: a minibatch.
  SeqBatch Select(const at::Tensor& index) const;
};

absl::StatusOr<SeqBatch> MakeSeqBatch(absl::Span<const SequenceChunk> chunks, int max_seq_len);

struct TokenOutputs {
  at::Tensor logp;     // [B, C]
  at::Tensor entropy;  // [B, C]
  at::Tensor values;   // [B, C]
};

TokenOutputs TokenLogProbs(lm::SeqPolicyImpl& model, const SeqBatch& batch);

}  // namespace proxima::learner_lm

#endif  // PROXIMA_LEARNER_LM_SEQ_BATCH_H_

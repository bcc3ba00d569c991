#include "learner/lm/dpo_loss.h"

#include <ATen/ATen.h>

#include <cmath>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/wire/seq_chunk_codec.h"

namespace proxima::learner_lm {
namespace {

absl::Status CheckInput(const at::Tensor& t, const char* name, int64_t n) {
  if (!t.defined() || t.dim() != 1 || t.size(0) != n || !c10::isFloatingType(t.scalar_type())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "DPO input ", name, " must be a floating [", n, "] tensor (one log-prob per pair)",
        t.defined() ? absl::StrCat("; got shape [", absl::StrJoin(t.sizes(), ", "), "]") : ""));
  }
  if (!at::isfinite(t).all().item<bool>()) {
    return absl::InvalidArgumentError(
        absl::StrCat("DPO input ", name, " holds a non-finite log-prob (NaN or infinity)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DpoTerms> DpoLoss(const at::Tensor& policy_chosen, const at::Tensor& policy_rejected,
                                 const at::Tensor& ref_chosen, const at::Tensor& ref_rejected,
                                 double beta) {
  if (!(beta > 0) || !std::isfinite(beta)) {
    return absl::InvalidArgumentError(
        absl::StrCat("DPO beta = ", beta, " is out of range (> 0 and finite)"));
  }
  if (!policy_chosen.defined() || policy_chosen.dim() != 1 || policy_chosen.size(0) < 1) {
    return absl::InvalidArgumentError(
        "DPO input policy_chosen must be a non-empty [N] tensor (one log-prob per pair)");
  }
  const int64_t n = policy_chosen.size(0);
  for (const auto& [t, name] : {std::pair{&policy_chosen, "policy_chosen"},
                                std::pair{&policy_rejected, "policy_rejected"},
                                std::pair{&ref_chosen, "ref_chosen"},
                                std::pair{&ref_rejected, "ref_rejected"}}) {
    if (absl::Status s = CheckInput(*t, name, n); !s.ok()) return s;
  }
  const at::Tensor h_w = policy_chosen - ref_chosen;
  const at::Tensor h_l = policy_rejected - ref_rejected;
  const at::Tensor z = beta * (h_w - h_l);
  DpoTerms terms;
  terms.loss = at::softplus(-z).mean();
  terms.chosen_reward = (beta * h_w).detach().mean();
  terms.rejected_reward = (beta * h_l).detach().mean();
  terms.reward_margin = z.detach().mean();
  terms.accuracy = (z.detach() > 0).to(z.scalar_type()).mean();
  return terms;
}

absl::StatusOr<SeqBatch> MakeCompletionBatch(absl::Span<const TokenizedCompletion> sequences,
                                             int max_seq_len) {
  SequenceChunk chunk;  // temperature 1, no top-k
  chunk.sequences.reserve(sequences.size());
  for (size_t i = 0; i < sequences.size(); ++i) {
    SequenceRecord r;
    r.prompt = sequences[i].prompt;
    r.completion = sequences[i].completion;
    r.logprobs.assign(r.completion.size(), 0.f);  // not sampled: no behaviour policy
    r.group_id = static_cast<int64_t>(i);
    chunk.sequences.push_back(std::move(r));
  }
  return MakeSeqBatch(absl::MakeConstSpan(&chunk, 1), max_seq_len);
}

at::Tensor CompletionLogProbsFromLogits(const at::Tensor& logits, const SeqBatch& batch) {
  const int64_t B = batch.rows(), C = batch.mask.size(1), V = logits.size(2);
  // The logits that predict completion token j sit at positions[b, j].
  const at::Tensor at_completion =
      logits.gather(1, batch.positions.unsqueeze(-1).expand({B, C, V}));
  const at::Tensor token_logp =
      at::log_softmax(at_completion, -1).gather(-1, batch.tokens.unsqueeze(-1)).squeeze(-1);
  return (token_logp * batch.mask.to(token_logp.scalar_type())).sum(1);
}

at::Tensor CompletionLogProbs(lm::SeqPolicyImpl& model, const SeqBatch& batch) {
  return CompletionLogProbsFromLogits(model.forward(batch.inputs).logits, batch);
}

}  // namespace proxima::learner_lm

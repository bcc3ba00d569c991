#include "learner/lm/seq_batch.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/lm/tokenizer.h"

namespace proxima::learner_lm {

SeqBatch SeqBatch::Select(const at::Tensor& index) const {
  SeqBatch out;
  out.inputs = inputs.index_select(0, index);
  out.positions = positions.index_select(0, index);
  out.tokens = tokens.index_select(0, index);
  out.mask = mask.index_select(0, index);
  out.behaviour_logp = behaviour_logp.index_select(0, index);
  out.temperature = temperature.index_select(0, index);
  out.top_k = top_k.index_select(0, index);
  out.rewards = rewards.index_select(0, index);
  out.group_keys = group_keys.index_select(0, index);
  out.num_tokens = static_cast<int64_t>(out.mask.sum().item<double>());
  return out;
}

absl::StatusOr<SeqBatch> MakeSeqBatch(absl::Span<const SequenceChunk> chunks, int max_seq_len) {
  int64_t rows = 0;
  size_t longest_input = 1, longest_completion = 1;
  for (size_t c = 0; c < chunks.size(); ++c) {
    if (!(chunks[c].temperature > 0) || !std::isfinite(chunks[c].temperature)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "chunk ", c, " was sampled at temperature ", chunks[c].temperature,
          ": training needs a sampling temperature > 0 (greedy completions have no behaviour "
          "distribution)"));
    }
    for (size_t s = 0; s < chunks[c].sequences.size(); ++s) {
      const SequenceRecord& r = chunks[c].sequences[s];
      if (r.prompt.empty() || r.completion.empty() || r.logprobs.size() != r.completion.size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "chunk ", c, " sequence ", s, ": prompt of ", r.prompt.size(), " tokens, completion of ",
            r.completion.size(), " with ", r.logprobs.size(),
            " log-probs (both must be non-empty, one log-prob per completion token)"));
      }
      const size_t total = r.prompt.size() + r.completion.size();
      if (total > static_cast<size_t>(max_seq_len)) {
        return absl::InvalidArgumentError(absl::StrCat("chunk ", c, " sequence ", s, " has ",
                                                       total, " tokens, more than max_seq_len ",
                                                       max_seq_len));
      }
      longest_input = std::max(longest_input, total - 1);
      longest_completion = std::max(longest_completion, r.completion.size());
      ++rows;
    }
  }
  if (rows == 0) return absl::InvalidArgumentError("no sequence to train on");

  const int64_t L = static_cast<int64_t>(longest_input);
  const int64_t C = static_cast<int64_t>(longest_completion);
  std::vector<int64_t> inputs(rows * L, lm::Tokenizer::kPad), positions(rows * C, 0),
      tokens(rows * C, lm::Tokenizer::kPad), top_k(rows), groups(rows);
  std::vector<float> mask(rows * C, 0.f), behaviour(rows * C, 0.f), temperature(rows),
      rewards(rows);
  int64_t b = 0, num_tokens = 0;
  for (size_t c = 0; c < chunks.size(); ++c) {
    for (const SequenceRecord& r : chunks[c].sequences) {
      const int64_t p = static_cast<int64_t>(r.prompt.size());
      for (int64_t i = 0; i < p; ++i) inputs[b * L + i] = r.prompt[i];
      // The last completion token is a target only, never an input.
      for (size_t j = 0; j + 1 < r.completion.size(); ++j) inputs[b * L + p + j] = r.completion[j];
      for (size_t j = 0; j < r.completion.size(); ++j) {
        positions[b * C + j] = p + static_cast<int64_t>(j) - 1;
        tokens[b * C + j] = r.completion[j];
        mask[b * C + j] = 1.f;
        behaviour[b * C + j] = r.logprobs[j];
      }
      num_tokens += static_cast<int64_t>(r.completion.size());
      temperature[b] = chunks[c].temperature;
      top_k[b] = chunks[c].top_k;
      rewards[b] = r.reward;
      groups[b] = static_cast<int64_t>(c) * (int64_t{1} << 32) + r.group_id;
      ++b;
    }
  }
  SeqBatch out;
  out.inputs = at::tensor(inputs, at::kLong).reshape({rows, L});
  out.positions = at::tensor(positions, at::kLong).reshape({rows, C});
  out.tokens = at::tensor(tokens, at::kLong).reshape({rows, C});
  out.mask = at::tensor(mask, at::kFloat).reshape({rows, C});
  out.behaviour_logp = at::tensor(behaviour, at::kFloat).reshape({rows, C});
  out.temperature = at::tensor(temperature, at::kFloat);
  out.top_k = at::tensor(top_k, at::kLong);
  out.rewards = at::tensor(rewards, at::kFloat);
  out.group_keys = at::tensor(groups, at::kLong);
  out.num_tokens = num_tokens;
  return out;
}

TokenOutputs TokenLogProbs(lm::SeqPolicyImpl& model, const SeqBatch& batch) {
  const lm::SeqPolicyOutput out = model.forward(batch.inputs);
  const int64_t B = batch.rows(), C = batch.mask.size(1), V = out.logits.size(2);
  const at::Tensor at_completion =
      out.logits.gather(1, batch.positions.unsqueeze(-1).expand({B, C, V}));
  at::Tensor scaled = at_completion / batch.temperature.view({B, 1, 1});
  // Top-k as the actor applied it: logits below the k-th largest are gone.
  const std::vector<int64_t> ks(batch.top_k.data_ptr<int64_t>(),
                                batch.top_k.data_ptr<int64_t>() + B);
  for (const int64_t k : std::set<int64_t>(ks.begin(), ks.end())) {
    if (k <= 0 || k >= V) continue;
    const at::Tensor kth = std::get<0>(scaled.topk(k, -1)).select(-1, k - 1).unsqueeze(-1);
    const at::Tensor cut = scaled.masked_fill(scaled < kth, -std::numeric_limits<float>::infinity());
    scaled = at::where((batch.top_k == k).view({B, 1, 1}), cut, scaled);
  }
  const at::Tensor log_probs = at::log_softmax(scaled, -1);
  TokenOutputs result;
  // Padding's <pad> may lie outside the top-k (−inf): select, don't multiply.
  const at::Tensor real = batch.mask > 0;
  result.logp = at::where(real, log_probs.gather(-1, batch.tokens.unsqueeze(-1)).squeeze(-1),
                          at::zeros({}, log_probs.options()));
  const at::Tensor finite_lp = log_probs.masked_fill(at::isinf(log_probs), 0);
  result.entropy = -(log_probs.exp() * finite_lp).sum(-1) * batch.mask;
  result.values = out.values.gather(1, batch.positions) * batch.mask;
  return result;
}

}  // namespace proxima::learner_lm

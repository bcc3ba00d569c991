#include "learner/lm/dpo_trainer.h"

#include <ATen/ATen.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/rng.h"
#include "common/status_macros.h"
#include "learner/lm/dpo_loss.h"

namespace proxima::learner_lm {
namespace {

absl::Status CheckPairs(absl::Span<const TokenizedPair> pairs, const lm::SeqPolicyConfig& config) {
  if (pairs.empty()) return absl::InvalidArgumentError("DPO needs at least one preference pair");
  for (size_t i = 0; i < pairs.size(); ++i) {
    const TokenizedPair& p = pairs[i];
    for (const auto& [completion, name] :
         {std::pair{&p.chosen, "chosen"}, std::pair{&p.rejected, "rejected"}}) {
      if (p.prompt.empty() || completion->empty()) {
        return absl::InvalidArgumentError(absl::StrCat("pair ", i, ": empty prompt or ", name,
                                                       " completion"));
      }
      const size_t total = p.prompt.size() + completion->size();
      if (total > static_cast<size_t>(config.max_seq_len)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "pair ", i, ": prompt and ", name, " completion are ", total,
            " tokens, more than the model's max_seq_len ", config.max_seq_len));
      }
      for (const std::vector<int>* ids : {&p.prompt, completion}) {
        for (const int id : *ids) {
          if (id < 0 || id >= config.vocab_size) {
            return absl::InvalidArgumentError(absl::StrCat("pair ", i, ": token id ", id,
                                                           " is outside the model's vocabulary of ",
                                                           config.vocab_size));
          }
        }
      }
    }
  }
  return absl::OkStatus();
}

// The rows of `pairs[indices]`: every chosen completion, then every rejected
// one in the same order.
absl::StatusOr<SeqBatch> PairBatch(absl::Span<const TokenizedPair> pairs,
                                   absl::Span<const int64_t> indices, int max_seq_len) {
  std::vector<TokenizedCompletion> rows(2 * indices.size());
  for (size_t k = 0; k < indices.size(); ++k) {
    const TokenizedPair& p = pairs[static_cast<size_t>(indices[k])];
    rows[k] = {p.prompt, p.chosen};
    rows[indices.size() + k] = {p.prompt, p.rejected};
  }
  return MakeCompletionBatch(rows, max_seq_len);
}

// Σ-over-completion log-probs of chosen and rejected ([n] each) for
// pairs[indices] under `model`.
absl::StatusOr<std::pair<at::Tensor, at::Tensor>> PairLogProbs(
    lm::SeqPolicyImpl& model, absl::Span<const TokenizedPair> pairs,
    absl::Span<const int64_t> indices) {
  PROXIMA_ASSIGN_OR_RETURN(const SeqBatch batch,
                           PairBatch(pairs, indices, model.config().max_seq_len));
  const at::Tensor logp = CompletionLogProbs(model, batch);
  const int64_t n = static_cast<int64_t>(indices.size());
  return std::make_pair(logp.slice(0, 0, n), logp.slice(0, n, 2 * n));
}

DpoPairMetrics Numbers(const DpoTerms& t, int64_t pairs) {
  DpoPairMetrics m;
  m.pairs = pairs;
  m.loss = t.loss.item<double>();
  m.chosen_reward = t.chosen_reward.item<double>();
  m.rejected_reward = t.rejected_reward.item<double>();
  m.reward_margin = t.reward_margin.item<double>();
  m.accuracy = t.accuracy.item<double>();
  return m;
}

absl::Status CheckModels(lm::SeqPolicyImpl& policy, lm::SeqPolicyImpl& reference) {
  if (policy.config().DebugString() != reference.config().DebugString()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the reference model (", reference.config().DebugString(),
        ") is not shaped like the policy (", policy.config().DebugString(), ")"));
  }
  return absl::OkStatus();
}

std::vector<int64_t> Range(int64_t begin, int64_t end) {
  std::vector<int64_t> v(static_cast<size_t>(end - begin));
  std::iota(v.begin(), v.end(), begin);
  return v;
}

absl::StatusOr<DpoPairMetrics> EvaluatePairsOrThrow(lm::SeqPolicyImpl& policy,
                                                    lm::SeqPolicyImpl& reference,
                                                    absl::Span<const TokenizedPair> pairs,
                                                    double beta, int batch_size) {
  at::NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(pairs.size());
  std::vector<at::Tensor> pc, pr, rc, rr;
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const std::vector<int64_t> idx = Range(begin, std::min<int64_t>(n, begin + batch_size));
    PROXIMA_ASSIGN_OR_RETURN(auto p, PairLogProbs(policy, pairs, idx));
    PROXIMA_ASSIGN_OR_RETURN(auto r, PairLogProbs(reference, pairs, idx));
    pc.push_back(p.first);
    pr.push_back(p.second);
    rc.push_back(r.first);
    rr.push_back(r.second);
  }
  PROXIMA_ASSIGN_OR_RETURN(const DpoTerms t,
                           DpoLoss(at::cat(pc), at::cat(pr), at::cat(rc), at::cat(rr), beta));
  return Numbers(t, n);
}

}  // namespace

absl::Status DpoOptions::Validate() const {
  auto bad = [](const char* field, double value, const char* range) {
    return absl::InvalidArgumentError(
        absl::StrCat("DPO option ", field, " = ", value, " is out of range ", range));
  };
  if (!(beta > 0) || !std::isfinite(beta)) return bad("beta", beta, "(> 0)");
  if (steps < 1) return bad("steps", steps, "(>= 1)");
  if (batch_size < 1) return bad("batch_size", batch_size, "(>= 1)");
  if (!(learning_rate > 0) || !std::isfinite(learning_rate)) {
    return bad("learning_rate", learning_rate, "(> 0)");
  }
  if (!(grad_clip > 0)) return bad("grad_clip", grad_clip, "(> 0)");
  return absl::OkStatus();
}

absl::StatusOr<DpoPairMetrics> EvaluatePairs(lm::SeqPolicyImpl& policy,
                                             lm::SeqPolicyImpl& reference,
                                             absl::Span<const TokenizedPair> pairs, double beta,
                                             int batch_size) {
  PROXIMA_RETURN_IF_ERROR(CheckModels(policy, reference));
  PROXIMA_RETURN_IF_ERROR(CheckPairs(pairs, policy.config()));
  if (batch_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat("batch_size = ", batch_size, " must be >= 1"));
  }
  try {
    return EvaluatePairsOrThrow(policy, reference, pairs, beta, batch_size);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("DPO evaluation: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<DpoResult> RunDpo(lm::SeqPolicyImpl& policy, lm::SeqPolicyImpl& reference,
                                 absl::Span<const TokenizedPair> pairs, const DpoOptions& options,
                                 const std::function<void(const DpoProgress&)>& on_progress) {
  PROXIMA_RETURN_IF_ERROR(options.Validate());
  DpoResult result;
  PROXIMA_ASSIGN_OR_RETURN(
      result.initial, EvaluatePairs(policy, reference, pairs, options.beta, options.batch_size));
  const int64_t n = static_cast<int64_t>(pairs.size());
  const absl::Time start = absl::Now();
  try {
    // The frozen reference's log-probs, once.
    at::Tensor ref_chosen, ref_rejected;
    {
      at::NoGradGuard no_grad;
      std::vector<at::Tensor> rc, rr;
      for (int64_t begin = 0; begin < n; begin += options.batch_size) {
        PROXIMA_ASSIGN_OR_RETURN(
            auto r, PairLogProbs(reference, pairs,
                                 Range(begin, std::min<int64_t>(n, begin + options.batch_size))));
        rc.push_back(r.first);
        rr.push_back(r.second);
      }
      ref_chosen = at::cat(rc);
      ref_rejected = at::cat(rr);
    }
    for (at::Tensor& p : policy.parameters()) p.set_requires_grad(true);
    torch::optim::Adam optimizer(policy.parameters(),
                                 torch::optim::AdamOptions(options.learning_rate));
    policy.train();
    Rng rng(options.seed);
    std::vector<int64_t> order = Range(0, n);
    size_t next = order.size();  // shuffle before the first step
    for (int step = 1; step <= options.steps; ++step) {
      std::vector<int64_t> idx;
      while (static_cast<int>(idx.size()) < options.batch_size &&
             idx.size() < order.size()) {
        if (next == order.size()) {
          for (size_t i = order.size() - 1; i > 0; --i) {  // Fisher–Yates
            std::swap(order[i], order[rng.UniformInt(i + 1)]);
          }
          next = 0;
        }
        idx.push_back(order[next++]);
      }
      const at::Tensor index = at::tensor(idx, at::kLong);
      PROXIMA_ASSIGN_OR_RETURN(auto logp, PairLogProbs(policy, pairs, idx));
      PROXIMA_ASSIGN_OR_RETURN(
          const DpoTerms terms,
          DpoLoss(logp.first, logp.second, ref_chosen.index_select(0, index),
                  ref_rejected.index_select(0, index), options.beta));
      optimizer.zero_grad();
      terms.loss.backward();
      DpoProgress progress;
      progress.grad_norm =
          torch::nn::utils::clip_grad_norm_(policy.parameters(), options.grad_clip);
      optimizer.step();
      progress.step = step;
      progress.batch = Numbers(terms, static_cast<int64_t>(idx.size()));
      progress.seconds = absl::ToDoubleSeconds(absl::Now() - start);
      result.steps = step;
      if (on_progress) on_progress(progress);
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("DPO at step ", result.steps + 1, ": ", e.what_without_backtrace()));
  }
  result.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  policy.eval();
  PROXIMA_ASSIGN_OR_RETURN(
      result.final, EvaluatePairs(policy, reference, pairs, options.beta, options.batch_size));
  return result;
}

}  // namespace proxima::learner_lm

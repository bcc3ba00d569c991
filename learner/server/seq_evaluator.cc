#include "learner/server/seq_evaluator.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/lm/char_tokenizer.h"
#include "common/lm/task_eval.h"
#include "common/lm/task_registry.h"
#include "common/status_macros.h"

namespace proxima {

double TokenLogProb(const float* logits, int vocab_size, double temperature, int top_k,
                    int token) {
  const double zt = static_cast<double>(logits[token]) / temperature;
  // The token is kept when fewer than k ids rank above it: a larger logit,
  // or an equal one with a lower id (generation's tie order).
  auto kept = [&](int j) {
    if (top_k <= 0 || top_k >= vocab_size) return true;
    const double zj = static_cast<double>(logits[j]) / temperature;
    int above = 0;
    for (int i = 0; i < vocab_size; ++i) {
      const double zi = static_cast<double>(logits[i]) / temperature;
      if (zi > zj || (zi == zj && i < j)) ++above;
    }
    return above < top_k;
  };
  if (!kept(token)) return -std::numeric_limits<double>::infinity();
  double max_z = -std::numeric_limits<double>::infinity();
  std::vector<char> keep(vocab_size);
  for (int j = 0; j < vocab_size; ++j) {
    keep[j] = kept(j) ? 1 : 0;
    if (keep[j]) max_z = std::max(max_z, static_cast<double>(logits[j]) / temperature);
  }
  double total = 0;
  for (int j = 0; j < vocab_size; ++j) {
    if (keep[j]) total += std::exp(static_cast<double>(logits[j]) / temperature - max_z);
  }
  return zt - max_z - std::log(total);
}

absl::StatusOr<std::unique_ptr<SequenceEvaluator>> SequenceEvaluator::Create(
    const SeqRunSettings& run, lm::SeqPolicy model) {
  PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<lm::Task> task, lm::MakeTask(run.task_id));
  auto e = std::unique_ptr<SequenceEvaluator>(
      new SequenceEvaluator(run, std::move(model), std::move(task)));
  e->counts_.set_held_out_accuracy(std::nan(""));
  return e;
}

SequenceEvaluator::ChunkGap SequenceEvaluator::Evaluate(const SequenceChunk& chunk,
                                                        bool recompute) {
  const int64_t N = static_cast<int64_t>(chunk.sequences.size());
  if (!recompute) {
    double reward = 0;
    int64_t tokens = 0;
    for (const SequenceRecord& s : chunk.sequences) {
      reward += s.reward;
      tokens += static_cast<int64_t>(s.completion.size());
    }
    Record(N, tokens, reward, nullptr);
    return {};
  }
  const int vocab = model_->config().vocab_size;
  int64_t L = 0;
  for (const SequenceRecord& s : chunk.sequences) {
    L = std::max<int64_t>(L, static_cast<int64_t>(s.prompt.size() + s.completion.size()));
  }
  // Right-padded prompt + completion; causal attention keeps padding unseen.
  std::vector<int64_t> ids(static_cast<size_t>(N * L), lm::CharTokenizer::kPad);
  for (int64_t i = 0; i < N; ++i) {
    const SequenceRecord& s = chunk.sequences[i];
    std::copy(s.prompt.begin(), s.prompt.end(), ids.begin() + i * L);
    std::copy(s.completion.begin(), s.completion.end(), ids.begin() + i * L + s.prompt.size());
  }
  torch::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    logits = model_->forward(torch::from_blob(ids.data(), {N, L}, torch::kLong))
                 .logits.contiguous();
  }
  const float* lp = logits.data_ptr<float>();
  ChunkGap gap;
  double reward = 0;
  for (int64_t i = 0; i < N; ++i) {
    const SequenceRecord& s = chunk.sequences[i];
    reward += s.reward;
    for (size_t j = 0; j < s.completion.size(); ++j) {
      // The logits at the position before completion token j predict it.
      const int64_t pos = static_cast<int64_t>(s.prompt.size() + j) - 1;
      const double mine = TokenLogProb(lp + (i * L + pos) * vocab, vocab, chunk.temperature,
                                       chunk.top_k, s.completion[j]);
      const double d = std::abs(mine - static_cast<double>(s.logprobs[j]));
      gap.sum_abs += d;
      gap.max_abs = std::max(gap.max_abs, d);
      ++gap.tokens;
    }
  }
  Record(N, gap.tokens, reward, &gap);
  return gap;
}

void SequenceEvaluator::Record(int64_t sequences, int64_t tokens, double reward,
                               const ChunkGap* gap) {
  absl::MutexLock l(&mu_);
  counts_.set_chunks(counts_.chunks() + 1);
  counts_.set_sequences(counts_.sequences() + static_cast<uint64_t>(sequences));
  counts_.set_tokens(counts_.tokens() + static_cast<uint64_t>(tokens));
  reward_sum_ += reward;
  if (gap == nullptr) return;
  gap_sum_ += gap->sum_abs;
  gap_tokens_ += gap->tokens;
  counts_.set_max_abs_log_prob_gap(std::max(counts_.max_abs_log_prob_gap(), gap->max_abs));
}

absl::StatusOr<double> SequenceEvaluator::HeldOutAccuracy(int prompts, uint64_t version,
                                                          uint64_t seed) {
  PROXIMA_ASSIGN_OR_RETURN(lm::CharTokenizer tok, lm::CharTokenizer::Create(run_.alphabet));
  PROXIMA_ASSIGN_OR_RETURN(
      lm::TaskEvalResult r,
      lm::EvaluateTask(*model_, *task_, tok, lm::TaskSplit::kHeldOut, prompts, seed));
  absl::MutexLock l(&mu_);
  counts_.set_held_out_accuracy(r.accuracy);
  counts_.set_held_out_version(version);
  return r.accuracy;
}

void SequenceEvaluator::CountRejected(const std::string& rule_class) {
  absl::MutexLock l(&mu_);
  (*counts_.mutable_rejected())[rule_class] += 1;
}

void SequenceEvaluator::FillStatus(v1::SequenceStatus* out) const {
  absl::MutexLock l(&mu_);
  *out = counts_;
  const double n = static_cast<double>(counts_.sequences());
  out->set_mean_reward(n > 0 ? reward_sum_ / n : std::nan(""));
  out->set_mean_completion_length(n > 0 ? static_cast<double>(counts_.tokens()) / n
                                        : std::nan(""));
  out->set_mean_abs_log_prob_gap(gap_tokens_ > 0 ? gap_sum_ / static_cast<double>(gap_tokens_)
                                                 : std::nan(""));
}

}  // namespace proxima

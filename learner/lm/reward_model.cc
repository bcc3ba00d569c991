#include "learner/lm/reward_model.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/rng.h"
#include "common/status_macros.h"

namespace proxima::lm {
namespace {

constexpr size_t kEvalChunk = 256;  // rows scored per forward pass (ScoreCompletions)

// The token ids of <bos> prompt completion <eos>.
absl::StatusOr<std::vector<int>> Row(const std::string& prompt, const std::string& completion,
                                     const Tokenizer& tokenizer) {
  PROXIMA_ASSIGN_OR_RETURN(std::vector<int> ids, tokenizer.EncodePrompt(prompt));
  PROXIMA_ASSIGN_OR_RETURN(std::vector<int> tail, tokenizer.Encode(completion));
  ids.insert(ids.end(), tail.begin(), tail.end());
  ids.push_back(Tokenizer::kEos);
  return ids;
}

// InvalidArgument naming the first pair that does not fit the model.
absl::Status CheckPairs(const std::vector<PreferencePair>& pairs, const Tokenizer& tokenizer,
                        int max_seq_len) {
  for (size_t i = 0; i < pairs.size(); ++i) {
    for (const auto& [field, text] :
         {std::pair<const char*, const std::string*>{"chosen", &pairs[i].chosen},
          {"rejected", &pairs[i].rejected}}) {
      absl::StatusOr<std::vector<int>> row = Row(pairs[i].prompt, *text, tokenizer);
      if (!row.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("pair ", i, " \"", field, "\": ", row.status().message()));
      }
      if (static_cast<int>(row->size()) > max_seq_len) {
        return absl::InvalidArgumentError(
            absl::StrCat("pair ", i, " \"", field, "\": <bos> prompt completion <eos> is ",
                         row->size(), " tokens; the model has max_seq_len ", max_seq_len));
      }
    }
  }
  return absl::OkStatus();
}

// Rewards of chosen and rejected of pairs[begin, end): [n] each.
absl::StatusOr<std::pair<at::Tensor, at::Tensor>> PairRewards(
    SeqPolicyImpl& model, const Tokenizer& tokenizer, const std::vector<PreferencePair>& pairs,
    const std::vector<size_t>& index, double loglik_weight) {
  std::vector<std::string> prompts, completions;
  prompts.reserve(2 * index.size());
  completions.reserve(2 * index.size());
  for (size_t i : index) {
    prompts.push_back(pairs[i].prompt);
    completions.push_back(pairs[i].chosen);
  }
  for (size_t i : index) {
    prompts.push_back(pairs[i].prompt);
    completions.push_back(pairs[i].rejected);
  }
  PROXIMA_ASSIGN_OR_RETURN(RewardBatch batch, MakeRewardBatch(prompts, completions, tokenizer,
                                                              model.config().max_seq_len));
  const at::Tensor r = Rewards(model, batch, loglik_weight);
  const int64_t n = static_cast<int64_t>(index.size());
  return std::make_pair(r.slice(0, 0, n), r.slice(0, n, 2 * n));
}

int TrueOrder(const PreferencePair& p) {
  if (!p.true_chosen.has_value() || !p.true_rejected.has_value()) return 0;
  if (*p.true_chosen > *p.true_rejected) return 1;
  if (*p.true_chosen < *p.true_rejected) return -1;
  return 0;
}

}  // namespace

absl::StatusOr<RewardBatch> MakeRewardBatch(const std::vector<std::string>& prompts,
                                            const std::vector<std::string>& completions,
                                            const Tokenizer& tokenizer, int max_seq_len) {
  if (prompts.size() != completions.size() || prompts.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("a reward batch needs as many prompts (",
                                                   prompts.size(), ") as completions (",
                                                   completions.size(), "), at least one"));
  }
  std::vector<std::vector<int>> rows;
  std::vector<size_t> first;  // the position of each row's first completion token
  rows.reserve(prompts.size());
  size_t longest = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    absl::StatusOr<std::vector<int>> row = Row(prompts[i], completions[i], tokenizer);
    if (!row.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("row ", i, ": ", row.status().message()));
    }
    if (static_cast<int>(row->size()) > max_seq_len) {
      return absl::InvalidArgumentError(
          absl::StrCat("row ", i, ": ", row->size(), " tokens; max_seq_len is ", max_seq_len));
    }
    longest = std::max(longest, row->size());
    // <bos> and the prompt's tokens come first.
    first.push_back(tokenizer.EncodePrompt(prompts[i])->size());
    rows.push_back(*std::move(row));
  }
  const int64_t b = static_cast<int64_t>(rows.size());
  RewardBatch batch;
  batch.tokens = torch::full({b, static_cast<int64_t>(longest)}, Tokenizer::kPad, torch::kInt64);
  batch.last = torch::empty({b}, torch::kInt64);
  batch.mask = torch::zeros({b, static_cast<int64_t>(longest) - 1}, torch::kFloat32);
  auto tokens = batch.tokens.accessor<int64_t, 2>();
  auto last = batch.last.accessor<int64_t, 1>();
  auto mask = batch.mask.accessor<float, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const std::vector<int>& row = rows[static_cast<size_t>(i)];
    for (size_t j = 0; j < row.size(); ++j) tokens[i][static_cast<int64_t>(j)] = row[j];
    last[i] = static_cast<int64_t>(row.size()) - 1;
    // Target j + 1 is predicted at input position j.
    for (size_t j = first[static_cast<size_t>(i)]; j < row.size(); ++j) {
      mask[i][static_cast<int64_t>(j) - 1] = 1.0f;
    }
  }
  return batch;
}

at::Tensor Rewards(SeqPolicyImpl& model, const RewardBatch& batch, double loglik_weight) {
  const SeqPolicyOutput out = model.forward(batch.tokens);
  at::Tensor r = out.values.gather(1, batch.last.unsqueeze(1)).squeeze(1);
  if (loglik_weight == 0.0) return r;
  const int64_t l = batch.tokens.size(1);
  const at::Tensor logp = torch::log_softmax(out.logits.slice(1, 0, l - 1), -1)
                              .gather(2, batch.tokens.slice(1, 1, l).unsqueeze(2))
                              .squeeze(2);
  return r + loglik_weight * (logp * batch.mask).sum(1);
}

absl::StatusOr<std::vector<double>> ScoreCompletions(SeqPolicyImpl& model,
                                                     const Tokenizer& tokenizer,
                                                     const std::vector<std::string>& prompts,
                                                     const std::vector<std::string>& completions,
                                                     double loglik_weight) {
  if (prompts.size() != completions.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prompts.size(), " prompts but ", completions.size(), " completions"));
  }
  std::vector<double> scores;
  scores.reserve(prompts.size());
  try {
    torch::NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    for (size_t begin = 0; begin < prompts.size(); begin += kEvalChunk) {
      const size_t end = std::min(prompts.size(), begin + kEvalChunk);
      const std::vector<std::string> p(prompts.begin() + begin, prompts.begin() + end);
      const std::vector<std::string> c(completions.begin() + begin, completions.begin() + end);
      absl::StatusOr<RewardBatch> batch =
          MakeRewardBatch(p, c, tokenizer, model.config().max_seq_len);
      if (!batch.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("batch from row ", begin, ": ", batch.status().message()));
      }
      const at::Tensor r = Rewards(model, *batch, loglik_weight).to(torch::kFloat64).contiguous();
      scores.insert(scores.end(), r.data_ptr<double>(), r.data_ptr<double>() + r.numel());
    }
    model.train(was_training);
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("reward-model scoring failed: ", e.what_without_backtrace()));
  }
  return scores;
}

at::Tensor BradleyTerryLoss(const at::Tensor& chosen, const at::Tensor& rejected) {
  return torch::softplus(rejected - chosen).mean();
}

PairwiseEval PairwiseStats(const std::vector<double>& margins, const std::vector<int>& true_order) {
  PairwiseEval e;
  e.pairs = static_cast<int>(margins.size());
  if (margins.empty()) return e;
  constexpr int kBins = 10;
  double bin_n[kBins] = {}, bin_p[kBins] = {}, bin_y[kBins] = {};
  double loss = 0.0, right = 0.0, true_right = 0.0, margin = 0.0;
  for (size_t i = 0; i < margins.size(); ++i) {
    const double d = margins[i];
    // softplus(−d) without overflow.
    loss += d > 0 ? std::log1p(std::exp(-d)) : -d + std::log1p(std::exp(d));
    right += d > 0 ? 1.0 : (d == 0 ? 0.5 : 0.0);
    margin += d;
    if (true_order[i] != 0) {
      ++e.true_pairs;
      const double signed_d = true_order[i] * d;
      true_right += signed_d > 0 ? 1.0 : (signed_d == 0 ? 0.5 : 0.0);
    }
    const double p = 1.0 / (1.0 + std::exp(-d));
    for (const auto& [prob, outcome] : {std::pair<double, double>{p, 1.0}, {1.0 - p, 0.0}}) {
      const int bin = std::min(kBins - 1, static_cast<int>(prob * kBins));
      bin_n[bin] += 1.0;
      bin_p[bin] += prob;
      bin_y[bin] += outcome;
    }
  }
  const double n = static_cast<double>(margins.size());
  e.loss = loss / n;
  e.accuracy = right / n;
  e.mean_margin = margin / n;
  e.true_accuracy = e.true_pairs > 0 ? true_right / e.true_pairs : 0.0;
  for (int b = 0; b < kBins; ++b) {
    if (bin_n[b] > 0) e.ece += (bin_n[b] / (2.0 * n)) * std::abs(bin_y[b] - bin_p[b]) / bin_n[b];
  }
  return e;
}

absl::StatusOr<PairwiseEval> EvaluatePairs(SeqPolicyImpl& model, const Tokenizer& tokenizer,
                                           const std::vector<PreferencePair>& pairs,
                                           double loglik_weight) {
  if (pairs.empty()) return absl::InvalidArgumentError("no preference pairs to evaluate");
  PROXIMA_RETURN_IF_ERROR(CheckPairs(pairs, tokenizer, model.config().max_seq_len));
  std::vector<std::string> prompts, completions;  // chosen, rejected, chosen, ...
  prompts.reserve(2 * pairs.size());
  completions.reserve(2 * pairs.size());
  for (const PreferencePair& p : pairs) {
    prompts.insert(prompts.end(), {p.prompt, p.prompt});
    completions.insert(completions.end(), {p.chosen, p.rejected});
  }
  PROXIMA_ASSIGN_OR_RETURN(const std::vector<double> scores,
                           ScoreCompletions(model, tokenizer, prompts, completions, loglik_weight));
  std::vector<double> margins(pairs.size());
  std::vector<int> order(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    margins[i] = scores[2 * i] - scores[2 * i + 1];
    order[i] = TrueOrder(pairs[i]);
  }
  return PairwiseStats(margins, order);
}

absl::Status RewardModelOptions::Validate() const {
  if (steps < 1)
    return absl::InvalidArgumentError(absl::StrCat("--steps=", steps, " must be >= 1"));
  if (batch_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--batch-size=", batch_size, " must be >= 1"));
  }
  if (!(learning_rate > 0.0) || !std::isfinite(learning_rate)) {
    return absl::InvalidArgumentError(absl::StrCat("--lr=", learning_rate, " must be > 0"));
  }
  if (!(grad_clip > 0.0) || !std::isfinite(grad_clip)) {
    return absl::InvalidArgumentError(absl::StrCat("grad_clip=", grad_clip, " must be > 0"));
  }
  if (eval_every < 0) {
    return absl::InvalidArgumentError(absl::StrCat("--eval-every=", eval_every, " must be >= 0"));
  }
  if (!(loglik_weight >= 0.0) || !std::isfinite(loglik_weight)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--loglik-weight=", loglik_weight, " must be a finite number >= 0"));
  }
  return absl::OkStatus();
}

absl::StatusOr<RewardModelResult> TrainRewardModel(
    SeqPolicyImpl& model, const Tokenizer& tokenizer, const std::vector<PreferencePair>& train,
    const std::vector<PreferencePair>& eval, const RewardModelOptions& options,
    const std::function<void(const RewardModelProgress&)>& on_progress) {
  PROXIMA_RETURN_IF_ERROR(options.Validate());
  if (train.empty()) return absl::InvalidArgumentError("no training pairs");
  if (absl::Status s = CheckPairs(train, tokenizer, model.config().max_seq_len); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("training ", s.message()));
  }
  if (absl::Status s = CheckPairs(eval, tokenizer, model.config().max_seq_len); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("evaluation ", s.message()));
  }
  const absl::Time start = absl::Now();
  RewardModelResult result;
  Rng rng(options.seed);
  std::deque<double> recent;
  try {
    std::vector<at::Tensor> trained;
    for (auto& p : model.named_parameters()) {
      const bool train = options.train_trunk || absl::StartsWith(p.key(), "value_head.");
      p.value().set_requires_grad(train);
      if (train) trained.push_back(p.value());
    }
    model.train();
    torch::optim::Adam optimizer(trained, torch::optim::AdamOptions(options.learning_rate));
    if (!eval.empty()) {
      PROXIMA_ASSIGN_OR_RETURN(result.initial_eval,
                               EvaluatePairs(model, tokenizer, eval, options.loglik_weight));
    }
    for (int step = 1; step <= options.steps; ++step) {
      std::vector<size_t> index(static_cast<size_t>(options.batch_size));
      for (size_t& i : index) i = static_cast<size_t>(rng.UniformInt(train.size()));
      PROXIMA_ASSIGN_OR_RETURN(auto r,
                               PairRewards(model, tokenizer, train, index, options.loglik_weight));
      const at::Tensor loss = BradleyTerryLoss(r.first, r.second);
      optimizer.zero_grad();
      loss.backward();
      torch::nn::utils::clip_grad_norm_(trained, options.grad_clip);
      optimizer.step();
      RewardModelProgress progress;
      progress.step = step;
      progress.loss = loss.item<double>();
      progress.accuracy = (r.first > r.second).to(torch::kFloat64).mean().item<double>();
      if (!std::isfinite(progress.loss)) {
        return absl::InternalError(absl::StrCat("the Bradley-Terry loss is ", progress.loss,
                                                " at step ", step, " (lower --lr)"));
      }
      recent.push_back(progress.loss);
      if (recent.size() > 50) recent.pop_front();
      const bool eval_step =
          step == options.steps || (options.eval_every > 0 && step % options.eval_every == 0);
      if (eval_step && !eval.empty()) {
        PROXIMA_ASSIGN_OR_RETURN(PairwiseEval e,
                                 EvaluatePairs(model, tokenizer, eval, options.loglik_weight));
        progress.eval = e;
        if (step == options.steps) result.eval = e;
      }
      if (on_progress && (eval_step || step % 100 == 0)) on_progress(progress);
    }
    double sum = 0.0;
    for (double l : recent) sum += l;
    result.final_loss = sum / static_cast<double>(recent.size());
    result.steps = options.steps;
    PROXIMA_ASSIGN_OR_RETURN(result.train,
                             EvaluatePairs(model, tokenizer, train, options.loglik_weight));
    model.eval();
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("reward-model training failed: ", e.what_without_backtrace()));
  }
  result.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return result;
}

}  // namespace proxima::lm

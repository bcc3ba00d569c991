#include "learner/lm/seq_trainer.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <torch/nn/utils/clip_grad.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/lm/seq_batch.h"

namespace proxima::learner_lm {
namespace {

double Item(const at::Tensor& t) { return t.item<double>(); }

}  // namespace

absl::StatusOr<SeqAlgo> ParseSeqAlgo(const std::string& name) {
  if (name == "grpo") return SeqAlgo::kGrpo;
  if (name == "ppo") return SeqAlgo::kPpo;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown sequence algorithm '", name, "' (grpo or ppo)"));
}

const char* SeqAlgoName(SeqAlgo algo) { return algo == SeqAlgo::kGrpo ? "grpo" : "ppo"; }

absl::Status SeqTrainerOptions::Validate() const {
  auto bad = [](const char* field, double value, const char* range) {
    return absl::InvalidArgumentError(
        absl::StrCat("sequence trainer option ", field, " = ", value, " is out of range ", range));
  };
  if (!(learning_rate > 0) || !std::isfinite(learning_rate)) {
    return bad("learning_rate", learning_rate, "(> 0)");
  }
  if (!(grad_clip > 0)) return bad("grad_clip", grad_clip, "(> 0)");
  if (epochs < 1) return bad("epochs", epochs, "(>= 1)");
  if (minibatch_size < 1) return bad("minibatch_size", minibatch_size, "(>= 1)");
  if (!(grpo.clip_eps_low > 0 && grpo.clip_eps_low < 1)) {
    return bad("clip_eps_low", grpo.clip_eps_low, "(0, 1)");
  }
  if (!(grpo.clip_eps_high > 0)) return bad("clip_eps_high", grpo.clip_eps_high, "(> 0)");
  if (!(grpo.kl_beta >= 0)) return bad("kl_beta", grpo.kl_beta, "(>= 0)");
  if (!(ppo.clip_eps > 0 && ppo.clip_eps < 1)) return bad("clip_eps", ppo.clip_eps, "(0, 1)");
  if (!(ppo.value_clip_eps > 0)) return bad("value_clip_eps", ppo.value_clip_eps, "(> 0)");
  if (!(ppo.vf_coef >= 0)) return bad("vf_coef", ppo.vf_coef, "(>= 0)");
  if (!(reward_kl_beta >= 0)) return bad("reward_kl_beta", reward_kl_beta, "(>= 0)");
  if (!(kl_target >= 0)) return bad("kl_target", kl_target, "(>= 0)");
  if (!(kl_horizon > 0)) return bad("kl_horizon", kl_horizon, "(> 0)");
  if (!(gamma >= 0 && gamma <= 1)) return bad("gamma", gamma, "[0, 1]");
  if (!(lambda >= 0 && lambda <= 1)) return bad("lambda", lambda, "[0, 1]");
  return absl::OkStatus();
}

SeqTrainer::SeqTrainer(lm::SeqPolicy policy, lm::SeqPolicy reference,
                       const SeqTrainerOptions& options)
    : policy_(std::move(policy)),
      reference_(std::move(reference)),
      options_(options),
      optimizer_(policy_->parameters(), torch::optim::AdamOptions(options.learning_rate)),
      rng_(options.seed),
      reward_kl_beta_(options.reward_kl_beta) {
  for (auto& p : reference_->parameters()) p.set_requires_grad(false);
}

absl::StatusOr<std::unique_ptr<SeqTrainer>> SeqTrainer::Create(lm::SeqPolicy policy,
                                                               lm::SeqPolicy reference,
                                                               const SeqTrainerOptions& options) {
  PROXIMA_RETURN_IF_ERROR(options.Validate());
  if (!policy || !reference) return absl::InvalidArgumentError("policy and reference are required");
  const lm::SeqPolicyConfig& a = policy->config();
  const lm::SeqPolicyConfig& b = reference->config();
  if (a.DebugString() != b.DebugString()) {
    return absl::InvalidArgumentError(absl::StrCat("the reference model (", b.DebugString(),
                                                   ") is not shaped like the policy (",
                                                   a.DebugString(), ")"));
  }
  return std::unique_ptr<SeqTrainer>(new SeqTrainer(std::move(policy), std::move(reference),
                                                    options));
}

absl::StatusOr<SeqUpdateMetrics> SeqTrainer::Update(absl::Span<const SequenceChunk> chunks) {
  try {
    return UpdateOrThrow(chunks);
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("sequence update (", SeqAlgoName(options_.algo), "): ",
                     e.what_without_backtrace()));
  }
}

absl::StatusOr<SeqUpdateMetrics> SeqTrainer::UpdateOrThrow(
    absl::Span<const SequenceChunk> chunks) {
  PROXIMA_ASSIGN_OR_RETURN(const SeqBatch batch,
                           MakeSeqBatch(chunks, policy_->config().max_seq_len));
  const bool grpo = options_.algo == SeqAlgo::kGrpo;
  const at::Tensor& mask = batch.mask;
  const double tokens = static_cast<double>(batch.num_tokens);
  SeqUpdateMetrics m;
  m.sequences = batch.rows();
  m.tokens = batch.num_tokens;
  m.mean_reward = Item(batch.rewards.mean());
  m.solved_fraction = Item((batch.rewards >= 1).to(at::kDouble).mean());
  m.mean_completion_length = tokens / static_cast<double>(m.sequences);

  // --- 2. Pre-pass: the policy before this update, and the reference.
  TokenOutputs pre, ref;
  {
    torch::NoGradGuard no_grad;
    pre = TokenLogProbs(*policy_, batch);
    ref = TokenLogProbs(*reference_, batch);
  }
  const at::Tensor d = (ref.logp - pre.logp) * mask;
  m.kl_to_ref = Item(((d.exp() - d - 1) * mask).sum()) / tokens;
  m.seq_kl_to_ref = Item(((pre.logp - ref.logp) * mask).sum(1).mean());
  m.entropy = Item(pre.entropy.sum()) / tokens;
  const at::Tensor gap = (pre.logp - batch.behaviour_logp).abs() * mask;
  m.behaviour_gap = Item(gap.sum()) / tokens;
  m.behaviour_gap_max = Item(gap.max());

  // --- 3. Advantages.
  at::Tensor seq_advantages, token_advantages, returns;
  if (grpo) {
    PROXIMA_ASSIGN_OR_RETURN(GroupAdvantages adv,
                             GroupRelativeAdvantages(batch.rewards, batch.group_keys,
                                                     options_.scale_by_std));
    seq_advantages = adv.advantages;
    m.groups = adv.num_groups;
    m.degenerate_groups = adv.degenerate_groups;
    m.kl_coef = options_.grpo.kl_beta;
  } else {
    PROXIMA_ASSIGN_OR_RETURN(const at::Tensor rewards,
                             KlShapedRewards(pre.logp, ref.logp, mask, batch.rewards,
                                             reward_kl_beta_));
    PROXIMA_ASSIGN_OR_RETURN(TokenTargets targets, TokenGae(rewards, pre.values, mask,
                                                            options_.gamma, options_.lambda));
    token_advantages = targets.advantages;
    returns = targets.returns;
    m.kl_coef = reward_kl_beta_;
  }

  // --- 4. Epochs of shuffled minibatches.
  const int64_t rows = batch.rows();
  const int64_t mb = std::min<int64_t>(options_.minibatch_size, rows);
  std::vector<int64_t> order(static_cast<size_t>(rows));
  std::iota(order.begin(), order.end(), 0);
  double sum_loss = 0, sum_policy = 0, sum_value = 0, sum_clip = 0, sum_kl = 0, sum_norm = 0;
  for (int epoch = 0; epoch < options_.epochs; ++epoch) {
    for (int64_t i = rows - 1; i > 0; --i) {
      std::swap(order[i], order[rng_.UniformInt(static_cast<uint64_t>(i + 1))]);
    }
    for (int64_t start = 0; start < rows; start += mb) {
      const int64_t n = std::min(mb, rows - start);
      const at::Tensor index =
          at::tensor(std::vector<int64_t>(order.begin() + start, order.begin() + start + n),
                     at::kLong);
      const SeqBatch part = batch.Select(index);
      const TokenOutputs cur = TokenLogProbs(*policy_, part);
      at::Tensor total;
      if (grpo) {
        PROXIMA_ASSIGN_OR_RETURN(
            GrpoTerms t, GrpoLoss(cur.logp, part.behaviour_logp, ref.logp.index_select(0, index),
                                  part.mask, seq_advantages.index_select(0, index),
                                  options_.grpo));
        total = t.total;
        sum_policy += Item(t.policy_loss);
        sum_clip += Item(t.clip_fraction);
        sum_kl += Item(t.approx_kl);
      } else {
        PROXIMA_ASSIGN_OR_RETURN(
            SeqPpoTerms t,
            SeqPpoLoss(cur.logp, part.behaviour_logp, part.mask,
                       token_advantages.index_select(0, index), cur.values,
                       pre.values.index_select(0, index), returns.index_select(0, index),
                       options_.ppo));
        total = t.total;
        sum_policy += Item(t.policy_loss);
        sum_value += Item(t.value_loss);
        sum_clip += Item(t.clip_fraction);
        sum_kl += Item(t.approx_kl);
      }
      if (m.minibatch_steps == 0) {
        const at::Tensor ratio = ((cur.logp.detach() - part.behaviour_logp) * part.mask).exp();
        m.first_ratio_deviation = Item(((ratio - 1).abs() * part.mask).max());
      }
      if (!std::isfinite(Item(total.detach()))) {
        return absl::InternalError(absl::StrCat("non-finite ", SeqAlgoName(options_.algo),
                                                " loss at minibatch ", m.minibatch_steps,
                                                "; the update was not applied further"));
      }
      optimizer_.zero_grad();
      total.backward();
      sum_norm += torch::nn::utils::clip_grad_norm_(policy_->parameters(), options_.grad_clip);
      optimizer_.step();
      sum_loss += Item(total.detach());
      ++m.minibatch_steps;
    }
  }
  const double steps = std::max(1, m.minibatch_steps);
  m.loss = sum_loss / steps;
  m.policy_loss = sum_policy / steps;
  m.value_loss = sum_value / steps;
  m.clip_fraction = sum_clip / steps;
  m.approx_kl = sum_kl / steps;
  m.grad_norm = sum_norm / steps;

  // --- 5. The reward's KL coefficient follows its target.
  if (!grpo && options_.kl_target > 0) {
    reward_kl_beta_ = AdaptKlCoefficient(reward_kl_beta_, m.seq_kl_to_ref, options_.kl_target,
                                         m.sequences, options_.kl_horizon);
  }
  return m;
}

}  // namespace proxima::learner_lm

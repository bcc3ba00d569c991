#include "learner/lm/seq_loss.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace proxima::learner_lm {
namespace {

std::string ShapeString(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) absl::StrAppend(&s, i ? ", " : "", t.size(i));
  return s + "]";
}

absl::Status CheckSameShape(const at::Tensor& reference, const char* reference_name,
                            const at::Tensor& t, const char* name) {
  if (!t.defined() || t.sizes() != reference.sizes()) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, " has shape ", t.defined() ? ShapeString(t) : std::string("(undefined)"),
        ", expected ", reference_name, "'s ", ShapeString(reference)));
  }
  return absl::OkStatus();
}

// The mask must be [B, T], 0/1, each row a prefix of ones, with ≥ 1 real token
// in the batch.
absl::Status CheckMask(const at::Tensor& mask) {
  if (!mask.defined() || mask.dim() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("mask must be [B, T], got ", mask.defined() ? ShapeString(mask) : "(undefined)"));
  }
  const at::Tensor m = mask.to(at::kDouble);
  if (!((m == 0) | (m == 1)).all().item<bool>()) {
    return absl::InvalidArgumentError("mask holds a value other than 0 and 1");
  }
  if (m.size(1) > 1 && (m.narrow(1, 1, m.size(1) - 1) > m.narrow(1, 0, m.size(1) - 1))
                           .any()
                           .item<bool>()) {
    return absl::InvalidArgumentError(
        "mask row is not a prefix of ones (a real token follows padding)");
  }
  if (m.sum().item<double>() == 0) {
    return absl::InvalidArgumentError("mask has no real token");
  }
  return absl::OkStatus();
}

at::Tensor Aggregate(const at::Tensor& per_token, const at::Tensor& mask,
                     LossAggregation aggregation) {
  const at::Tensor masked = per_token * mask;
  if (aggregation == LossAggregation::kTokenMean) return masked.sum() / mask.sum();
  // Rows without a real token (possible in a sequence-mean batch only if the
  // caller padded the batch) count as absent.
  const at::Tensor lengths = mask.sum(1);
  const at::Tensor present = lengths > 0;
  const at::Tensor row_means = masked.sum(1) / lengths.clamp_min(1);
  return (row_means * present).sum() / present.sum();
}

}  // namespace

absl::StatusOr<LossAggregation> ParseLossAggregation(const std::string& name) {
  if (name == "token-mean") return LossAggregation::kTokenMean;
  if (name == "sequence-mean") return LossAggregation::kSequenceMean;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown loss aggregation '", name, "' (token-mean or sequence-mean)"));
}

const char* LossAggregationName(LossAggregation aggregation) {
  return aggregation == LossAggregation::kTokenMean ? "token-mean" : "sequence-mean";
}

absl::StatusOr<GroupAdvantages> GroupRelativeAdvantages(const at::Tensor& rewards,
                                                        const at::Tensor& group_ids,
                                                        bool scale_by_std, double eps) {
  if (!rewards.defined() || rewards.dim() != 1 || !rewards.is_floating_point()) {
    return absl::InvalidArgumentError("rewards must be a 1-D floating tensor");
  }
  if (!group_ids.defined() || group_ids.dim() != 1 || group_ids.is_floating_point() ||
      group_ids.size(0) != rewards.size(0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "group_ids must be a 1-D integral tensor as long as rewards (", rewards.size(0), ")"));
  }
  if (!(eps >= 0) || !std::isfinite(eps)) {
    return absl::InvalidArgumentError(absl::StrCat("eps must be finite and >= 0, got ", eps));
  }
  const at::Tensor r = rewards.detach().to(at::kDouble).contiguous();
  const at::Tensor g = group_ids.to(at::kLong).contiguous();
  const double* rp = r.data_ptr<double>();
  const int64_t* gp = g.data_ptr<int64_t>();
  const int64_t n = r.size(0);
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(rp[i])) {
      return absl::InvalidArgumentError(absl::StrCat("reward ", i, " is not finite: ", rp[i]));
    }
  }
  std::map<int64_t, std::vector<int64_t>> members;
  for (int64_t i = 0; i < n; ++i) members[gp[i]].push_back(i);

  std::vector<double> adv(n, 0.0);
  GroupAdvantages out;
  out.num_groups = static_cast<int64_t>(members.size());
  for (const auto& [id, rows] : members) {
    const double size = static_cast<double>(rows.size());
    double sum = 0, lo = rp[rows[0]], hi = rp[rows[0]];
    for (int64_t i : rows) {
      sum += rp[i];
      lo = std::min(lo, rp[i]);
      hi = std::max(hi, rp[i]);
    }
    const double mean = sum / size;
    if (rows.size() < 2 || hi - lo <= 1e-12 * std::max(1.0, std::abs(mean))) {
      ++out.degenerate_groups;
      continue;  // advantages stay exactly 0
    }
    double sq = 0;
    for (int64_t i : rows) sq += (rp[i] - mean) * (rp[i] - mean);
    const double scale = scale_by_std ? 1.0 / (std::sqrt(sq / (size - 1)) + eps) : 1.0;
    for (int64_t i : rows) adv[i] = (rp[i] - mean) * scale;
  }
  out.advantages = at::tensor(adv, at::kDouble).to(rewards.scalar_type());
  return out;
}

absl::StatusOr<GrpoTerms> GrpoLoss(const at::Tensor& logp, const at::Tensor& behaviour_logp,
                                   const at::Tensor& ref_logp, const at::Tensor& mask,
                                   const at::Tensor& advantages, const GrpoOptions& options) {
  if (absl::Status s = CheckMask(mask); !s.ok()) return s;
  for (const auto& [t, name] : {std::pair{&logp, "logp"}, {&behaviour_logp, "behaviour_logp"},
                                {&ref_logp, "ref_logp"}}) {
    if (absl::Status s = CheckSameShape(mask, "mask", *t, name); !s.ok()) return s;
  }
  if (!advantages.defined() || advantages.dim() != 1 || advantages.size(0) != mask.size(0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("advantages must be [B] with B = ", mask.size(0)));
  }
  if (!(options.clip_eps_low > 0 && options.clip_eps_low < 1 && options.clip_eps_high > 0 &&
        options.kl_beta >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GRPO options out of range: clip_eps_low ", options.clip_eps_low, " (0, 1), clip_eps_high ",
        options.clip_eps_high, " > 0, kl_beta ", options.kl_beta, " >= 0"));
  }
  const at::Tensor m = mask.to(logp.scalar_type());
  // Padding may hold anything finite: zero it before exp so it cannot overflow.
  const at::Tensor log_ratio = (logp - behaviour_logp.detach()) * m;
  const at::Tensor ratio = log_ratio.exp();
  const at::Tensor a = advantages.detach().to(logp.scalar_type()).unsqueeze(1);
  const double lo = 1 - options.clip_eps_low, hi = 1 + options.clip_eps_high;
  const at::Tensor surr = -at::min(ratio * a, ratio.clamp(lo, hi) * a);
  const at::Tensor ref_minus = (ref_logp.detach() - logp) * m;
  const at::Tensor kl = ref_minus.exp() - ref_minus - 1;

  GrpoTerms out;
  out.total = Aggregate(surr + options.kl_beta * kl, m, options.aggregation);
  out.policy_loss = Aggregate(surr, m, options.aggregation).detach();
  out.kl = Aggregate(kl, m, options.aggregation).detach();
  const at::Tensor r = ratio.detach();
  out.clip_fraction = Aggregate(((r < lo) | (r > hi)).to(m.scalar_type()), m,
                                LossAggregation::kTokenMean);
  out.approx_kl = Aggregate((r - 1) - log_ratio.detach(), m, LossAggregation::kTokenMean);
  return out;
}

absl::StatusOr<at::Tensor> KlShapedRewards(const at::Tensor& prepass_logp,
                                           const at::Tensor& ref_logp, const at::Tensor& mask,
                                           const at::Tensor& task_rewards, double kl_beta) {
  if (absl::Status s = CheckMask(mask); !s.ok()) return s;
  if (absl::Status s = CheckSameShape(mask, "mask", prepass_logp, "prepass_logp"); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckSameShape(mask, "mask", ref_logp, "ref_logp"); !s.ok()) return s;
  if (!task_rewards.defined() || task_rewards.dim() != 1 ||
      task_rewards.size(0) != mask.size(0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("task_rewards must be [B] with B = ", mask.size(0)));
  }
  if (!(kl_beta >= 0) || !std::isfinite(kl_beta)) {
    return absl::InvalidArgumentError(absl::StrCat("kl_beta must be finite and >= 0, got ", kl_beta));
  }
  const at::Tensor m = mask.to(prepass_logp.scalar_type());
  at::Tensor rewards = (-kl_beta * (prepass_logp.detach() - ref_logp.detach())) * m;
  // The last real token of row b is at lengths[b] − 1.
  const at::Tensor last = (m.sum(1).to(at::kLong) - 1).clamp_min(0).unsqueeze(1);
  const at::Tensor has_token = (m.sum(1) > 0).to(m.scalar_type());
  rewards = rewards.scatter_add(
      1, last, (task_rewards.detach().to(m.scalar_type()) * has_token).unsqueeze(1));
  return rewards;
}

absl::StatusOr<TokenTargets> TokenGae(const at::Tensor& rewards, const at::Tensor& values,
                                      const at::Tensor& mask, double gamma, double lambda) {
  if (absl::Status s = CheckMask(mask); !s.ok()) return s;
  if (absl::Status s = CheckSameShape(mask, "mask", rewards, "rewards"); !s.ok()) return s;
  if (absl::Status s = CheckSameShape(mask, "mask", values, "values"); !s.ok()) return s;
  if (!(gamma >= 0 && gamma <= 1 && lambda >= 0 && lambda <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("gamma and lambda must be in [0, 1], got ", gamma, " and ", lambda));
  }
  const at::Tensor r = rewards.detach().to(at::kDouble).contiguous();
  const at::Tensor v = values.detach().to(at::kDouble).contiguous();
  const at::Tensor lengths = mask.to(at::kLong).sum(1).contiguous();
  const int64_t rows = mask.size(0), cols = mask.size(1);
  at::Tensor adv = at::zeros({rows, cols}, at::kDouble);
  at::Tensor ret = at::zeros({rows, cols}, at::kDouble);
  const double* rp = r.data_ptr<double>();
  const double* vp = v.data_ptr<double>();
  const int64_t* lp = lengths.data_ptr<int64_t>();
  double* ap = adv.data_ptr<double>();
  double* tp = ret.data_ptr<double>();
  for (int64_t b = 0; b < rows; ++b) {
    const int64_t o = b * cols;
    double next_value = 0, next_adv = 0;  // after the last token: terminal
    for (int64_t t = lp[b] - 1; t >= 0; --t) {
      const double delta = rp[o + t] + gamma * next_value - vp[o + t];
      next_adv = delta + gamma * lambda * next_adv;
      next_value = vp[o + t];
      ap[o + t] = next_adv;
      tp[o + t] = next_adv + vp[o + t];
    }
  }
  return TokenTargets{adv.to(rewards.scalar_type()), ret.to(rewards.scalar_type())};
}

absl::StatusOr<SeqPpoTerms> SeqPpoLoss(const at::Tensor& logp, const at::Tensor& behaviour_logp,
                                       const at::Tensor& mask, const at::Tensor& advantages,
                                       const at::Tensor& new_values, const at::Tensor& old_values,
                                       const at::Tensor& returns, const SeqPpoOptions& options) {
  if (absl::Status s = CheckMask(mask); !s.ok()) return s;
  for (const auto& [t, name] :
       {std::pair{&logp, "logp"}, {&behaviour_logp, "behaviour_logp"},
        {&advantages, "advantages"}, {&new_values, "new_values"}, {&old_values, "old_values"},
        {&returns, "returns"}}) {
    if (absl::Status s = CheckSameShape(mask, "mask", *t, name); !s.ok()) return s;
  }
  if (!(options.clip_eps > 0 && options.clip_eps < 1 && options.value_clip_eps > 0 &&
        options.vf_coef >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sequence PPO options out of range: clip_eps ", options.clip_eps, " (0, 1), value_clip_eps ",
        options.value_clip_eps, " > 0, vf_coef ", options.vf_coef, " >= 0"));
  }
  const at::Tensor m = mask.to(logp.scalar_type());
  at::Tensor a = advantages.detach().to(logp.scalar_type()) * m;
  if (options.normalize_advantages) {
    const at::Tensor count = m.sum();
    const at::Tensor mean = a.sum() / count;
    const at::Tensor centered = (a - mean) * m;
    // Unbiased over the real tokens; a single token has no spread to divide by.
    const at::Tensor var = (centered * centered).sum() / (count - 1).clamp_min(1);
    a = centered / (var.sqrt() + 1e-8);
  }
  const at::Tensor log_ratio = (logp - behaviour_logp.detach()) * m;
  const at::Tensor ratio = log_ratio.exp();
  const double eps = options.clip_eps;
  const at::Tensor policy = at::max(-a * ratio, -a * ratio.clamp(1 - eps, 1 + eps));
  const at::Tensor ret = returns.detach();
  const at::Tensor sq = (new_values - ret).pow(2);
  at::Tensor value = 0.5 * sq;
  if (options.clip_value_loss) {
    const at::Tensor old = old_values.detach();
    const at::Tensor clipped =
        old + (new_values - old).clamp(-options.value_clip_eps, options.value_clip_eps);
    value = 0.5 * at::max(sq, (clipped - ret).pow(2));
  }
  SeqPpoTerms out;
  const at::Tensor policy_loss = Aggregate(policy, m, LossAggregation::kTokenMean);
  const at::Tensor value_loss = Aggregate(value, m, LossAggregation::kTokenMean);
  out.total = policy_loss + options.vf_coef * value_loss;
  out.policy_loss = policy_loss.detach();
  out.value_loss = value_loss.detach();
  const at::Tensor r = ratio.detach();
  out.clip_fraction =
      Aggregate(((r - 1).abs() > eps).to(m.scalar_type()), m, LossAggregation::kTokenMean);
  out.approx_kl = Aggregate((r - 1) - log_ratio.detach(), m, LossAggregation::kTokenMean);
  return out;
}

double AdaptKlCoefficient(double beta, double kl, double kl_target, int64_t n, double horizon) {
  const double error = std::clamp(kl / kl_target - 1.0, -0.2, 0.2);
  return beta * (1.0 + error * static_cast<double>(n) / horizon);
}

}  // namespace proxima::learner_lm

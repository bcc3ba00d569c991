#include "learner/fused/ppo_kernel.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/fused/mlp_math.h"

namespace proxima::fused {
namespace {

constexpr double kHalfLog2Pi = 0.91893853320467274178;  // 0.5 * log(2π), as actor_critic.cc

// out[j] = Σ_i x[i, j] for x [n, width].
template <typename T>
void ColumnSums(const T* x, int64_t n, int width, T* out) {
  std::fill(out, out + width, T(0));
  for (int64_t i = 0; i < n; ++i) {
    const T* row = x + i * width;
    for (int j = 0; j < width; ++j) out[j] += row[j];
  }
}

// The gradient of max(a, b) (at::max / at::maximum) with respect to a: 1, 0,
// or ½ on a tie.
template <typename T>
T MaxWeight(T a, T b) {
  if (a > b) return T(1);
  if (a == b) return T(0.5);
  return T(0);
}

// Σ x² in double, eight independent partial sums (vectorizable without
// reassociation).
template <typename T>
double SumSquares(const T* x, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += static_cast<double>(x[i + j]) * x[i + j];
  }
  for (; i < n; ++i) acc[0] += static_cast<double>(x[i]) * x[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// The elementwise Adam update of torch::optim::Adam (1.13) on flat buffers.
template <typename T>
struct AdamCoefficients {
  T b1, one_b1, b2, one_b2, sqrt_bc2, eps, step_size;
};
template <typename T>
inline void AdamLoop(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
                     int64_t n, const AdamCoefficients<T>& c) {
  for (int64_t i = 0; i < n; ++i) {
    m[i] = m[i] * c.b1 + c.one_b1 * g[i];
    v[i] = v[i] * c.b2 + c.one_b2 * g[i] * g[i];
    const T denom = std::sqrt(v[i]) / c.sqrt_bc2 + c.eps;
    p[i] = p[i] + c.step_size * (m[i] / denom);
  }
}
__attribute__((target_clones("avx2", "default"))) void Adam(float* p, const float* g, float* m,
                                                            float* v, int64_t n,
                                                            const AdamCoefficients<float>& c) {
  AdamLoop(p, g, m, v, n, c);
}
void Adam(double* p, const double* g, double* m, double* v, int64_t n,
          const AdamCoefficients<double>& c) {
  AdamLoop(p, g, m, v, n, c);
}

// max(a, b) as at::max: NaN when either is NaN.
template <typename T>
T NanMax(T a, T b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  return std::max(a, b);
}

}  // namespace

template <typename T>
PpoKernel<T>::PpoKernel(const MlpLayout& layout, int64_t max_batch)
    : layout_(layout), max_batch_(max_batch) {
  const int64_t b = max_batch;
  const int a = layout_.action_dim;
  auto trunk_acts = [&](const std::vector<LinearRef>& trunk) {
    std::vector<std::vector<T>> acts;
    for (const LinearRef& l : trunk) acts.emplace_back(b * l.out);
    return acts;
  };
  policy_acts_ = trunk_acts(layout_.policy_trunk);
  value_acts_ = trunk_acts(layout_.value_trunk);
  dist_.resize(b * a);
  d_dist_.resize(b * a);
  probs_.resize(b * a);  // continuous: z
  log_probs_.resize(layout_.discrete ? b * a : 0);
  value_.resize(b);
  d_value_.resize(b);
  const int64_t hidden = b * layout_.max_hidden();
  d_policy_top_.resize(hidden);
  d_value_top_.resize(layout_.shared_trunk ? 0 : hidden);
  d_scratch_.resize(hidden);
  logp_.resize(b);
  entropy_.resize(b);
  adv_.resize(b);
  ratio_.resize(b);
  log_ratio_.resize(b);
}

template <typename T>
absl::StatusOr<PpoKernel<T>> PpoKernel<T>::Create(const MlpLayout& layout, int64_t max_batch) {
  if (max_batch < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("fused PPO kernel: max_batch must be >= 1 (got ", max_batch, ")"));
  }
  if (layout.hidden_sizes.empty() || layout.total == 0) {
    return absl::InvalidArgumentError("fused PPO kernel: empty layout (use MakeMlpLayout)");
  }
  return PpoKernel(layout, max_batch);
}

template <typename T>
absl::Status PpoKernel<T>::CheckRows(int64_t n) const {
  if (n < 1 || n > max_batch_) {
    return absl::InvalidArgumentError(absl::StrCat("fused PPO kernel: a minibatch of ", n,
                                                   " rows (this kernel takes 1 to ", max_batch_,
                                                   ")"));
  }
  return absl::OkStatus();
}

template <typename T>
void PpoKernel<T>::TrunkForward(const T* params, const std::vector<LinearRef>& trunk, const T* obs,
                                int64_t n, std::vector<std::vector<T>>& acts) {
  const T* x = obs;
  for (size_t l = 0; l < trunk.size(); ++l) {
    T* y = acts[l].data();
    Linear(params, trunk[l], x, n, y);
    ActivateInPlace(layout_.activation, y, n * trunk[l].out);
    x = y;
  }
}

template <typename T>
void PpoKernel<T>::HeadsForward(const T* params, int64_t n) {
  const T* policy_top = policy_acts_.back().data();
  const T* value_top = layout_.shared_trunk ? policy_top : value_acts_.back().data();
  Linear(params, layout_.policy_head, policy_top, n, dist_.data());
  Linear(params, layout_.value_head, value_top, n, value_.data());
}

template <typename T>
absl::Status PpoKernel<T>::Forward(const T* params, const T* obs, int64_t n, T* dist_params,
                                   T* values) {
  absl::Status rows = CheckRows(n);
  if (!rows.ok()) return rows;
  TrunkForward(params, layout_.policy_trunk, obs, n, policy_acts_);
  if (!layout_.shared_trunk) TrunkForward(params, layout_.value_trunk, obs, n, value_acts_);
  HeadsForward(params, n);
  std::copy(dist_.begin(), dist_.begin() + n * layout_.action_dim, dist_params);
  std::copy(value_.begin(), value_.begin() + n, values);
  return absl::OkStatus();
}

template <typename T>
void PpoKernel<T>::TrunkBackward(const T* params, const std::vector<LinearRef>& trunk,
                                 const T* obs, int64_t n, std::vector<std::vector<T>>& acts,
                                 T* top, T* grads) {
  T* cur = top;
  T* other = d_scratch_.data();
  const int rows = static_cast<int>(n);
  for (size_t l = trunk.size(); l-- > 0;) {
    const LinearRef& layer = trunk[l];
    const T* h = acts[l].data();
    const int64_t count = n * layer.out;
    if (layout_.activation == Activation::kTanh) {
      for (int64_t i = 0; i < count; ++i) cur[i] *= T(1) - h[i] * h[i];
    } else {
      // threshold_backward(grad, relu output, 0)
      for (int64_t i = 0; i < count; ++i) cur[i] = h[i] <= T(0) ? T(0) : cur[i];
    }
    const T* x = l == 0 ? obs : acts[l - 1].data();
    Gemm(true, false, layer.out, layer.in, rows, T(1), cur, layer.out, x, layer.in, T(0),
         grads + layer.weight, layer.in);
    ColumnSums(cur, n, layer.out, grads + layer.bias);
    if (l > 0) {
      Gemm(false, false, rows, layer.in, layer.out, T(1), cur, layer.out, params + layer.weight,
           layer.in, T(0), other, layer.in);
      std::swap(cur, other);
    }
  }
}

template <typename T>
absl::StatusOr<LossTerms> PpoKernel<T>::LossAndGradient(const T* params,
                                                        const MinibatchView<T>& mb,
                                                        const LossOptions& o, T* grads) {
  absl::Status rows = CheckRows(mb.n);
  if (!rows.ok()) return rows;
  const int64_t n = mb.n;
  const int a_dim = layout_.action_dim;
  if (layout_.discrete) {
    for (int64_t i = 0; i < n; ++i) {
      const T a = mb.actions[i];
      if (!(a >= T(0) && a < T(a_dim)) || a != std::floor(a)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "fused PPO kernel: action ", static_cast<double>(a), " of row ", i,
            " is not an integer in [0, ", a_dim, ")"));
      }
    }
  }

  // Forward.
  TrunkForward(params, layout_.policy_trunk, mb.obs, n, policy_acts_);
  if (!layout_.shared_trunk) TrunkForward(params, layout_.value_trunk, mb.obs, n, value_acts_);
  HeadsForward(params, n);

  // Log-probabilities and entropies (ActorCriticImpl::LogProbEntropy).
  const T* log_std = layout_.discrete ? nullptr : params + layout_.log_std;
  if (layout_.discrete) {
    for (int64_t i = 0; i < n; ++i) {
      const T* x = dist_.data() + i * a_dim;
      T* lp = log_probs_.data() + i * a_dim;
      T* p = probs_.data() + i * a_dim;
      const T m = *std::max_element(x, x + a_dim);
      T s = 0;
      for (int k = 0; k < a_dim; ++k) s += std::exp(x[k] - m);
      const T lse = std::log(s);
      T h = 0;
      for (int k = 0; k < a_dim; ++k) {
        lp[k] = x[k] - m - lse;
        p[k] = std::exp(lp[k]);
        h += p[k] * lp[k];
      }
      logp_[i] = lp[static_cast<int64_t>(mb.actions[i])];
      entropy_[i] = -h;
    }
  } else {
    T ent = 0;
    for (int k = 0; k < a_dim; ++k) ent += T(0.5 + kHalfLog2Pi) + log_std[k];
    for (int64_t i = 0; i < n; ++i) {
      const T* mu = dist_.data() + i * a_dim;
      const T* act = mb.actions + i * a_dim;
      T* z = probs_.data() + i * a_dim;
      T lp = 0;
      for (int k = 0; k < a_dim; ++k) {
        z[k] = (act[k] - mu[k]) * std::exp(-log_std[k]);
        lp += T(-0.5) * z[k] * z[k] - log_std[k] - T(kHalfLog2Pi);
      }
      logp_[i] = lp;
      entropy_[i] = ent;
    }
  }

  // Advantages, normalized per minibatch with the unbiased std (n = 1: NaN,
  // as torch's std of one element, so the minibatch is skipped).
  if (o.normalize_advantages) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += mb.advantages[i];
    const T mean = static_cast<T>(sum / n);
    double sq = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(mb.advantages[i]) - static_cast<double>(mean);
      sq += d * d;
    }
    const T std_dev = static_cast<T>(std::sqrt(sq / static_cast<double>(n - 1)));
    const T denom = std_dev + T(1e-8);
    for (int64_t i = 0; i < n; ++i) adv_[i] = (mb.advantages[i] - mean) / denom;
  } else {
    std::copy(mb.advantages, mb.advantages + n, adv_.begin());
  }

  // The loss terms.
  const T lo = static_cast<T>(1.0 - o.clip_coef), hi = static_cast<T>(1.0 + o.clip_coef);
  const T clip = static_cast<T>(o.clip_coef);
  const T vclip = static_cast<T>(o.value_clip_coef);
  double pg_sum = 0, v_sum = 0, ent_sum = 0, kl_sum = 0, clipped = 0;
  double max_dev = 0;
  for (int64_t i = 0; i < n; ++i) {
    const T r = logp_[i] - mb.behaviour_logp[i];
    const T ratio = std::exp(r);
    log_ratio_[i] = r;
    ratio_[i] = ratio;
    const T pg1 = -adv_[i] * ratio;
    const T pg2 = -adv_[i] * std::clamp(ratio, lo, hi);
    pg_sum += NanMax(pg1, pg2);
    const T diff = value_[i] - mb.returns[i];
    T v_sq = diff * diff;
    if (o.clip_value_loss) {
      const T vc = mb.old_values[i] + std::clamp(value_[i] - mb.old_values[i], -vclip, vclip);
      const T c = (vc - mb.returns[i]) * (vc - mb.returns[i]);
      v_sq = NanMax(v_sq, c);
    }
    v_sum += v_sq;
    ent_sum += entropy_[i];
    kl_sum += (ratio - T(1)) - r;
    const T dev = std::abs(ratio - T(1));
    if (dev > clip) clipped += 1;
    if (std::isnan(dev) || dev > max_dev) max_dev = dev;
  }
  const double inv = 1.0 / static_cast<double>(n);
  const T policy_loss = static_cast<T>(pg_sum * inv);
  const T value_loss = T(0.5) * static_cast<T>(v_sum * inv);
  const T entropy = static_cast<T>(ent_sum * inv);
  const T kl = static_cast<T>(kl_sum * inv);
  T total = policy_loss - static_cast<T>(o.ent_coef) * entropy +
            static_cast<T>(o.vf_coef) * value_loss;
  if (o.kl_beta > 0) total = total + static_cast<T>(o.kl_beta) * kl;
  LossTerms terms;
  terms.total = total;
  terms.policy_loss = policy_loss;
  terms.value_loss = value_loss;
  terms.entropy = entropy;
  terms.approx_kl = kl;
  terms.clip_fraction = static_cast<T>(clipped * inv);
  terms.ratio_max_deviation = max_dev;
  if (!std::isfinite(total)) return terms;

  // Backward: d total / d logp, d value, then the heads and the trunks.
  const T inv_n = static_cast<T>(inv);
  const T beta = o.kl_beta > 0 ? static_cast<T>(o.kl_beta) : T(0);
  const T g_ent = -static_cast<T>(o.ent_coef) * inv_n;
  const T g_v = static_cast<T>(o.vf_coef) * T(0.5) * inv_n;
  for (int64_t i = 0; i < n; ++i) {
    const T ratio = ratio_[i];
    const T pg1 = -adv_[i] * ratio;
    const T clamped = std::clamp(ratio, lo, hi);
    const T pg2 = -adv_[i] * clamped;
    const T in_range = ratio >= lo && ratio <= hi ? T(1) : T(0);
    T d_ratio = inv_n * (-adv_[i]) * (MaxWeight(pg1, pg2) + MaxWeight(pg2, pg1) * in_range);
    T d_log_ratio = 0;
    if (beta > 0) {
      d_ratio += beta * inv_n;
      d_log_ratio = -beta * inv_n;
    }
    logp_[i] = d_ratio * ratio + d_log_ratio;  // now d total / d logp

    const T diff = value_[i] - mb.returns[i];
    if (o.clip_value_loss) {
      const T dv = value_[i] - mb.old_values[i];
      const T vc = mb.old_values[i] + std::clamp(dv, -vclip, vclip);
      const T cdiff = vc - mb.returns[i];
      const T u = diff * diff, c = cdiff * cdiff;
      const T pass = dv >= -vclip && dv <= vclip ? T(1) : T(0);
      d_value_[i] = g_v * (MaxWeight(u, c) * T(2) * diff + MaxWeight(c, u) * T(2) * cdiff * pass);
    } else {
      d_value_[i] = g_v * T(2) * diff;
    }
  }
  if (layout_.discrete) {
    for (int64_t i = 0; i < n; ++i) {
      const T* p = probs_.data() + i * a_dim;
      const T* lp = log_probs_.data() + i * a_dim;
      T* d = d_dist_.data() + i * a_dim;
      const int64_t act = static_cast<int64_t>(mb.actions[i]);
      for (int k = 0; k < a_dim; ++k) {
        d[k] = logp_[i] * ((k == act ? T(1) : T(0)) - p[k]) - g_ent * p[k] * (lp[k] + entropy_[i]);
      }
    }
  } else {
    T* g_log_std = grads + layout_.log_std;
    for (int k = 0; k < a_dim; ++k) g_log_std[k] = g_ent * static_cast<T>(n);
    for (int64_t i = 0; i < n; ++i) {
      const T* z = probs_.data() + i * a_dim;
      T* d = d_dist_.data() + i * a_dim;
      for (int k = 0; k < a_dim; ++k) {
        d[k] = logp_[i] * z[k] * std::exp(-log_std[k]);
        g_log_std[k] += logp_[i] * (z[k] * z[k] - T(1));
      }
    }
  }

  const int rows_i = static_cast<int>(n);
  const int h = layout_.last_hidden();
  const LinearRef& ph = layout_.policy_head;
  const LinearRef& vh = layout_.value_head;
  const T* policy_top = policy_acts_.back().data();
  const T* value_top = layout_.shared_trunk ? policy_top : value_acts_.back().data();
  // Policy head.
  Gemm(true, false, a_dim, h, rows_i, T(1), d_dist_.data(), a_dim, policy_top, h, T(0),
       grads + ph.weight, h);
  ColumnSums(d_dist_.data(), n, a_dim, grads + ph.bias);
  Gemm(false, false, rows_i, h, a_dim, T(1), d_dist_.data(), a_dim, params + ph.weight, h, T(0),
       d_policy_top_.data(), h);
  // Value head.
  Gemm(true, false, 1, h, rows_i, T(1), d_value_.data(), 1, value_top, h, T(0), grads + vh.weight,
       h);
  ColumnSums(d_value_.data(), n, 1, grads + vh.bias);
  T* value_grad_top = layout_.shared_trunk ? d_policy_top_.data() : d_value_top_.data();
  Gemm(false, false, rows_i, h, 1, T(1), d_value_.data(), 1, params + vh.weight, h,
       layout_.shared_trunk ? T(1) : T(0), value_grad_top, h);
  // Trunks.
  TrunkBackward(params, layout_.policy_trunk, mb.obs, n, policy_acts_, d_policy_top_.data(),
                grads);
  if (!layout_.shared_trunk) {
    TrunkBackward(params, layout_.value_trunk, mb.obs, n, value_acts_, d_value_top_.data(), grads);
  }
  return terms;
}

template <typename T>
double PpoKernel<T>::ClipAndAdamStep(const FlatState<T>& s, const AdamOptions& adam) const {
  const int64_t total = layout_.total;
  T* g = s.grads;
  const double sq = SumSquares(g, total);
  // The norm as torch reports it for a T tensor (in float: inf past FLT_MAX).
  const double norm = static_cast<T>(std::sqrt(sq));
  if (!std::isfinite(norm)) return norm;
  if (adam.max_grad_norm > 0) {
    const double coef = adam.max_grad_norm / (norm + 1e-6);
    if (coef < 1) {
      const T c = static_cast<T>(coef);
      for (int64_t i = 0; i < total; ++i) g[i] *= c;
    }
  }
  const int64_t step = ++*s.adam_steps;
  const double bc1 = 1 - std::pow(adam.beta1, static_cast<double>(step));
  const double bc2 = 1 - std::pow(adam.beta2, static_cast<double>(step));
  AdamCoefficients<T> c;
  c.b1 = static_cast<T>(adam.beta1);
  c.one_b1 = static_cast<T>(1 - adam.beta1);
  c.b2 = static_cast<T>(adam.beta2);
  c.one_b2 = static_cast<T>(1 - adam.beta2);
  c.sqrt_bc2 = static_cast<T>(std::sqrt(bc2));
  c.eps = static_cast<T>(adam.eps);
  c.step_size = static_cast<T>(-adam.lr / bc1);
  Adam(s.params, g, s.exp_avg, s.exp_avg_sq, total, c);
  return norm;
}

template <typename T>
absl::StatusOr<StepResult> PpoKernel<T>::TrainMinibatch(const FlatState<T>& s,
                                                        const MinibatchView<T>& mb,
                                                        const LossOptions& options,
                                                        const AdamOptions& adam) {
  StepResult r;
  absl::StatusOr<LossTerms> terms = LossAndGradient(s.params, mb, options, s.grads);
  if (!terms.ok()) return terms.status();
  r.terms = *terms;
  if (!std::isfinite(r.terms.total)) {
    std::fill(s.grads, s.grads + layout_.total, T(0));
    return r;
  }
  const double norm = ClipAndAdamStep(s, adam);
  if (!std::isfinite(norm)) {
    std::fill(s.grads, s.grads + layout_.total, T(0));
    return r;
  }
  r.applied = true;
  r.grad_norm = norm;
  return r;
}

template class PpoKernel<float>;
template class PpoKernel<double>;

}  // namespace proxima::fused

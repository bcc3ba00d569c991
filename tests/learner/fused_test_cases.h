// Shared by the fused-kernel tests (fused_ppo_test.cc: float64 against
// LibTorch autograd; fused_ppo_float_test.cc: float32 against PpoUpdater):
// the head x activation x trunk x loss-option cases, random networks and
// minibatches near the current policy, and flattening helpers.
#ifndef PROXIMA_TESTS_LEARNER_FUSED_TEST_CASES_H_
#define PROXIMA_TESTS_LEARNER_FUSED_TEST_CASES_H_

#include <torch/torch.h>
#include <torch/optim/adam.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/policy/actor_critic.h"
#include "learner/fused/ppo_kernel.h"
#include "learner/ppo_loss.h"

namespace proxima::fused::fused_test {

constexpr int kObsDim = 5;

struct Case {
  bool discrete;
  bool shared;
  std::string activation;
  std::vector<int> hidden;
  int n;
  bool norm_adv;
  bool clip_vloss;
  double kl_beta;
};

inline std::string Describe(const Case& c) {
  std::string s = std::string(c.discrete ? "categorical" : "gaussian") +
                  (c.shared ? " shared " : " separate ") + c.activation + " hidden";
  for (int h : c.hidden) s += " " + std::to_string(h);
  s += " n " + std::to_string(c.n) + (c.norm_adv ? " norm_adv" : "") +
       (c.clip_vloss ? " clip_vloss" : "") + " kl_beta " + std::to_string(c.kl_beta);
  return s;
}

inline Space Head(bool discrete) {
  return discrete ? Space::Discrete(3) : Space::Box({-1, -1}, {1, 1});
}

inline ModelSpec SpecOf(const Case& c) {
  ModelSpec s;
  s.hidden_sizes = c.hidden;
  s.activation = c.activation;
  s.shared_trunk = c.shared;
  s.init_log_std = -0.3;
  return s;
}

inline PpoLossOptions TorchLoss(const Case& c) {
  PpoLossOptions o;
  o.normalize_advantages = c.norm_adv;
  o.clip_value_loss = c.clip_vloss;
  o.kl_beta = c.kl_beta;
  return o;
}

// Random parameters (not the orthogonal init: biases, heads and log-std all
// non-trivial, some ReLU units dead).
inline void Randomize(ActorCritic& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters()) {
    p.value().normal_(0, p.key() == "log_std" ? 0.3 : 0.5);
  }
}

template <typename T>
inline std::vector<T> ToVector(const at::Tensor& t) {
  at::Tensor c = t.detach().contiguous();
  const T* p = c.data_ptr<T>();
  return std::vector<T>(p, p + c.numel());
}

template <typename T>
inline std::vector<T> FlatParams(ActorCritic& model) {
  std::vector<T> out;
  for (const at::Tensor& p : model->parameters()) {
    std::vector<T> v = ToVector<T>(p);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

template <typename T>
inline std::vector<T> FlatGrads(ActorCritic& model) {
  std::vector<T> out;
  for (const at::Tensor& p : model->parameters()) {
    std::vector<T> v = ToVector<T>(p.grad().defined() ? p.grad() : at::zeros_like(p));
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

// A minibatch near the current policy: behaviour log-probs and old values are
// the current ones plus noise, so ratios fall on both sides of the clip range
// and value clipping is active for some rows.
struct TorchBatch {
  at::Tensor obs, actions, behaviour_logp, advantages, returns, old_values;
};

inline TorchBatch MakeBatch(ActorCritic& model, int n, at::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  const auto opt = at::TensorOptions().dtype(dtype);
  TorchBatch b;
  b.obs = at::randn({n, kObsDim}, opt);
  PolicyHeads heads = model->forward(b.obs);
  if (model->discrete()) {
    b.actions = at::randint(0, model->action_dim(), {n}, opt);
  } else {
    b.actions = heads.dist_params + at::randn({n, model->action_dim()}, opt) * 0.7;
  }
  at::Tensor logp = model->LogProbEntropy(heads.dist_params, b.actions).first;
  b.behaviour_logp = logp + 0.3 * at::randn({n}, opt);
  b.advantages = 2.0 * at::randn({n}, opt) + 0.5;
  b.returns = heads.value + at::randn({n}, opt);
  b.old_values = heads.value + 0.3 * at::randn({n}, opt);
  return b;
}

template <typename T>
struct HostBatch {
  std::vector<T> obs, actions, behaviour_logp, advantages, returns, old_values;
  explicit HostBatch(const TorchBatch& b)
      : obs(ToVector<T>(b.obs)),
        actions(ToVector<T>(b.actions)),
        behaviour_logp(ToVector<T>(b.behaviour_logp)),
        advantages(ToVector<T>(b.advantages)),
        returns(ToVector<T>(b.returns)),
        old_values(ToVector<T>(b.old_values)) {}
  MinibatchView<T> View() const {
    MinibatchView<T> v;
    v.n = static_cast<int64_t>(behaviour_logp.size());
    v.obs = obs.data();
    v.actions = actions.data();
    v.behaviour_logp = behaviour_logp.data();
    v.advantages = advantages.data();
    v.returns = returns.data();
    v.old_values = old_values.data();
    return v;
  }
};

inline PpoLossTerms TorchLossOf(ActorCritic& model, const TorchBatch& b, const PpoLossOptions& o) {
  PolicyHeads heads = model->forward(b.obs);
  auto [logp, entropy] = model->LogProbEntropy(heads.dist_params, b.actions);
  return ComputePpoLoss(logp, b.behaviour_logp, entropy, b.advantages, heads.value, b.old_values,
                        b.returns, o);
}

inline double MaxAbsDiff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

inline std::vector<double> AdamMoments(torch::optim::Adam& opt, ActorCritic& model, bool second) {
  std::vector<double> out;
  for (const at::Tensor& p : model->parameters()) {
    auto& s = static_cast<torch::optim::AdamParamState&>(
        *opt.state().at(c10::guts::to_string(p.unsafeGetTensorImpl())));
    std::vector<double> v = ToVector<double>(second ? s.exp_avg_sq() : s.exp_avg());
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

inline std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (bool discrete : {true, false}) {
    for (bool shared : {false, true}) {
      for (const char* act : {"tanh", "relu"}) {
        // Every loss option on odd sizes.
        for (bool norm_adv : {false, true}) {
          for (bool clip_vloss : {false, true}) {
            for (double kl : {0.0, 0.7}) {
              cases.push_back({discrete, shared, act, {33, 7}, 127, norm_adv, clip_vloss, kl});
            }
          }
        }
        cases.push_back({discrete, shared, act, {7}, 1, false, true, 0.5});   // one row
        cases.push_back({discrete, shared, act, {33}, 1, true, true, 0.0});   // one row: NaN std
        cases.push_back({discrete, shared, act, {64, 64}, 127, true, true, 0.0});
      }
    }
  }
  return cases;
}

}  // namespace proxima::fused::fused_test

#endif  // PROXIMA_TESTS_LEARNER_FUSED_TEST_CASES_H_

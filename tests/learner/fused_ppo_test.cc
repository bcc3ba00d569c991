// The fused PPO kernel (learner/fused/ppo_kernel.h) against LibTorch.
//
// float64: the kernel's loss terms, every parameter's gradient and the
// parameters + Adam moments after two Adam steps (clipping active, inactive
// and off) match LibTorch's float64 autograd + torch::optim::Adam elementwise
// to 1e-10, for every head × activation × trunk, odd sizes (hidden 7 and 33,
// minibatch 1 and 127) and every loss option (advantage normalization, value
// clipping, KL penalty).
// float32: the kernel against PpoUpdater::TrainMinibatch itself, norm-wise:
// gradients ‖Δ‖/‖ref‖ ≤ 1e-5, weights and Adam moments ≤ 1e-4 after several
// steps; non-finite minibatches are skipped exactly when the updater skips.
#include "learner/fused/ppo_kernel.h"

#include <torch/torch.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/policy/actor_critic.h"
#include "learner/ppo_loss.h"
#include "learner/ppo_updater.h"
#include "gtest/gtest.h"

namespace proxima::fused {
namespace {

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

std::string Describe(const Case& c) {
  std::string s = std::string(c.discrete ? "categorical" : "gaussian") +
                  (c.shared ? " shared " : " separate ") + c.activation + " hidden";
  for (int h : c.hidden) s += " " + std::to_string(h);
  s += " n " + std::to_string(c.n) + (c.norm_adv ? " norm_adv" : "") +
       (c.clip_vloss ? " clip_vloss" : "") + " kl_beta " + std::to_string(c.kl_beta);
  return s;
}

Space Head(bool discrete) {
  return discrete ? Space::Discrete(3) : Space::Box({-1, -1}, {1, 1});
}

ModelSpec SpecOf(const Case& c) {
  ModelSpec s;
  s.hidden_sizes = c.hidden;
  s.activation = c.activation;
  s.shared_trunk = c.shared;
  s.init_log_std = -0.3;
  return s;
}

PpoLossOptions TorchLoss(const Case& c) {
  PpoLossOptions o;
  o.normalize_advantages = c.norm_adv;
  o.clip_value_loss = c.clip_vloss;
  o.kl_beta = c.kl_beta;
  return o;
}

// The same coefficients for the kernel.
LossOptions FusedLoss(const PpoLossOptions& t) {
  LossOptions o;
  o.clip_coef = t.clip_coef;
  o.clip_value_loss = t.clip_value_loss;
  o.value_clip_coef = t.value_clip_coef;
  o.normalize_advantages = t.normalize_advantages;
  o.ent_coef = t.ent_coef;
  o.vf_coef = t.vf_coef;
  o.kl_beta = t.kl_beta;
  return o;
}

// Random parameters (not the orthogonal init: biases, heads and log-std all
// non-trivial, some ReLU units dead).
void Randomize(ActorCritic& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters()) {
    p.value().normal_(0, p.key() == "log_std" ? 0.3 : 0.5);
  }
}

template <typename T>
std::vector<T> ToVector(const at::Tensor& t) {
  at::Tensor c = t.detach().contiguous();
  const T* p = c.data_ptr<T>();
  return std::vector<T>(p, p + c.numel());
}

template <typename T>
std::vector<T> FlatParams(ActorCritic& model) {
  std::vector<T> out;
  for (const at::Tensor& p : model->parameters()) {
    std::vector<T> v = ToVector<T>(p);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

template <typename T>
std::vector<T> FlatGrads(ActorCritic& model) {
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

TorchBatch MakeBatch(ActorCritic& model, int n, at::ScalarType dtype) {
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

PpoLossTerms TorchLossOf(ActorCritic& model, const TorchBatch& b, const PpoLossOptions& o) {
  PolicyHeads heads = model->forward(b.obs);
  auto [logp, entropy] = model->LogProbEntropy(heads.dist_params, b.actions);
  return ComputePpoLoss(logp, b.behaviour_logp, entropy, b.advantages, heads.value, b.old_values,
                        b.returns, o);
}

double MaxAbsDiff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

std::vector<double> AdamMoments(torch::optim::Adam& opt, ActorCritic& model, bool second) {
  std::vector<double> out;
  for (const at::Tensor& p : model->parameters()) {
    auto& s = static_cast<torch::optim::AdamParamState&>(
        *opt.state().at(c10::guts::to_string(p.unsafeGetTensorImpl())));
    std::vector<double> v = ToVector<double>(second ? s.exp_avg_sq() : s.exp_avg());
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

constexpr double kTol = 1e-10;

// Loss terms and gradients, then two clipped Adam steps, against float64
// LibTorch.
void CheckDouble(const Case& c, double max_grad_norm) {
  SCOPED_TRACE(Describe(c) + " max_grad_norm " + std::to_string(max_grad_norm));
  const ModelSpec spec = SpecOf(c);
  ActorCritic model(kObsDim, Head(c.discrete), spec);
  model->to(at::kDouble);
  Randomize(model);
  auto layout = MakeMlpLayout(kObsDim, Head(c.discrete), spec);
  ASSERT_TRUE(layout.ok()) << layout.status();
  auto kernel = PpoKernel<double>::Create(*layout, 127);
  ASSERT_TRUE(kernel.ok()) << kernel.status();

  const TorchBatch tb = MakeBatch(model, c.n, at::kDouble);
  const HostBatch<double> hb(tb);
  const PpoLossOptions to = TorchLoss(c);
  const LossOptions fo = FusedLoss(to);

  std::vector<double> params = FlatParams<double>(model);
  std::vector<double> grads(layout->total, 0.0);
  auto terms = kernel->LossAndGradient(params.data(), hb.View(), fo, grads.data());
  ASSERT_TRUE(terms.ok()) << terms.status();
  PpoLossTerms ref = TorchLossOf(model, tb, to);
  const double ref_total = ref.total.item<double>();
  ASSERT_EQ(std::isfinite(terms->total), std::isfinite(ref_total))
      << "fused " << terms->total << " torch " << ref_total;
  if (!std::isfinite(ref_total)) {
    // The minibatch PpoUpdater skips: the kernel leaves the gradient alone.
    for (double g : grads) ASSERT_EQ(g, 0.0);
    return;
  }
  EXPECT_NEAR(terms->total, ref_total, kTol);
  EXPECT_NEAR(terms->policy_loss, ref.policy_loss.item<double>(), kTol);
  EXPECT_NEAR(terms->value_loss, ref.value_loss.item<double>(), kTol);
  EXPECT_NEAR(terms->entropy, ref.entropy.item<double>(), kTol);
  EXPECT_NEAR(terms->approx_kl, ref.approx_kl.item<double>(), kTol);
  EXPECT_NEAR(terms->clip_fraction, ref.clip_fraction.item<double>(), kTol);
  {
    torch::NoGradGuard no_grad;
    PolicyHeads h = model->forward(tb.obs);
    const double dev = (model->LogProbEntropy(h.dist_params, tb.actions).first -
                        tb.behaviour_logp).exp().sub(1.0).abs().max().item<double>();
    EXPECT_NEAR(terms->ratio_max_deviation, dev, kTol);
  }
  model->zero_grad();
  ref.total.backward();
  const std::vector<double> ref_grads = FlatGrads<double>(model);
  for (const ParamBlock& b : layout->params) {
    double worst = 0;
    for (int64_t i = b.offset; i < b.offset + b.size; ++i) {
      worst = std::max(worst, std::abs(grads[i] - ref_grads[i]));
    }
    EXPECT_LE(worst, kTol) << "gradient of " << b.name;
  }

  // Two optimizer steps: torch::optim::Adam after clip_grad_norm_ vs the
  // kernel's TrainMinibatch on the flat buffers.
  AdamOptions ao;
  ao.lr = 3e-3;
  ao.eps = 1e-5;
  ao.max_grad_norm = max_grad_norm;
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(ao.lr).eps(ao.eps));
  std::vector<double> m(layout->total, 0.0), v(layout->total, 0.0);
  int64_t steps = 0;
  FlatState<double> state{params.data(), grads.data(), m.data(), v.data(), &steps};
  for (int step = 0; step < 2; ++step) {
    opt.zero_grad();
    PpoLossTerms t = TorchLossOf(model, tb, to);
    t.total.backward();
    double ref_norm = 0;
    {
      torch::NoGradGuard no_grad;
      for (const at::Tensor& p : model->parameters()) ref_norm += p.grad().pow(2).sum().item<double>();
      ref_norm = std::sqrt(ref_norm);
    }
    if (max_grad_norm > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), max_grad_norm);
    opt.step();
    auto r = kernel->TrainMinibatch(state, hb.View(), fo, ao);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->applied);
    EXPECT_NEAR(r->grad_norm, ref_norm, kTol);
    if (max_grad_norm > 0) {
      // The cases are what they claim: clipping active (0.05) or not (1e6).
      EXPECT_EQ(r->grad_norm > max_grad_norm, max_grad_norm < 1) << r->grad_norm;
    }
    EXPECT_EQ(steps, step + 1);
    EXPECT_LE(MaxAbsDiff(grads, FlatGrads<double>(model)), kTol) << "clipped gradient, step " << step;
    EXPECT_LE(MaxAbsDiff(params, FlatParams<double>(model)), kTol) << "parameters, step " << step;
    EXPECT_LE(MaxAbsDiff(m, AdamMoments(opt, model, false)), kTol) << "exp_avg, step " << step;
    EXPECT_LE(MaxAbsDiff(v, AdamMoments(opt, model, true)), kTol) << "exp_avg_sq, step " << step;
  }
}

std::vector<Case> AllCases() {
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

TEST(FusedPpoDoubleTest, LossGradientsAndAdamMatchLibTorchFloat64) {
  torch::manual_seed(7);
  int checked = 0;
  for (const Case& c : AllCases()) {
    CheckDouble(c, /*max_grad_norm=*/0.05);  // clipping active
    CheckDouble(c, /*max_grad_norm=*/1e6);   // clipping inactive
    ++checked;
    if (::testing::Test::HasFatalFailure()) return;
  }
  CheckDouble(AllCases()[0], /*max_grad_norm=*/0);  // clipping off
  EXPECT_EQ(checked, 8 * 11);
}

TEST(FusedPpoDoubleTest, ForwardMatchesActorCritic) {
  torch::manual_seed(3);
  for (bool discrete : {true, false}) {
    for (bool shared : {false, true}) {
      const Case c{discrete, shared, "relu", {33, 7}, 127, true, true, 0};
      ActorCritic model(kObsDim, Head(discrete), SpecOf(c));
      model->to(at::kDouble);
      Randomize(model);
      auto layout = MakeMlpLayout(kObsDim, Head(discrete), SpecOf(c));
      auto kernel = PpoKernel<double>::Create(*layout, 64);
      ASSERT_TRUE(kernel.ok());
      const std::vector<double> params = FlatParams<double>(model);
      at::Tensor obs = at::randn({50, kObsDim}, at::kDouble);
      std::vector<double> x = ToVector<double>(obs);
      std::vector<double> dist(50 * model->action_dim()), values(50);
      ASSERT_TRUE(kernel->Forward(params.data(), x.data(), 50, dist.data(), values.data()).ok());
      torch::NoGradGuard no_grad;
      PolicyHeads h = model->forward(obs);
      EXPECT_LE(MaxAbsDiff(dist, ToVector<double>(h.dist_params)), kTol);
      EXPECT_LE(MaxAbsDiff(values, ToVector<double>(h.value)), kTol);
      EXPECT_FALSE(kernel->Forward(params.data(), x.data(), 65, dist.data(), values.data()).ok());
    }
  }
}

TEST(FusedPpoDoubleTest, BadInputIsAClearError) {
  const Case c{true, false, "tanh", {4}, 4, true, true, 0};
  auto layout = MakeMlpLayout(kObsDim, Head(true), SpecOf(c));
  EXPECT_FALSE(PpoKernel<double>::Create(*layout, 0).ok());
  auto kernel = PpoKernel<double>::Create(*layout, 4);
  ASSERT_TRUE(kernel.ok());
  std::vector<double> params(layout->total, 0.1), grads(layout->total);
  std::vector<double> obs(8 * kObsDim, 0.0), actions = {0, 1, 3, 2}, zeros(8, 0.0);
  MinibatchView<double> mb{4, obs.data(), actions.data(), zeros.data(), zeros.data(), zeros.data(),
                           zeros.data()};
  auto bad_action = kernel->LossAndGradient(params.data(), mb, LossOptions(), grads.data());
  EXPECT_NE(bad_action.status().message().find("action 3 of row 2"), std::string::npos)
      << bad_action.status();
  mb.n = 5;
  auto too_many = kernel->LossAndGradient(params.data(), mb, LossOptions(), grads.data());
  EXPECT_NE(too_many.status().message().find("5 rows"), std::string::npos) << too_many.status();
}

// ---- float32 against PpoUpdater::TrainMinibatch ----

double RelDiff(const std::vector<float>& a, const std::vector<float>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (double(a[i]) - ref[i]) * (double(a[i]) - ref[i]);
    den += double(ref[i]) * ref[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

struct FloatSetup {
  std::unique_ptr<PpoUpdater> updater;
  MlpLayout layout;
  LossOptions loss;
  AdamOptions adam;
};

FloatSetup MakeFloatSetup(const Case& c, int obs_dim, const Space& head, double max_grad_norm) {
  FloatSetup s;
  PpoConfig config;
  config.model = SpecOf(c);
  config.device = "cpu";
  config.engine = "torch";  // the reference
  config.normalize_advantages = c.norm_adv;
  config.clip_value_loss = c.clip_vloss;
  config.adaptive_kl = c.kl_beta > 0;
  config.kl_beta = c.kl_beta > 0 ? c.kl_beta : 1.0;
  config.max_grad_norm = max_grad_norm;
  config.learning_rate = 1e-3;
  EnvSpec env;
  env.id = "fused-test";
  env.observation_space = Space::Box(std::vector<float>(obs_dim, -10), std::vector<float>(obs_dim, 10));
  env.action_space = head;
  auto u = PpoUpdater::Create(config, env, torch::Device(torch::kCPU));
  EXPECT_TRUE(u.ok()) << u.status();
  s.updater = std::move(*u);
  s.layout = *MakeMlpLayout(obs_dim, head, config.model);
  s.loss = FusedLoss(PpoLossOptionsFor(config, s.updater->kl_beta()));
  s.adam.lr = config.learning_rate;
  s.adam.eps = config.adam_eps;
  s.adam.max_grad_norm = config.max_grad_norm;
  return s;
}

Minibatch ToMinibatch(const TorchBatch& b) {
  return Minibatch{b.obs, b.actions, b.behaviour_logp, b.advantages, b.returns, b.old_values};
}

TEST(FusedPpoFloatTest, StepsMatchPpoUpdaterNormWise) {
  torch::manual_seed(11);
  for (bool discrete : {true, false}) {
    for (bool shared : {false, true}) {
      for (const char* act : {"tanh", "relu"}) {
        for (double max_grad_norm : {0.1, 100.0}) {
          const Case c{discrete, shared, act, {64, 64}, 128, true, true, discrete ? 0.0 : 0.5};
          SCOPED_TRACE(Describe(c) + " max_grad_norm " + std::to_string(max_grad_norm));
          FloatSetup s = MakeFloatSetup(c, kObsDim, Head(discrete), max_grad_norm);
          ActorCritic& model = s.updater->model();
          Randomize(model);
          auto kernel = PpoKernel<float>::Create(s.layout, 128);
          ASSERT_TRUE(kernel.ok());
          std::vector<float> params = FlatParams<float>(model);
          std::vector<float> grads(s.layout.total), m(s.layout.total), v(s.layout.total);
          int64_t steps = 0;
          FlatState<float> state{params.data(), grads.data(), m.data(), v.data(), &steps};
          for (int step = 0; step < 4; ++step) {
            const TorchBatch tb = MakeBatch(model, 128, at::kFloat);
            const HostBatch<float> hb(tb);
            MinibatchResult ref = s.updater->TrainMinibatch(ToMinibatch(tb), /*measure_ratio=*/true);
            auto r = kernel->TrainMinibatch(state, hb.View(), s.loss, s.adam);
            ASSERT_TRUE(r.ok()) << r.status();
            ASSERT_TRUE(ref.applied);
            ASSERT_TRUE(r->applied);
            auto near = [](double a, double b) { return std::abs(a - b) <= 1e-5 * std::max(1.0, std::abs(b)); };
            EXPECT_PRED2(near, r->terms.policy_loss, ref.policy_loss);
            EXPECT_PRED2(near, r->terms.value_loss, ref.value_loss);
            EXPECT_PRED2(near, r->terms.entropy, ref.entropy);
            EXPECT_PRED2(near, r->terms.approx_kl, ref.approx_kl);
            EXPECT_PRED2(near, r->terms.clip_fraction, ref.clip_fraction);
            EXPECT_PRED2(near, r->terms.ratio_max_deviation, ref.ratio_max_deviation);
            EXPECT_PRED2(near, r->grad_norm, ref.grad_norm);
            EXPECT_LE(RelDiff(grads, FlatGrads<float>(model)), 1e-5) << "clipped gradient, step " << step;
            EXPECT_LE(RelDiff(params, FlatParams<float>(model)), 1e-4) << "weights, step " << step;
            EXPECT_LE(RelDiff(m, ToVector<float>(s.updater->adam_exp_avg())), 1e-4) << "exp_avg";
            EXPECT_LE(RelDiff(v, ToVector<float>(s.updater->adam_exp_avg_sq())), 1e-4) << "exp_avg_sq";
            EXPECT_EQ(steps, s.updater->adam_steps());
          }
        }
      }
    }
  }
}

TEST(FusedPpoFloatTest, NonFiniteMinibatchesAreSkippedWhereTheUpdaterSkipsThem) {
  torch::manual_seed(5);
  const Case c{true, false, "tanh", {64, 64}, 16, true, true, 0.0};
  FloatSetup s = MakeFloatSetup(c, kObsDim, Head(true), 0.5);
  ActorCritic& model = s.updater->model();
  auto kernel = PpoKernel<float>::Create(s.layout, 16);
  ASSERT_TRUE(kernel.ok());
  std::vector<float> params = FlatParams<float>(model);
  std::vector<float> grads(s.layout.total, 1.0f), m(s.layout.total), v(s.layout.total);
  int64_t steps = 0;
  FlatState<float> state{params.data(), grads.data(), m.data(), v.data(), &steps};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  struct Poison {
    const char* what;
    int rows;
    void (*apply)(TorchBatch&, float, float);
  };
  const std::vector<Poison> poisons = {
      {"NaN advantage", 16, [](TorchBatch& b, float nan, float) { b.advantages[3] = nan; }},
      {"infinite return", 16, [](TorchBatch& b, float, float inf) { b.returns[5] = inf; }},
      {"NaN observation", 16, [](TorchBatch& b, float nan, float) { b.obs[2][1] = nan; }},
      {"infinite behaviour log-prob", 16,
       [](TorchBatch& b, float, float inf) { b.behaviour_logp[0] = -inf; }},
      {"one row, normalized advantages (std of one element)", 1, [](TorchBatch&, float, float) {}},
  };
  for (const Poison& p : poisons) {
    SCOPED_TRACE(p.what);
    TorchBatch tb = MakeBatch(model, p.rows, at::kFloat);
    p.apply(tb, nan, inf);
    const std::vector<float> before = params;
    MinibatchResult ref = s.updater->TrainMinibatch(ToMinibatch(tb));
    auto r = kernel->TrainMinibatch(state, HostBatch<float>(tb).View(), s.loss, s.adam);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(ref.applied);
    EXPECT_FALSE(r->applied);
    EXPECT_EQ(params, before);
    EXPECT_EQ(steps, 0);
    for (float g : grads) ASSERT_EQ(g, 0.0f);
    for (float x : m) ASSERT_EQ(x, 0.0f);
  }
  EXPECT_EQ(s.updater->adam_steps(), 0);
}

}  // namespace
}  // namespace proxima::fused

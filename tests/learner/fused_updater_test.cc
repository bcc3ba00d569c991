// PpoUpdater on its two engines (ppo_updater.h, --engine): a whole Update()
// — several epochs of minibatches, LR annealing, adaptive KL β, target-KL
// early stop, non-finite skips, parts of different sizes — on the same batch
// leaves parameters and Adam moments within ‖Δ‖/‖ref‖ ≤ 1e-4 of each other
// and reports the same metrics, for every head × activation × trunk; the
// state either engine leaves loads into the other (checkpoints do not depend
// on the engine); --engine's choices and errors; and the golden PPO-loss
// cases ($PROXIMA_GOLDEN_DIR/ppo, tests/reference/ppo) through the fused
// kernel's own forward and loss.
#include <ATen/ATen.h>
#include <torch/serialize.h>
#include <torch/utils.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "common/envs/env.h"
#include "gtest/gtest.h"
#include "learner/fused/ppo_kernel.h"
#include "learner/ppo_config.h"
#include "learner/ppo_updater.h"
#include "tests/learner/reference_cases.h"
#include "tests/learner/same_updater_state.h"

namespace proxima {
namespace {

constexpr int kObsDim = 5;

struct Case {
  bool discrete;
  bool shared;
  const char* activation;
  // Options beyond the defaults, one set per case so that each runs once.
  bool adaptive_kl = false;
  bool target_kl = false;
  bool clip_vloss = true;
  bool norm_adv = true;
  double max_grad_norm = 0.5;
  int parts = 1;
};

std::string Describe(const Case& c) {
  return std::string(c.discrete ? "categorical" : "gaussian") + (c.shared ? " shared " : " separate ") +
         c.activation + (c.adaptive_kl ? " adaptive_kl" : "") + (c.target_kl ? " target_kl" : "") +
         (c.clip_vloss ? "" : " no_clip_vloss") + (c.norm_adv ? "" : " no_norm_adv") +
         " max_grad_norm " + std::to_string(c.max_grad_norm) + " parts " + std::to_string(c.parts);
}

EnvSpec SpecFor(bool discrete) {
  EnvSpec env;
  env.id = "fused-updater-test";
  env.observation_space =
      Space::Box(std::vector<float>(kObsDim, -10), std::vector<float>(kObsDim, 10));
  env.action_space = discrete ? Space::Discrete(3) : Space::Box({-1, -1}, {1, 1});
  return env;
}

PpoConfig ConfigFor(const Case& c, const std::string& engine) {
  PpoConfig config;
  config.device = "cpu";
  config.engine = engine;
  config.num_envs = 4;
  config.rollout_length = 64;
  config.num_minibatches = 4;
  config.update_epochs = 4;
  config.learning_rate = 3e-3;  // large enough to clip ratios within the update
  config.model.hidden_sizes = {32, 16};
  config.model.activation = c.activation;
  config.model.shared_trunk = c.shared;
  config.model.init_log_std = -0.5;
  config.adaptive_kl = c.adaptive_kl;
  config.kl_beta = 0.5;
  if (c.target_kl) config.target_kl = 0.002;
  config.clip_value_loss = c.clip_vloss;
  config.normalize_advantages = c.norm_adv;
  config.max_grad_norm = c.max_grad_norm;
  config.normalize_obs = true;
  return config;
}

std::unique_ptr<PpoUpdater> Make(const Case& c, const std::string& engine) {
  auto u = PpoUpdater::Create(ConfigFor(c, engine), SpecFor(c.discrete), torch::Device(torch::kCPU));
  EXPECT_TRUE(u.ok()) << u.status();
  return u.ok() ? std::move(*u) : nullptr;
}

// A batch whose behaviour log-probs are `u`'s own plus noise (ratios near,
// not at, 1), with terminations, one truncation with its final observation,
// and rewards that depend on the action.
RolloutBatch MakeBatch(PpoUpdater& u, bool discrete, int T, int E, uint64_t seed) {
  at::manual_seed(seed);
  const int act_dim = discrete ? 1 : 2;
  RolloutBatch b = RolloutBatch::Allocate(T, E, kObsDim, act_dim, discrete);
  b.obs.normal_().mul_(2).add_(0.5);
  b.bootstrap_obs.normal_();
  if (discrete) {
    b.actions.copy_(at::randint(0, 3, b.actions.sizes()).to(at::kFloat));
  } else {
    b.actions.normal_().mul_(0.6);
  }
  b.rewards.copy_(b.actions.reshape({T, E, -1}).select(2, 0) * b.obs.select(2, 0).sign() +
                  at::randn({T, E}) * 0.1);
  b.terminated.copy_(at::rand({T, E}).lt(0.04).to(at::kByte));
  b.truncated[T / 2][0] = 1;
  b.terminated[T / 2][0] = 0;
  b.final_index.push_back({T / 2, 0});
  b.final_obs = at::randn({1, kObsDim});
  torch::NoGradGuard no_grad;
  const int64_t N = static_cast<int64_t>(T) * E;
  PolicyHeads heads = u.model()->forward(u.NormalizeObs(b.obs.reshape({N, kObsDim})));
  at::Tensor actions = discrete ? b.actions.reshape({N}) : b.actions.reshape({N, act_dim});
  at::Tensor logp = u.model()->LogProbEntropy(heads.dist_params, actions).first;
  b.behaviour_logp.copy_((logp + at::randn({N}) * 0.05).reshape({T, E}));
  return b;
}

at::Tensor FlatParams(PpoUpdater& u) {
  std::vector<at::Tensor> flat;
  for (const at::Tensor& p : u.model()->parameters()) flat.push_back(p.detach().reshape({-1}));
  return at::cat(flat).to(at::kDouble);
}

double RelDiff(const at::Tensor& a, const at::Tensor& ref) {
  const at::Tensor r = ref.to(at::kDouble);
  return (a.to(at::kDouble) - r).norm().item<double>() /
         std::max(r.norm().item<double>(), 1e-30);
}

void ExpectNear(const char* what, double fused, double torch, double tol) {
  if (std::isnan(torch)) {
    EXPECT_TRUE(std::isnan(fused)) << what;
    return;
  }
  EXPECT_LE(std::abs(fused - torch), tol * std::max(1.0, std::abs(torch)))
      << what << ": fused " << fused << ", torch " << torch;
}

void ExpectSameMetrics(const UpdateMetrics& f, const UpdateMetrics& t) {
  EXPECT_EQ(f.samples, t.samples);
  EXPECT_EQ(f.minibatches, t.minibatches);
  EXPECT_EQ(f.skipped_minibatches, t.skipped_minibatches);
  EXPECT_EQ(f.epochs_run, t.epochs_run);
  ExpectNear("learning_rate", f.learning_rate, t.learning_rate, 0);
  ExpectNear("policy_loss", f.policy_loss, t.policy_loss, 1e-4);
  ExpectNear("value_loss", f.value_loss, t.value_loss, 1e-4);
  ExpectNear("entropy", f.entropy, t.entropy, 1e-4);
  ExpectNear("approx_kl", f.approx_kl, t.approx_kl, 1e-4);
  // A mean of indicators: one ratio on the other side of 1 ± ε in float.
  ExpectNear("clip_fraction", f.clip_fraction, t.clip_fraction, 2e-3);
  ExpectNear("grad_norm", f.grad_norm, t.grad_norm, 1e-4);
  ExpectNear("first_minibatch_ratio_max_deviation", f.first_minibatch_ratio_max_deviation,
             t.first_minibatch_ratio_max_deviation, 1e-5);
  ExpectNear("kl_beta", f.kl_beta, t.kl_beta, 0);
  ExpectNear("explained_variance", f.explained_variance, t.explained_variance, 1e-5);
}

void ExpectSameState(PpoUpdater& f, PpoUpdater& t, const std::string& when) {
  EXPECT_LE(RelDiff(FlatParams(f), FlatParams(t)), 1e-4) << "parameters " << when;
  EXPECT_LE(RelDiff(f.adam_exp_avg(), t.adam_exp_avg()), 1e-4) << "exp_avg " << when;
  EXPECT_LE(RelDiff(f.adam_exp_avg_sq(), t.adam_exp_avg_sq()), 1e-4) << "exp_avg_sq " << when;
  EXPECT_EQ(f.adam_steps(), t.adam_steps()) << when;
  EXPECT_EQ(f.skipped_minibatches_total(), t.skipped_minibatches_total()) << when;
}

bool clipped_any_ = false;

// Two updates (the second from the weights, β and normalizer the first left)
// on the same batches, one updater per engine.
void RunCase(const Case& c) {
  SCOPED_TRACE(Describe(c));
  auto f = Make(c, "fused");
  auto t = Make(c, "torch");
  ASSERT_TRUE(f && t);
  ASSERT_EQ(f->engine(), UpdateEngine::kFused);
  ASSERT_EQ(t->engine(), UpdateEngine::kTorch);
  ASSERT_TRUE(at::equal(FlatParams(*f), FlatParams(*t)));  // same seed, same init
  bool clipped = false;
  for (int update = 0; update < 2; ++update) {
    std::vector<RolloutBatch> parts;
    for (int p = 0; p < c.parts; ++p) {
      // Parts of different sizes: the minibatch is then larger than the
      // configured one and the fused kernel's workspace grows.
      parts.push_back(MakeBatch(*t, c.discrete, 64 + 32 * p, 4, 100 * update + p));
    }
    auto mf = f->Update(parts, 0.25 * update);
    auto mt = t->Update(parts, 0.25 * update);
    ASSERT_TRUE(mf.ok()) << mf.status();
    ASSERT_TRUE(mt.ok()) << mt.status();
    ExpectSameMetrics(*mf, *mt);
    EXPECT_EQ(mf->skipped_minibatches, 0);
    ExpectSameState(*f, *t, "after update " + std::to_string(update));
    clipped_any_ = clipped_any_ || clipped;
    if (c.target_kl) {
      EXPECT_LT(mt->epochs_run, 4) << "the case should stop early";
    }
    clipped = clipped || mt->clip_fraction > 0;
  }
}

TEST(FusedUpdaterTest, WholeUpdatesMatchTheTorchEngine) {
  clipped_any_ = false;
  const std::vector<Case> cases = {
      {true, false, "tanh"},
      {true, true, "relu", /*adaptive_kl=*/true},
      {true, false, "relu", false, /*target_kl=*/true},
      {true, true, "tanh", false, false, /*clip_vloss=*/false, /*norm_adv=*/false},
      {false, false, "tanh", true},
      {false, true, "tanh", false, false, true, true, /*max_grad_norm=*/0.0},
      {false, false, "relu", false, false, true, true, 0.5, /*parts=*/2},
      {false, true, "relu", false, true, false, true, 100.0},
  };
  for (const Case& c : cases) RunCase(c);
  EXPECT_TRUE(clipped_any_) << "no case clipped a ratio: the clipped branch went untested";
}

TEST(FusedUpdaterTest, NonFiniteMinibatchesAreSkippedAlike) {
  const Case c{true, false, "tanh"};
  auto f = Make(c, "fused");
  auto t = Make(c, "torch");
  RolloutBatch b = MakeBatch(*t, true, 64, 4, 3);
  b.rewards[10][2] = std::numeric_limits<float>::quiet_NaN();  // NaN advantages in column 2
  auto mf = f->Update(b, 0);
  auto mt = t->Update(b, 0);
  ASSERT_TRUE(mf.ok() && mt.ok());
  EXPECT_GT(mt->skipped_minibatches, 0);
  ExpectSameMetrics(*mf, *mt);
  ExpectSameState(*f, *t, "after a poisoned update");
}

// The fused engine trains the same buffers the checkpoint records: its state
// saved and loaded into a torch-engine updater (and back) is bit for bit the
// same, and training continues alike.
TEST(FusedUpdaterTest, StateMovesBetweenEngines) {
  const Case c{false, false, "tanh"};
  auto f = Make(c, "fused");
  ASSERT_TRUE(f->Update(MakeBatch(*f, false, 64, 4, 1), 0).ok());
  for (const char* to : {"torch", "fused"}) {
    SCOPED_TRACE(to);
    auto other = Make(c, to);
    torch::serialize::OutputArchive model, optimizer;
    f->SaveState(model, optimizer);
    std::stringstream ms, os;
    model.save_to(ms);
    optimizer.save_to(os);
    torch::serialize::InputArchive model_in, optimizer_in;
    model_in.load_from(ms);
    optimizer_in.load_from(os);
    other->LoadState(model_in, optimizer_in);
    EXPECT_TRUE(at::equal(FlatParams(*other), FlatParams(*f)));
    EXPECT_TRUE(testing::SameBits(other->adam_exp_avg(), f->adam_exp_avg()));
    EXPECT_TRUE(testing::SameBits(other->adam_exp_avg_sq(), f->adam_exp_avg_sq()));
    EXPECT_EQ(other->adam_steps(), f->adam_steps());
  }
}

TEST(FusedUpdaterTest, EngineChoices) {
  std::string why;
  const torch::Device cpu(torch::kCPU), cuda(torch::kCUDA);
  EXPECT_EQ(*ResolveEngine("auto", cpu, &why), UpdateEngine::kFused);
  EXPECT_NE(why.find("auto"), std::string::npos) << why;
  EXPECT_EQ(*ResolveEngine("auto", cuda, &why), UpdateEngine::kTorch);
  EXPECT_NE(why.find("CPU-only"), std::string::npos) << why;
  EXPECT_EQ(*ResolveEngine("fused", cpu, &why), UpdateEngine::kFused);
  EXPECT_EQ(*ResolveEngine("torch", cpu, &why), UpdateEngine::kTorch);
  auto on_cuda = ResolveEngine("fused", cuda, &why);
  EXPECT_NE(on_cuda.status().message().find("--engine=fused runs on the CPU only"),
            std::string::npos)
      << on_cuda.status();
  auto bad = ResolveEngine("jax", cpu, &why);
  EXPECT_EQ(bad.status().message(), "--engine must be one of auto, fused, torch (got 'jax')");
  PpoConfig config;
  config.engine = "jax";
  EXPECT_EQ(config.Validate().message(), "--engine must be one of auto, fused, torch (got 'jax')");
}

// ---- the golden PPO-loss cases through the fused kernel ----
//
// The golden cases give the distribution parameters and values per row, not
// a network. A network that outputs exactly them: obs row i is the one-hot
// e_i, one ReLU hidden layer of n units with W = I and b = 0 (so h = e_i),
// heads whose weight column i is row i's logits (or mean) and value. The
// kernel's forward, log-prob, entropy and loss then run on the case's numbers.

struct GoldenNet {
  fused::MlpLayout layout;
  std::vector<double> params, obs;
};

// dist [n, k] row-major, values [n], log_std [k] (Gaussian only).
GoldenNet MakeGoldenNet(int64_t n, int k, bool discrete, const std::vector<double>& dist,
                        const std::vector<double>& values, const std::vector<double>& log_std) {
  GoldenNet g;
  ModelSpec spec;
  spec.hidden_sizes = {static_cast<int>(n)};
  spec.activation = "relu";
  const Space head =
      discrete ? Space::Discrete(k) : Space::Box(std::vector<float>(k, -1), std::vector<float>(k, 1));
  g.layout = *fused::MakeMlpLayout(static_cast<int>(n), head, spec);
  g.params.assign(g.layout.total, 0.0);
  for (const fused::LinearRef& l : {g.layout.policy_trunk[0], g.layout.value_trunk[0]}) {
    for (int64_t i = 0; i < n; ++i) g.params[l.weight + i * n + i] = 1.0;
  }
  for (int64_t i = 0; i < n; ++i) {
    for (int a = 0; a < k; ++a) g.params[g.layout.policy_head.weight + a * n + i] = dist[i * k + a];
    g.params[g.layout.value_head.weight + i] = values[i];
  }
  for (int a = 0; a < static_cast<int>(log_std.size()); ++a) {
    g.params[g.layout.log_std + a] = log_std[a];
  }
  g.obs.assign(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i) g.obs[i * n + i] = 1.0;
  return g;
}

fused::LossTerms GoldenLoss(const GoldenNet& g, const nlohmann::json& in,
                            const fused::LossOptions& o) {
  const std::vector<double> actions = in.at("actions").get<std::vector<double>>();
  const std::vector<double> blp = in.at("behaviour_logp").get<std::vector<double>>();
  const std::vector<double> adv = in.at("advantages").get<std::vector<double>>();
  const std::vector<double> ret = in.at("returns").get<std::vector<double>>();
  const std::vector<double> old_v = in.at("old_values").get<std::vector<double>>();
  const int64_t n = static_cast<int64_t>(adv.size());
  auto kernel = fused::PpoKernel<double>::Create(g.layout, n);
  EXPECT_TRUE(kernel.ok()) << kernel.status();
  std::vector<double> grads(g.layout.total);
  fused::MinibatchView<double> mb{n,          g.obs.data(), actions.data(), blp.data(),
                                  adv.data(), ret.data(),   old_v.data()};
  auto terms = kernel->LossAndGradient(g.params.data(), mb, o, grads.data());
  EXPECT_TRUE(terms.ok()) << terms.status();
  return terms.ok() ? *terms : fused::LossTerms{};
}

constexpr double kGoldenTol = 1e-5;

TEST(FusedUpdaterTest, EveryGoldenPpoLossCaseThroughTheKernel) {
  const int cases = ForEachCase("ppo_loss", [](const nlohmann::json& c, const std::string& where) {
    const auto& in = c.at("inputs");
    const auto& out = c.at("outputs");
    const int k = in.at("num_actions").get<int>();
    const std::vector<double> values = in.at("new_values").get<std::vector<double>>();
    const int64_t n = static_cast<int64_t>(values.size());
    GoldenNet g = MakeGoldenNet(n, k, true, in.at("logits").get<std::vector<double>>(), values, {});
    fused::LossOptions o;
    o.clip_coef = in.at("clip_eps").get<double>();
    o.value_clip_coef = in.at("value_clip_eps").get<double>();
    o.normalize_advantages = in.at("normalize_advantages").get<bool>();
    o.clip_value_loss = true;
    fused::LossTerms t = GoldenLoss(g, in, o);
    EXPECT_NEAR(t.policy_loss, out.at("policy_loss").get<double>(), kGoldenTol) << where;
    EXPECT_NEAR(t.value_loss, out.at("value_loss_clipped").get<double>(), kGoldenTol) << where;
    EXPECT_NEAR(t.entropy, out.at("entropy").get<double>(), kGoldenTol) << where;
    EXPECT_NEAR(t.approx_kl, out.at("approx_kl").get<double>(), kGoldenTol) << where;
    EXPECT_NEAR(t.clip_fraction, out.at("clip_fraction").get<double>(), kGoldenTol) << where;
    o.clip_value_loss = false;
    EXPECT_NEAR(GoldenLoss(g, in, o).value_loss, out.at("value_loss_unclipped").get<double>(),
                kGoldenTol)
        << where;
  });
  EXPECT_GT(cases, 0);
}

TEST(FusedUpdaterTest, EveryGoldenPpoTotalLossCaseThroughTheKernel) {
  const int cases =
      ForEachCase("ppo_total_loss", [](const nlohmann::json& c, const std::string& where) {
        const auto& in = c.at("inputs");
        const auto& out = c.at("outputs");
        const bool gaussian = in.at("distribution").get<std::string>() == "gaussian";
        const std::vector<double> values = in.at("new_values").get<std::vector<double>>();
        const int64_t n = static_cast<int64_t>(values.size());
        GoldenNet g =
            gaussian ? MakeGoldenNet(n, in.at("act_dim").get<int>(), false,
                                     in.at("mean").get<std::vector<double>>(), values,
                                     in.at("log_std").get<std::vector<double>>())
                     : MakeGoldenNet(n, in.at("num_actions").get<int>(), true,
                                     in.at("logits").get<std::vector<double>>(), values, {});
        const PpoConfig config = TotalLossCaseConfig(in);
        fused::LossTerms t =
            GoldenLoss(g, in, PpoLossOptionsFor(config, in.at("kl_beta").get<double>()));
        for (const auto& [name, value] : {std::pair<const char*, double>{"policy_loss", t.policy_loss},
                                          {"value_loss", t.value_loss},
                                          {"entropy", t.entropy},
                                          {"approx_kl", t.approx_kl},
                                          {"clip_fraction", t.clip_fraction},
                                          {"total", t.total}}) {
          EXPECT_NEAR(value, out.at(name).get<double>(), kGoldenTol) << where << " " << name;
        }
      });
  EXPECT_GT(cases, 0);
}

}  // namespace
}  // namespace proxima

// PpoUpdater::ComputeTargets against tests/reference/ppo/updater_targets*.json
// (float64 NumPy, tests/reference/make_reference.py): a tiny actor-critic
// loaded by parameter name, a RolloutBatch with truncations inside the chunk
// and at its last step, terminations and the bootstrap; GAE and V-trace.
// Then V-trace end to end through PpoUpdater::Update on a CartPole rollout.
#include <ATen/ATen.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/policy/actor_critic.h"
#include "common/envs/env.h"
#include "common/envs/registry.h"
#include "common/envs/vector_env.h"
#include "common/wire/rollout_batch.h"
#include "common/policy/policy_inference.h"
#include "common/policy/policy_snapshot.h"
#include "common/policy/rollout_collector.h"
#include "common/rng.h"
#include "gtest/gtest.h"
#include "learner/ppo_config.h"
#include "learner/ppo_updater.h"
#include "tests/learner/reference_cases.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

// float32 arithmetic against float64 references: 1e-5, relative above 1.
void ExpectTensorNear(const at::Tensor& got, const nlohmann::json& want, const std::string& what) {
  at::Tensor g = got.to(at::kCPU).to(at::kDouble).contiguous().reshape({-1});
  ASSERT_EQ(g.numel(), static_cast<int64_t>(want.size())) << what;
  const double* p = g.data_ptr<double>();
  for (int64_t i = 0; i < g.numel(); ++i) {
    const double w = want[i].get<double>();
    EXPECT_NEAR(p[i], w, 1e-5 * std::max(1.0, std::abs(w))) << what << "[" << i << "]";
  }
}

// The references round every input to float32, so this conversion is exact.
at::Tensor F32(const nlohmann::json& j) {
  return at::tensor(j.get<std::vector<float>>(), at::kFloat);
}

EnvSpec SpecFor(const nlohmann::json& model) {
  EnvSpec spec;
  spec.id = "reference";
  const int d = model.at("obs_dim").get<int>();
  const float inf = std::numeric_limits<float>::infinity();
  spec.observation_space = Space::Box(std::vector<float>(d, -inf), std::vector<float>(d, inf));
  const auto& a = model.at("action_space");
  if (a.at("kind").get<std::string>() == "discrete") {
    spec.action_space = Space::Discrete(a.at("n").get<int>());
  } else {
    const int k = a.at("dim").get<int>();
    spec.action_space = Space::Box(std::vector<float>(k, -1), std::vector<float>(k, 1));
  }
  return spec;
}

PpoConfig ConfigFor(const nlohmann::json& in) {
  const auto& c = in.at("config");
  const auto& m = in.at("model");
  PpoConfig config;
  config.device = "cpu";
  auto advantage = ParseAdvantageEstimator(c.at("advantage").get<std::string>());
  EXPECT_TRUE(advantage.ok()) << advantage.status();
  if (advantage.ok()) config.advantage = *advantage;
  config.gamma = c.at("gamma").get<double>();
  config.gae_lambda = c.at("gae_lambda").get<double>();
  config.vtrace_rho_bar = c.at("vtrace_rho_bar").get<double>();
  config.vtrace_c_bar = c.at("vtrace_c_bar").get<double>();
  config.normalize_obs = c.at("normalize_obs").get<bool>();
  config.model.hidden_sizes = m.at("hidden_sizes").get<std::vector<int>>();
  config.model.activation = m.at("activation").get<std::string>();
  config.model.shared_trunk = m.at("shared_trunk").get<bool>();
  return config;
}

// Copies the reference weights into `model` by parameter name; every
// parameter must have one and every weight must name a parameter.
void LoadWeights(ActorCritic& model, const nlohmann::json& weights, const std::string& where) {
  torch::NoGradGuard no_grad;
  std::set<std::string> loaded;
  for (auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    ASSERT_TRUE(weights.contains(name)) << where << ": no weights for parameter " << name;
    const auto& w = weights.at(name);
    const auto shape = w.at("shape").get<std::vector<int64_t>>();
    ASSERT_EQ(item.value().sizes(), at::IntArrayRef(shape)) << where << " " << name;
    item.value().copy_(F32(w.at("data")).reshape(shape));
    loaded.insert(name);
  }
  for (const auto& [name, w] : weights.items()) {
    EXPECT_TRUE(loaded.count(name)) << where << ": the model has no parameter " << name;
  }
}

RolloutBatch BatchFor(const nlohmann::json& b, const EnvSpec& spec) {
  const int T = b.at("num_steps").get<int>(), E = b.at("num_envs").get<int>();
  const int D = spec.obs_dim(), A = spec.action_dim();
  const bool discrete = spec.action_space.is_discrete();
  RolloutBatch batch = RolloutBatch::Allocate(T, E, D, A, discrete);
  batch.obs = F32(b.at("obs")).reshape({T, E, D});
  batch.actions =
      discrete ? F32(b.at("actions")).reshape({T, E}) : F32(b.at("actions")).reshape({T, E, A});
  batch.behaviour_logp = F32(b.at("behaviour_logp")).reshape({T, E});
  batch.rewards = F32(b.at("rewards")).reshape({T, E});
  batch.terminated = F32(b.at("terminated")).to(at::kByte).reshape({T, E});
  batch.truncated = F32(b.at("truncated")).to(at::kByte).reshape({T, E});
  batch.bootstrap_obs = F32(b.at("bootstrap_obs")).reshape({E, D});
  for (const auto& ix : b.at("final_index")) {
    batch.final_index.push_back({ix.at(0).get<int>(), ix.at(1).get<int>()});
  }
  batch.final_obs =
      F32(b.at("final_obs")).reshape({static_cast<int64_t>(batch.final_index.size()), D});
  return batch;
}

// The reference's next_values where the updater must take them from the
// bootstrap or a final observation, through the loaded model: a failure here
// means wrong weights or a wrong reference, not wrong wiring.
void CheckBootstrapValues(ActorCritic& model, const RolloutBatch& batch,
                          const nlohmann::json& next_values, const std::string& where) {
  torch::NoGradGuard no_grad;
  const int T = batch.num_steps, E = batch.num_envs;
  const at::Tensor v_boot = model->Value(batch.bootstrap_obs);
  const at::Tensor v_final = model->Value(batch.final_obs);
  std::set<int> last_step_finals;
  for (size_t k = 0; k < batch.final_index.size(); ++k) {
    const auto& ix = batch.final_index[k];
    EXPECT_NEAR(v_final[k].item<double>(), next_values.at(ix.t * E + ix.e).get<double>(), 1e-5)
        << where << " V(final_obs[" << k << "])";
    if (ix.t == T - 1) last_step_finals.insert(ix.e);
  }
  for (int e = 0; e < E; ++e) {
    if (last_step_finals.count(e)) continue;
    EXPECT_NEAR(v_boot[e].item<double>(), next_values.at((T - 1) * E + e).get<double>(), 1e-5)
        << where << " V(bootstrap_obs[" << e << "])";
  }
}

void CheckTargetsCase(const nlohmann::json& c, const std::string& where,
                      const std::string& advantage) {
  const auto& in = c.at("inputs");
  const auto& out = c.at("outputs");
  ASSERT_EQ(in.at("config").at("advantage").get<std::string>(), advantage) << where;
  const EnvSpec spec = SpecFor(in.at("model"));
  auto updater = PpoUpdater::Create(ConfigFor(in), spec, torch::Device(torch::kCPU));
  ASSERT_TRUE(updater.ok()) << where << ": " << updater.status();
  PpoUpdater& u = **updater;
  ASSERT_NO_FATAL_FAILURE(LoadWeights(u.model(), in.at("weights"), where));
  const RolloutBatch batch = BatchFor(in.at("batch"), spec);
  ASSERT_TRUE(
      batch.Validate(spec.obs_dim(), spec.action_dim(), spec.action_space.is_discrete()).ok())
      << where;
  const int64_t N = static_cast<int64_t>(batch.num_steps) * batch.num_envs;

  auto targets = u.ComputeTargets(batch);
  ASSERT_TRUE(targets.ok()) << where << ": " << targets.status();
  // Normalization is off: observations, actions and log-probs pass through.
  EXPECT_TRUE(at::equal(targets->obs_norm, batch.obs.reshape({N, spec.obs_dim()}))) << where;
  EXPECT_TRUE(at::equal(targets->behaviour_logp, batch.behaviour_logp.reshape({N}))) << where;
  EXPECT_EQ(targets->actions.size(0), N) << where;
  ExpectTensorNear(targets->old_values, out.at("values"), where + " values");
  ExpectTensorNear(targets->advantages, out.at("advantages"), where + " advantages");
  ExpectTensorNear(targets->returns, out.at("returns"), where + " returns");
  CheckBootstrapValues(u.model(), batch, out.at("next_values"), where);
  if (advantage == "vtrace") {
    ExpectTensorNear(targets->returns, out.at("vs"), where + " vs");
    ExpectTensorNear(targets->advantages, out.at("pg_advantages"), where + " pg_advantages");
    torch::NoGradGuard no_grad;
    PolicyHeads heads = u.model()->forward(targets->obs_norm);
    ExpectTensorNear(u.model()->LogProbEntropy(heads.dist_params, targets->actions).first,
                     out.at("target_logp"), where + " target_logp");
  }
}

TEST(UpdaterTargetsTest, EveryGaeCase) {
  const int cases = ForEachCase("updater_targets_gae", [](const auto& c, const auto& where) {
    CheckTargetsCase(c, where, "gae");
  });
  EXPECT_GT(cases, 0);
}

TEST(UpdaterTargetsTest, EveryVtraceCase) {
  const int cases = ForEachCase("updater_targets_vtrace", [](const auto& c, const auto& where) {
    CheckTargetsCase(c, where, "vtrace");
  });
  EXPECT_GT(cases, 0);
}

// One CartPole rollout acted by the updater's current policy, collected by the
// stepping loop actors and the in-process trainer run (RolloutCollector), and
// copied out of the collector's buffers.
RolloutBatch CartPoleRollout(PpoUpdater& u, int T, int E, uint64_t seed) {
  auto envs = VectorEnv::Create("CartPole-v1", E, seed);
  EXPECT_TRUE(envs.ok()) << envs.status();
  const EnvSpec& spec = (*envs)->spec();
  auto snapshot = std::make_shared<PolicySnapshot>();
  snapshot->model = u.model();
  snapshot->normalizer.enabled = u.config().normalize_obs;
  snapshot->normalizer.clip = u.config().obs_clip;
  snapshot->normalizer.stats = u.obs_stats();
  PolicyInference policy(PolicyShape{spec.obs_dim(), spec.action_space, u.config().model}, E);
  EXPECT_TRUE(policy.SetPolicy(std::move(snapshot)).ok());
  Rng rng(seed);
  RolloutCollector collector(envs->get(), &policy, &rng, T);
  EXPECT_EQ(collector.Collect(nullptr), T);
  RolloutBatch b = collector.View();
  for (at::Tensor* t : {&b.obs, &b.actions, &b.behaviour_logp, &b.rewards, &b.terminated,
                        &b.truncated, &b.bootstrap_obs, &b.final_obs}) {
    *t = t->clone();
  }
  return b;
}

TEST(UpdaterVtraceTest, UpdatesOnAFixedCartPoleBatch) {
  auto config = PresetFor("CartPole-v1");
  ASSERT_TRUE(config.ok()) << config.status();
  config->advantage = AdvantageEstimator::kVtrace;
  config->num_envs = 4;
  config->rollout_length = 64;
  config->num_minibatches = 4;
  config->update_epochs = 4;
  config->anneal_lr = false;
  config->learning_rate = 1e-3;
  config->device = "cpu";
  auto spec = GetEnvSpec("CartPole-v1");
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto updater = PpoUpdater::Create(*config, *spec, torch::Device(torch::kCPU));
  ASSERT_TRUE(updater.ok()) << updater.status();
  PpoUpdater& u = **updater;
  const RolloutBatch batch = CartPoleRollout(u, config->rollout_length, config->num_envs, 7);
  ASSERT_TRUE(batch.Validate(4, 1, true).ok());
  EXPECT_GT(batch.terminated.sum().item<int64_t>(), 0) << "no episode ended in the rollout";

  // On-policy (target = behaviour, so every ratio is 1 and ρ̄ = c̄ = 1) the
  // V-trace targets vs are the GAE(λ) returns.
  auto vtrace = u.ComputeTargets(batch);
  ASSERT_TRUE(vtrace.ok()) << vtrace.status();
  u.mutable_config().advantage = AdvantageEstimator::kGae;
  auto gae = u.ComputeTargets(batch);
  ASSERT_TRUE(gae.ok()) << gae.status();
  u.mutable_config().advantage = AdvantageEstimator::kVtrace;
  EXPECT_TRUE(at::allclose(vtrace->returns, gae->returns, 1e-4, 1e-4));

  // The same batch over and over: from the second update on the policy lags
  // the behaviour policy (ratios ≠ 1), and the value fit still improves.
  std::vector<double> value_losses;
  for (int i = 0; i < 8; ++i) {
    auto m = u.Update(batch, 0.0);
    ASSERT_TRUE(m.ok()) << "update " << i << ": " << m.status();
    EXPECT_EQ(m->skipped_minibatches, 0) << "update " << i;
    EXPECT_GT(m->minibatches, 0) << "update " << i;
    for (double x : {m->policy_loss, m->value_loss, m->entropy, m->approx_kl, m->grad_norm,
                     m->explained_variance}) {
      EXPECT_TRUE(std::isfinite(x)) << "update " << i;
    }
    if (i == 0) {
      EXPECT_LT(m->first_minibatch_ratio_max_deviation, 1e-4);
    } else {
      EXPECT_GT(m->first_minibatch_ratio_max_deviation, 1e-4) << "update " << i;
    }
    value_losses.push_back(m->value_loss);
  }
  EXPECT_LT(value_losses.back(), 0.8 * value_losses.front())
      << "value loss " << value_losses.front() << " -> " << value_losses.back();
}

}  // namespace
}  // namespace proxima

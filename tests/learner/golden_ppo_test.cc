// Replays every case of every reference file under $PROXIMA_GOLDEN_DIR/ppo/
// and tests/reference/ppo/ (gae*.json, vtrace*.json, ppo_loss*.json,
// ppo_total_loss*.json; tests/learner/reference_cases.h) to 1e-5.
#include <ATen/ATen.h>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/policy/actor_critic.h"
#include "common/envs/env.h"
#include "gtest/gtest.h"
#include "learner/gae.h"
#include "learner/ppo_config.h"
#include "learner/ppo_loss.h"
#include "learner/ppo_updater.h"
#include "learner/vtrace.h"
#include "tests/learner/reference_cases.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

constexpr double kTol = 1e-5;

std::vector<uint8_t> Flags(const nlohmann::json& j) {
  std::vector<uint8_t> out;
  for (const auto& v : j) out.push_back(v.is_boolean() ? v.get<bool>() : v.get<double>() != 0);
  return out;
}

// The per-step inputs shared by the GAE and V-trace references.
struct Series {
  std::vector<double> rewards, values, next_values;
  std::vector<uint8_t> terminated, truncated;
  int size() const { return static_cast<int>(rewards.size()); }
};

Series ReadSeries(const nlohmann::json& in) {
  return Series{in.at("rewards").get<std::vector<double>>(),
                in.at("values").get<std::vector<double>>(),
                in.at("next_values").get<std::vector<double>>(), Flags(in.at("terminated")),
                Flags(in.at("truncated"))};
}

void ExpectAllNear(const std::vector<double>& got, const nlohmann::json& want,
                   const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i].get<double>(), kTol) << what << "[" << i << "]";
  }
}

TEST(GoldenPpoTest, EveryGaeCase) {
  const int cases = ForEachCase("gae", [](const nlohmann::json& c, const std::string& where) {
    const auto& in = c.at("inputs");
    const Series x = ReadSeries(in);
    const int n = x.size();
    std::vector<double> adv(n), ret(n);
    ComputeGae<double>(n, 1, x.rewards.data(), x.values.data(), x.next_values.data(),
                       x.terminated.data(), x.truncated.data(), in.at("gamma").get<double>(),
                       in.at("lam").get<double>(), adv.data(), ret.data());
    ExpectAllNear(adv, c.at("outputs").at("advantages"), where + " advantages");
    ExpectAllNear(ret, c.at("outputs").at("returns"), where + " returns");
  });
  EXPECT_GT(cases, 0);
}

TEST(GoldenPpoTest, EveryGaeCaseInFloat32ColumnLayout) {
  // The trainer runs GAE in float32 on columns of a [T, E] buffer (stride E):
  // check the strided path against the same references (float tolerance).
  for (const auto& file : ReferenceFiles("gae")) {
    const nlohmann::json doc = LoadJsonOrDie(file);
    for (const auto& c : doc.at("cases")) {
      const auto& in = c.at("inputs");
      const Series x = ReadSeries(in);
      const int n = x.size(), E = 3, col = 1;
      std::vector<float> rf(n * E, 99), vf(n * E, 99), nvf(n * E, 99), adv(n * E), ret(n * E);
      std::vector<uint8_t> te(n * E, 1), tr(n * E, 1);
      for (int t = 0; t < n; ++t) {
        rf[t * E + col] = static_cast<float>(x.rewards[t]);
        vf[t * E + col] = static_cast<float>(x.values[t]);
        nvf[t * E + col] = static_cast<float>(x.next_values[t]);
        te[t * E + col] = x.terminated[t];
        tr[t * E + col] = x.truncated[t];
      }
      ComputeGae<float>(n, E, rf.data() + col, vf.data() + col, nvf.data() + col, te.data() + col,
                        tr.data() + col, in.at("gamma").get<double>(), in.at("lam").get<double>(),
                        adv.data() + col, ret.data() + col);
      for (int t = 0; t < n; ++t) {
        EXPECT_NEAR(adv[t * E + col], c.at("outputs").at("advantages")[t].get<double>(), 1e-4);
      }
    }
  }
}

TEST(GoldenPpoTest, EveryVtraceCase) {
  const int cases = ForEachCase("vtrace", [](const nlohmann::json& c, const std::string& where) {
    const auto& in = c.at("inputs");
    const Series x = ReadSeries(in);
    const auto tl = in.at("target_logp").get<std::vector<double>>();
    const auto bl = in.at("behaviour_logp").get<std::vector<double>>();
    VtraceParams p{in.at("gamma").get<double>(), in.at("lam").get<double>(),
                   in.at("rho_bar").get<double>(), in.at("c_bar").get<double>()};
    const int n = x.size();
    std::vector<double> vs(n), pg(n);
    ComputeVtrace<double>(n, 1, x.rewards.data(), x.values.data(), x.next_values.data(),
                          x.terminated.data(), x.truncated.data(), tl.data(), bl.data(), p,
                          vs.data(), pg.data());
    ExpectAllNear(vs, c.at("outputs").at("vs"), where + " vs");
    ExpectAllNear(pg, c.at("outputs").at("pg_advantages"), where + " pg_advantages");
  });
  EXPECT_GT(cases, 0);
}

at::Tensor T64(const nlohmann::json& j) {
  std::vector<double> v = j.get<std::vector<double>>();
  return at::tensor(v, at::kDouble);
}

TEST(GoldenPpoTest, EveryPpoLossCase) {
  const int cases = ForEachCase("ppo_loss", [](const nlohmann::json& c, const std::string& where) {
    const auto& in = c.at("inputs");
    const auto& out = c.at("outputs");
    const int64_t k = in.at("num_actions").get<int64_t>();
    at::Tensor logits = T64(in.at("logits")).reshape({-1, k});
    at::Tensor actions = T64(in.at("actions")).to(at::kLong);
    // The model's own log-prob/entropy path, in float64.
    ActorCritic model(1, Space::Discrete(static_cast<int>(k)), ModelSpec{});
    auto [logp, entropy] = model->LogProbEntropy(logits, actions);
    PpoLossOptions o;
    o.clip_coef = in.at("clip_eps").get<double>();
    o.value_clip_coef = in.at("value_clip_eps").get<double>();
    o.normalize_advantages = in.at("normalize_advantages").get<bool>();
    o.clip_value_loss = true;
    PpoLossTerms t = ComputePpoLoss(logp, T64(in.at("behaviour_logp")), entropy,
                                    T64(in.at("advantages")), T64(in.at("new_values")),
                                    T64(in.at("old_values")), T64(in.at("returns")), o);
    EXPECT_NEAR(t.policy_loss.item<double>(), out.at("policy_loss").get<double>(), kTol) << where;
    EXPECT_NEAR(t.value_loss.item<double>(), out.at("value_loss_clipped").get<double>(), kTol)
        << where;
    EXPECT_NEAR(ValueLoss(T64(in.at("new_values")), T64(in.at("old_values")), T64(in.at("returns")),
                          false, o.value_clip_coef)
                    .item<double>(),
                out.at("value_loss_unclipped").get<double>(), kTol)
        << where;
    EXPECT_NEAR(t.entropy.item<double>(), out.at("entropy").get<double>(), kTol) << where;
    EXPECT_NEAR(t.approx_kl.item<double>(), out.at("approx_kl").get<double>(), kTol) << where;
    EXPECT_NEAR(t.clip_fraction.item<double>(), out.at("clip_fraction").get<double>(), kTol)
        << where;
    std::vector<double> got(logp.data_ptr<double>(), logp.data_ptr<double>() + logp.numel());
    ExpectAllNear(got, out.at("logp"), where + " logp");
  });
  EXPECT_GT(cases, 0);
}

// ppo_total_loss*.json: the weighted total with distinct non-zero ent_coef,
// vf_coef and kl_beta, categorical and Gaussian, through the updater's own
// config → options mapping (PpoLossOptionsFor), so a wrong sign or a swapped
// coefficient anywhere on that path fails.
TEST(GoldenPpoTest, EveryPpoTotalLossCase) {
  const int cases =
      ForEachCase("ppo_total_loss", [](const nlohmann::json& c, const std::string& where) {
        const auto& in = c.at("inputs");
        const auto& out = c.at("outputs");
        at::Tensor actions = T64(in.at("actions"));
        at::Tensor dist_params, logp, entropy;
        const bool gaussian = in.at("distribution").get<std::string>() == "gaussian";
        if (gaussian) {
          const int dim = in.at("act_dim").get<int>();
          ActorCritic model(1, Space::Box(std::vector<float>(dim, -1), std::vector<float>(dim, 1)),
                            ModelSpec{});
          model->to(at::kDouble);
          {
            torch::NoGradGuard no_grad;
            model->log_std().copy_(T64(in.at("log_std")));
          }
          dist_params = T64(in.at("mean")).reshape({-1, dim});
          std::tie(logp, entropy) = model->LogProbEntropy(dist_params, actions.reshape({-1, dim}));
        } else {
          const int k = in.at("num_actions").get<int>();
          ActorCritic model(1, Space::Discrete(k), ModelSpec{});
          dist_params = T64(in.at("logits")).reshape({-1, k});
          std::tie(logp, entropy) = model->LogProbEntropy(dist_params, actions.to(at::kLong));
        }
        const PpoConfig config = TotalLossCaseConfig(in);
        const double kl_beta = in.at("kl_beta").get<double>();
        ASSERT_GT(config.ent_coef, 0) << where;
        ASSERT_GT(kl_beta, 0) << where;
        PpoLossTerms t =
            ComputePpoLoss(logp, T64(in.at("behaviour_logp")), entropy, T64(in.at("advantages")),
                           T64(in.at("new_values")), T64(in.at("old_values")),
                           T64(in.at("returns")), PpoLossOptionsFor(config, kl_beta));
        std::vector<double> got(logp.data_ptr<double>(), logp.data_ptr<double>() + logp.numel());
        ExpectAllNear(got, out.at("logp"), where + " logp");
        for (const auto& [name, value] :
             {std::pair<const char*, at::Tensor>{"policy_loss", t.policy_loss},
              {"value_loss", t.value_loss},
              {"entropy", t.entropy},
              {"approx_kl", t.approx_kl},
              {"clip_fraction", t.clip_fraction},
              {"total", t.total.detach()}}) {
          EXPECT_NEAR(value.item<double>(), out.at(name).get<double>(), kTol)
              << where << " " << name;
        }
      });
  EXPECT_GT(cases, 0);
}

}  // namespace
}  // namespace proxima

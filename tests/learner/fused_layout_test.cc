// learner/fused/mlp_layout.h against LibTorch: the layout derived from the
// shape alone names, sizes and orders every parameter exactly as
// ActorCritic::parameters() (the flat buffer PpoUpdater keeps), for every
// trunk × head combination; bad shapes are clear errors.
#include "common/fused/mlp_layout.h"

#include <torch/torch.h>

#include "common/policy/actor_critic.h"
#include "gtest/gtest.h"

namespace proxima::fused {
namespace {

ModelSpec Spec(std::vector<int> hidden, bool shared, const std::string& activation = "tanh") {
  ModelSpec s;
  s.hidden_sizes = std::move(hidden);
  s.shared_trunk = shared;
  s.activation = activation;
  return s;
}

TEST(FusedLayoutTest, MatchesActorCriticParameterOrderAndShapes) {
  const std::vector<Space> heads = {Space::Discrete(3), Space::Box({-1, -1}, {1, 1})};
  const std::vector<std::vector<int>> hiddens = {{64, 64}, {7}, {33, 7, 5}};
  for (const Space& head : heads) {
    for (bool shared : {false, true}) {
      for (const auto& hidden : hiddens) {
        SCOPED_TRACE(::testing::Message() << (head.is_discrete() ? "categorical" : "gaussian")
                                          << (shared ? " shared" : " separate") << " hidden "
                                          << hidden.size() << "x" << hidden[0]);
        const ModelSpec spec = Spec(hidden, shared);
        ActorCritic model(5, head, spec);
        auto layout = MakeMlpLayout(5, head, spec);
        ASSERT_TRUE(layout.ok()) << layout.status();
        auto named = model->named_parameters();
        ASSERT_EQ(named.size(), layout->params.size());
        int64_t offset = 0;
        for (size_t i = 0; i < named.size(); ++i) {
          const ParamBlock& b = layout->params[i];
          EXPECT_EQ(named[i].key(), b.name);
          EXPECT_EQ(named[i].value().sizes().vec(), b.shape) << b.name;
          EXPECT_EQ(b.offset, offset) << b.name;
          EXPECT_EQ(b.size, named[i].value().numel()) << b.name;
          offset += named[i].value().numel();
        }
        EXPECT_EQ(layout->total, offset);
        // The typed references point at the right blocks.
        auto block_at = [&](int64_t off) -> std::string {
          for (const ParamBlock& b : layout->params) {
            if (b.offset == off) return b.name;
          }
          return "?";
        };
        const std::string trunk = shared ? "trunk" : "policy_trunk";
        EXPECT_EQ(block_at(layout->policy_trunk.back().weight),
                  trunk + "." + std::to_string(2 * (hidden.size() - 1)) + ".weight");
        if (!shared) {
          EXPECT_EQ(block_at(layout->value_trunk[0].bias), "value_trunk.0.bias");
        }
        EXPECT_TRUE(layout->value_trunk.empty() == shared);
        EXPECT_EQ(block_at(layout->policy_head.weight), "policy_head.weight");
        EXPECT_EQ(block_at(layout->value_head.bias), "value_head.bias");
        EXPECT_EQ(layout->log_std < 0, head.is_discrete());
        if (!head.is_discrete()) {
          EXPECT_EQ(block_at(layout->log_std), "log_std");
        }
      }
    }
  }
}

TEST(FusedLayoutTest, BadShapesAreErrorsNamingTheField) {
  const Space d = Space::Discrete(2);
  auto bad_obs = MakeMlpLayout(0, d, Spec({4}, false));
  EXPECT_NE(bad_obs.status().message().find("obs_dim"), std::string::npos) << bad_obs.status();
  auto no_actions = MakeMlpLayout(3, Space::Discrete(0), Spec({4}, false));
  EXPECT_NE(no_actions.status().message().find("action"), std::string::npos);
  auto no_hidden = MakeMlpLayout(3, d, Spec({}, false));
  EXPECT_NE(no_hidden.status().message().find("hidden"), std::string::npos);
  auto zero_hidden = MakeMlpLayout(3, d, Spec({4, 0}, false));
  EXPECT_NE(zero_hidden.status().message().find("hidden size"), std::string::npos);
  auto bad_act = MakeMlpLayout(3, d, Spec({4}, false, "gelu"));
  EXPECT_NE(bad_act.status().message().find("gelu"), std::string::npos);
  EXPECT_TRUE(MakeMlpLayout(3, d, Spec({4}, false, "relu")).ok());
}

}  // namespace
}  // namespace proxima::fused

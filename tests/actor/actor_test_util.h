// Helpers shared by the actor runtime tests: a policy "as the learner would
// publish it", its decoded snapshot, and a PolicyInference running it.
#ifndef PROXIMA_TESTS_ACTOR_ACTOR_TEST_UTIL_H_
#define PROXIMA_TESTS_ACTOR_ACTOR_TEST_UTIL_H_

#include <torch/utils.h>

#include <memory>
#include <string>
#include <vector>

#include "common/policy/actor_critic.h"
#include "common/envs/registry.h"
#include "common/policy/policy_inference.h"
#include "common/policy/policy_snapshot.h"
#include "common/policy/weight_codec.h"
#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "proxima/v1/weights.pb.h"

namespace proxima::testing {

inline PolicyShape ShapeFor(const std::string& env_id, ModelSpec model = ModelSpec()) {
  EnvSpec spec = GetEnvSpec(env_id).value();
  return PolicyShape{spec.obs_dim(), spec.action_space, std::move(model)};
}

// A freshly initialized network (seeded), with its log-std perturbed so that
// Gaussian policies are not the trivial unit one.
inline ActorCritic MakeModel(const PolicyShape& shape, uint64_t seed) {
  torch::manual_seed(seed);
  ActorCritic model(shape.obs_dim, shape.action_space, shape.model);
  if (!model->discrete()) {
    torch::NoGradGuard no_grad;
    for (auto& item : model->named_parameters()) {
      if (item.key() == "log_std") item.value().fill_(-0.3);
    }
  }
  return model;
}

// Normalizer statistics with a non-trivial mean/var, optionally disabled.
inline NormalizerState MakeNormalizer(int obs_dim, bool enabled, double clip = 10.0) {
  NormalizerState n;
  n.enabled = enabled;
  n.clip = clip;
  n.stats = RunningMeanStd(obs_dim);
  std::vector<float> rows;
  for (int i = 0; i < 7; ++i) {
    for (int j = 0; j < obs_dim; ++j) rows.push_back(0.3f * static_cast<float>((i * 5 + j * 3) % 7) - 0.8f);
  }
  n.stats.Update(rows.data(), 7);
  return n;
}

inline v1::WeightSnapshot EncodeSnapshot(ActorCritic& model, const NormalizerState& n,
                                         uint64_t version) {
  v1::WeightSnapshot proto;
  EncodeWeights(model, n, version, &proto);
  return proto;
}

inline std::shared_ptr<const PolicySnapshot> MakeSnapshot(ActorCritic& model,
                                                          const NormalizerState& n,
                                                          uint64_t version,
                                                          const PolicyShape& shape) {
  auto decoded = DecodeSnapshot(EncodeSnapshot(model, n, version), shape);
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  return decoded.ok() ? *decoded : nullptr;
}

// What an actor runs after taking a snapshot: a seeded network for `env_id`
// (MakeModel), published as `version` with a MakeNormalizer normalizer (on or
// off), installed in a PolicyInference for `batch` rows on `engine`.
// `installed` is what SetPolicy returned. Not movable: collectors keep
// &inference.
struct ActingPolicy {
  ActingPolicy(const std::string& env_id, int batch, uint64_t model_seed, bool normalize,
               uint64_t version, InferenceEngine engine = InferenceEngine::kFused)
      : shape(ShapeFor(env_id)),
        model(MakeModel(shape, model_seed)),
        inference(shape, batch, engine) {
    installed = inference.SetPolicy(
        MakeSnapshot(model, MakeNormalizer(shape.obs_dim, normalize), version, shape));
  }
  ActingPolicy(const ActingPolicy&) = delete;
  ActingPolicy& operator=(const ActingPolicy&) = delete;

  PolicyShape shape;
  ActorCritic model;
  PolicyInference inference;
  absl::Status installed;
};

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_ACTOR_ACTOR_TEST_UTIL_H_

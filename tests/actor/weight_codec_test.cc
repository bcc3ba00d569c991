#include "common/policy/weight_codec.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <limits>

#include "common/envs/registry.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::HasSubstr;

ActorCritic MakeModel(uint64_t seed, std::vector<int> hidden = {64, 64}) {
  torch::manual_seed(seed);
  auto spec = GetEnvSpec("CartPole-v1");
  ModelSpec ms;
  ms.hidden_sizes = std::move(hidden);
  return ActorCritic(spec->obs_dim(), spec->action_space, ms);
}

NormalizerState SomeStats() {
  NormalizerState n;
  n.enabled = true;
  n.clip = 5.0;
  n.stats = RunningMeanStd(4);
  const float rows[] = {1, 2, 3, 4, -1, 0, 2, 8};
  n.stats.Update(rows, 2);
  return n;
}

bool SameParams(ActorCritic& a, ActorCritic& b) {
  auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    if (!at::equal(pa[i], pb[i])) return false;
  }
  return true;
}

TEST(WeightCodecTest, RoundTripThroughTheWireMakesIdenticalPolicies) {
  ActorCritic learner = MakeModel(1), actor = MakeModel(2);
  ASSERT_FALSE(SameParams(learner, actor));
  v1::WeightSnapshot s;
  EncodeWeights(learner, SomeStats(), 17, &s);
  EXPECT_EQ(s.checksum(), CanonicalChecksum(s));
  v1::WeightSnapshot received;
  ASSERT_TRUE(received.ParseFromString(s.SerializeAsString()));
  NormalizerState n;
  n.stats = RunningMeanStd(4);
  ASSERT_TRUE(ApplyWeights(received, actor, &n).ok());
  EXPECT_TRUE(SameParams(learner, actor));
  EXPECT_TRUE(n.enabled);
  EXPECT_DOUBLE_EQ(n.clip, 5.0);
  EXPECT_EQ(n.stats.mean(), SomeStats().stats.mean());
  EXPECT_EQ(n.stats.var(), SomeStats().stats.var());
  torch::NoGradGuard no_grad;
  at::Tensor obs = at::randn({5, 4});
  EXPECT_TRUE(at::equal(learner->forward(obs).dist_params, actor->forward(obs).dist_params));
}

TEST(WeightCodecTest, CorruptedSnapshotIsRejectedAndChangesNothing) {
  ActorCritic learner = MakeModel(1), actor = MakeModel(2);
  v1::WeightSnapshot s;
  EncodeWeights(learner, SomeStats(), 3, &s);
  (*s.mutable_tensors(2)->mutable_tensor()->mutable_data())[5] ^= 0x10;  // one flipped bit
  ActorCritic before = MakeModel(2);
  NormalizerState n;
  n.stats = RunningMeanStd(4);
  EXPECT_THAT(ApplyWeights(s, actor, &n),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("checksum mismatch")));
  EXPECT_TRUE(SameParams(actor, before));
  EXPECT_FALSE(n.enabled);
}

TEST(WeightCodecTest, ShapeMismatchAndNonFiniteAreRejected) {
  ActorCritic learner = MakeModel(1, {32}), actor = MakeModel(2);
  ActorCritic before = MakeModel(2);
  v1::WeightSnapshot s;
  NormalizerState n;
  n.stats = RunningMeanStd(4);
  EncodeWeights(learner, SomeStats(), 3, &s);
  EXPECT_THAT(ApplyWeights(s, actor, &n),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tensors, model has")));
  ActorCritic same_shape = MakeModel(3);
  EncodeWeights(same_shape, SomeStats(), 4, &s);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(s.mutable_tensors(0)->mutable_tensor()->mutable_data()->data(), &nan, sizeof nan);
  s.set_checksum(CanonicalChecksum(s));  // a well-checksummed but poisoned snapshot
  EXPECT_THAT(ApplyWeights(s, actor, &n),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("non-finite")));
  EXPECT_TRUE(SameParams(actor, before));
}

}  // namespace
}  // namespace proxima

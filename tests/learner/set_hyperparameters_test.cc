// `proxima set` changes training, not just the echo (docs/cluster.md:
// "validated, logged, shown in status"): a real learner server on loopback, one
// TestActor sending rollouts, and the `set` command's own code (SetCommand, the
// same function `proxima set` runs) against it. The update after the set must
// train with the new values — its reported learning rate, the epochs and
// minibatch steps it actually ran, and how far its optimizer steps moved the
// weights — and the update before must not.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "learner/cli/client_commands.h"
#include "tests/learner/learner_server_fixture.h"
#include "tests/learner/test_actor.h"

namespace proxima {
namespace {

using ::proxima::testing::TestActor;
using SetHyperparametersTest = ::proxima::testing::LearnerServerFixture;

// Largest |a − b| over the float32 parameters of two snapshots of one model.
double MaxWeightChange(const v1::WeightSnapshot& a, const v1::WeightSnapshot& b) {
  EXPECT_EQ(a.tensors_size(), b.tensors_size());
  double max_change = 0;
  for (int i = 0; i < std::min(a.tensors_size(), b.tensors_size()); ++i) {
    const std::string& x = a.tensors(i).tensor().data();
    const std::string& y = b.tensors(i).tensor().data();
    EXPECT_EQ(a.tensors(i).tensor().dtype(), v1::DTYPE_FLOAT32);
    EXPECT_EQ(x.size(), y.size());
    for (size_t k = 0; k + 4 <= std::min(x.size(), y.size()); k += 4) {
      float u, v;
      std::memcpy(&u, x.data() + k, 4);
      std::memcpy(&v, y.data() + k, 4);
      max_change = std::max(max_change, std::abs(static_cast<double>(u) - v));
    }
  }
  return max_change;
}

TEST_F(SetHyperparametersTest, NextUpdateTrainsWithTheNewValues) {
  config_.anneal_lr = false;  // so the reported rate is exactly the set one
  StartServer();
  const PpoConfig before = config_;  // CartPole preset: lr 2.5e-4, 4 epochs × 4 minibatches
  ASSERT_EQ(before.update_epochs, 4);
  ASSERT_EQ(before.num_minibatches, 4);

  // `observer` only reads snapshots (over its own session); `a` trains.
  TestActor observer(channel_, "observer");
  ASSERT_TRUE(observer.Register().ok());
  auto a = Actor("a");  // 4 envs × 128 steps: one chunk is one batch
  auto snapshot = [&](uint64_t version) {
    std::optional<v1::WeightSnapshot> s = LatestSnapshot(observer);
    EXPECT_TRUE(s.has_value());
    EXPECT_EQ(s ? s->version() : 0, version);
    return s.value_or(v1::WeightSnapshot());
  };
  auto train_one_update = [&](uint64_t updates) {
    EXPECT_TRUE(a->WaitForWeights(updates - 1));
    auto ack = a->Send(a->Rollout());
    EXPECT_TRUE(ack.has_value());
    if (ack) {
      EXPECT_EQ(ack->outcome(), v1::CHUNK_OUTCOME_ACCEPTED) << ack->reason();
    }
    v1::LearnerStatus st =
        WaitStatus([&](const v1::LearnerStatus& s) { return s.updates() >= updates; });
    EXPECT_EQ(st.updates(), updates);
    return st.last_update();
  };

  const v1::WeightSnapshot w0 = snapshot(0);
  const v1::UpdateMetrics m1 = train_one_update(1);
  const v1::WeightSnapshot w1 = snapshot(1);

  std::ostringstream out, err;
  ClientOptions client;
  client.learner = server_->address();
  auto values = ParseAssignments({"learning-rate=1e-8", "update_epochs=2", "num_minibatches=2"});
  ASSERT_TRUE(values.ok()) << values.status();
  ASSERT_EQ(SetCommand(client, *values, /*validate_only=*/false, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("effective from update 2"), std::string::npos) << out.str();

  const v1::UpdateMetrics m2 = train_one_update(2);
  const v1::WeightSnapshot w2 = snapshot(2);
  RecordProperty("change_in_update_1", absl::StrCat(MaxWeightChange(w0, w1)));
  RecordProperty("change_in_update_2", absl::StrCat(MaxWeightChange(w1, w2)));

  // Update 1 ran with the preset.
  EXPECT_DOUBLE_EQ(m1.learning_rate(), before.learning_rate);
  EXPECT_EQ(m1.epochs_run(), 4u);
  EXPECT_EQ(m1.minibatches_run(), 16u);
  // Its first Adam step alone moves every parameter with a gradient by about
  // lr = 2.5e-4.
  EXPECT_GT(MaxWeightChange(w0, w1), 1e-4);

  // Update 2 ran with the new values.
  EXPECT_DOUBLE_EQ(m2.learning_rate(), 1e-8);
  EXPECT_EQ(m2.epochs_run(), 2u);
  EXPECT_EQ(m2.minibatches_run(), 4u);
  // An Adam step moves a parameter by at most a few × lr: with lr 1e-8, four
  // steps stay far below 1e-5 (float32 rounding of O(1) weights is ~1e-7).
  EXPECT_LT(MaxWeightChange(w1, w2), 1e-5);
  EXPECT_EQ(server_->Status(false).hyperparameters().at("learning_rate"), "1e-08");
}

}  // namespace
}  // namespace proxima

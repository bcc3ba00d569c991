// SnapshotSlot: latest-wins hand-over from the weight receiver to the stepping
// loop, and DecodeSnapshot's verification.
#include "common/policy/policy_snapshot.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/actor/actor_test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::EncodeSnapshot;
using ::proxima::testing::MakeModel;
using ::proxima::testing::MakeNormalizer;
using ::proxima::testing::ShapeFor;

std::shared_ptr<const PolicySnapshot> Version(uint64_t v) {
  auto s = std::make_shared<PolicySnapshot>();
  s->version = v;
  return s;
}

TEST(SnapshotSlotTest, LatestWinsAndNothingIsQueued) {
  SnapshotSlot slot;
  EXPECT_EQ(slot.Latest(), nullptr);
  EXPECT_TRUE(slot.Put(Version(1)));
  EXPECT_TRUE(slot.Put(Version(2)));
  EXPECT_TRUE(slot.Put(Version(5)));
  // The stepping loop, arriving late at its boundary, sees only the newest.
  EXPECT_EQ(slot.Latest()->version, 5u);
  EXPECT_EQ(slot.Latest()->version, 5u);
  // A stale version that arrives late does not replace a newer one.
  EXPECT_FALSE(slot.Put(Version(4)));
  EXPECT_FALSE(slot.Put(Version(5)));
  EXPECT_EQ(slot.Latest()->version, 5u);
  slot.Clear();
  EXPECT_EQ(slot.Latest(), nullptr);
  EXPECT_TRUE(slot.Put(Version(0)));  // a new session may start anywhere
}

TEST(SnapshotSlotTest, WaitNewerBlocksUntilANewerVersionArrives) {
  SnapshotSlot slot;
  std::atomic<bool> interrupt{false};
  slot.Put(Version(3));
  // Already newer than 2: returns at once.
  EXPECT_EQ(slot.WaitNewer(2, interrupt)->version, 3u);
  EXPECT_EQ(slot.WaitNewer(std::nullopt, interrupt)->version, 3u);

  absl::Notification waiting, done;
  std::shared_ptr<const PolicySnapshot> got;
  std::thread waiter([&] {
    waiting.Notify();
    got = slot.WaitNewer(3, interrupt);
    done.Notify();
  });
  waiting.WaitForNotification();
  slot.Put(Version(3));  // not newer: must not wake it with v3
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  slot.Put(Version(4));
  slot.Put(Version(6));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  waiter.join();
  ASSERT_NE(got, nullptr);
  EXPECT_GE(got->version, 4u);
}

TEST(SnapshotSlotTest, InterruptWakesAWaiterWithNull) {
  SnapshotSlot slot;
  std::atomic<bool> interrupt{false};
  absl::Notification done;
  std::shared_ptr<const PolicySnapshot> got = Version(99);
  std::thread waiter([&] {
    got = slot.WaitNewer(std::nullopt, interrupt);
    done.Notify();
  });
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(absl::Milliseconds(20)));
  interrupt.store(true);
  slot.Wake();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  waiter.join();
  EXPECT_EQ(got, nullptr);
}

TEST(DecodeSnapshotTest, VerifiesTheChecksumBeforeUse) {
  const PolicyShape shape = ShapeFor("CartPole-v1");
  ActorCritic model = MakeModel(shape, 1);
  v1::WeightSnapshot proto = EncodeSnapshot(model, MakeNormalizer(4, true, 5.0), 12);
  auto good = DecodeSnapshot(proto, shape);
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ((*good)->version, 12u);
  EXPECT_TRUE((*good)->normalizer.enabled);
  EXPECT_DOUBLE_EQ((*good)->normalizer.clip, 5.0);

  (*proto.mutable_tensors(0)->mutable_tensor()->mutable_data())[0] ^= 1;
  auto bad = DecodeSnapshot(proto, shape);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss) << bad.status();
}

}  // namespace
}  // namespace proxima

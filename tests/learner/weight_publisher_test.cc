// WeightPublisher (learner/server/weight_publisher.h) without gRPC calls:
// serialized once, latest wins, listeners woken and closed.
#include "learner/server/weight_publisher.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include <atomic>

#include "gtest/gtest.h"
#include "proxima/v1/weights.pb.h"

namespace proxima {
namespace {

class CountingListener : public PublicationListener {
 public:
  void NewVersion() override { ++notified; }
  void Close() override { ++closed; }
  std::atomic<int> notified{0};
  std::atomic<int> closed{0};
};

v1::WeightSnapshot Snapshot(uint64_t version) {
  v1::WeightSnapshot s;
  s.set_version(version);
  s.set_env_steps(version * 10);
  return s;
}

v1::WeightSnapshot Parse(const PublishedWeights& p) {
  grpc::ByteBuffer copy(p.bytes);
  v1::WeightSnapshot out;
  EXPECT_TRUE(grpc::SerializationTraits<v1::WeightSnapshot>::Deserialize(&copy, &out).ok());
  return out;
}

TEST(WeightPublisherTest, LatestWinsAndIsSharedNotCopied) {
  WeightPublisher pub;
  EXPECT_EQ(pub.Latest(), nullptr);
  const auto t = std::chrono::steady_clock::now();
  pub.Publish(Snapshot(1), 1, t);
  std::shared_ptr<const PublishedWeights> first = pub.Latest();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first, pub.Latest());  // one buffer, handed out to every reader
  pub.Publish(Snapshot(2), 2, t);
  pub.Publish(Snapshot(3), 3, t);
  std::shared_ptr<const PublishedWeights> latest = pub.Latest();
  EXPECT_EQ(latest->version, 3u);
  EXPECT_EQ(Parse(*latest).env_steps(), 30u);
  // A reader that still holds an older version keeps it intact.
  EXPECT_EQ(first->version, 1u);
  EXPECT_EQ(Parse(*first).version(), 1u);
}

TEST(WeightPublisherTest, ListenersAreWokenRemovedAndClosed) {
  WeightPublisher pub;
  auto a = std::make_shared<CountingListener>();
  auto b = std::make_shared<CountingListener>();
  ASSERT_TRUE(pub.AddListener(a));
  ASSERT_TRUE(pub.AddListener(b));
  {
    auto gone = std::make_shared<CountingListener>();
    ASSERT_TRUE(pub.AddListener(gone));
  }  // expired: skipped
  pub.Publish(Snapshot(1), 1, std::chrono::steady_clock::now());
  EXPECT_EQ(a->notified, 1);
  EXPECT_EQ(b->notified, 1);
  pub.RemoveListener(b.get());
  EXPECT_EQ(pub.listeners(), 1u);
  pub.Publish(Snapshot(2), 2, std::chrono::steady_clock::now());
  EXPECT_EQ(a->notified, 2);
  EXPECT_EQ(b->notified, 1);
  pub.Close();
  EXPECT_EQ(a->closed, 1);
  EXPECT_EQ(b->closed, 0);
  EXPECT_FALSE(pub.AddListener(b));  // closed: the caller ends the stream
}

}  // namespace
}  // namespace proxima

// RegistrationRetry against a learner that is not there yet: after an
// UNAVAILABLE attempt it asks the channel to reconnect at once (a channel
// whose own reconnect timer waits a minute still finds a learner that came
// up late within the retry loop's short backoff; without that, every attempt
// would fail at once on gRPC's timer for the whole minute), and it replaces a
// channel that keeps failing by a new one (Options.new_channel: a name whose
// lookups failed is looked up again by a fresh resolver, not after gRPC's
// resolver backoff of up to 2 minutes).
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <utility>

#include "actor/registration.h"
#include "actor/registration_retry.h"
#include "gtest/gtest.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "tests/support/fake_learner.h"
#include "tests/support/poll.h"

namespace proxima {
namespace {

using ::proxima::testing::FakeLearner;
using ::proxima::testing::PollUntil;

// The retry loop's own backoff: 20 ms to 100 ms.
v1::ChannelHints ShortBackoff() {
  v1::ChannelHints hints;
  hints.mutable_reconnect_backoff_initial()->set_nanos(20'000'000);
  hints.mutable_reconnect_backoff_max()->set_nanos(100'000'000);
  return hints;
}

TEST(RegistrationRetryTest, ALearnerThatComesUpLateIsFoundDespiteTheChannelsLongBackoff) {
  int port;
  {
    FakeLearner probe({});
    probe.Start();
    port = probe.port();
  }
  const std::string address = "127.0.0.1:" + std::to_string(port);
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 60000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 60000);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  const grpc::Channel* const first = channel.get();
  RegistrationRetry retry({address, "late-0", nullptr, nullptr});  // never a new channel
  const v1::ChannelHints hints = ShortBackoff();
  std::future<absl::StatusOr<v1::RegisterResponse>> result = std::async(std::launch::async, [&] {
    return retry.Register(&channel, hints, MakeRegisterRequest("late-0", "host", 2));
  });
  // Attempts fail while nobody listens; the channel has been refused.
  ASSERT_TRUE(PollUntil(
      [&] { return channel->GetState(false) == GRPC_CHANNEL_TRANSIENT_FAILURE; },
      absl::Seconds(30)));
  ASSERT_EQ(result.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);

  FakeLearner learner({});
  learner.Start(port);
  // Far below the channel's 60 s timer; the fix registers within ~0.1 s.
  if (result.wait_for(std::chrono::seconds(20)) != std::future_status::ready) retry.Cancel();
  const absl::StatusOr<v1::RegisterResponse> response = result.get();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(learner.registrations().size(), 1u);
  EXPECT_EQ(channel.get(), first);
}

TEST(RegistrationRetryTest, AChannelThatKeepsFailingIsReplacedByANewOne) {
  FakeLearner learner({});
  learner.Start();
  // The first channel can never connect (a name that does not resolve); the
  // ones new_channel makes dial the learner.
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel("no-such-learner.invalid:50051", grpc::InsecureChannelCredentials());
  const grpc::Channel* const first = channel.get();
  std::atomic<int> made{0};
  RegistrationRetry::Options o{learner.address(), "late-1", nullptr, [&] {
                                 ++made;
                                 return grpc::CreateChannel(learner.address(),
                                                            grpc::InsecureChannelCredentials());
                               }};
  RegistrationRetry retry(std::move(o));
  std::future<absl::StatusOr<v1::RegisterResponse>> result = std::async(std::launch::async, [&] {
    return retry.Register(&channel, ShortBackoff(), MakeRegisterRequest("late-1", "host", 2));
  });
  if (result.wait_for(std::chrono::seconds(20)) != std::future_status::ready) retry.Cancel();
  const absl::StatusOr<v1::RegisterResponse> response = result.get();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(made.load(), 1);
  EXPECT_NE(channel.get(), first);
  EXPECT_EQ(learner.registrations().size(), 1u);
}

}  // namespace
}  // namespace proxima

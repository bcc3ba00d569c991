// actor/registration: the Register request an actor sends, which failures it
// retries, and the checks an accepted registration must pass.
#include "actor/registration.h"

#include <unistd.h>

#include "absl/strings/match.h"
#include "common/envs/registry.h"
#include "common/lm/task_registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxima {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

TEST(RegistrationTest, RequestNamesTheActorItsHostAndWhatThisBuildRuns) {
  const v1::RegisterRequest r = MakeRegisterRequest("a-1", "host-9", 6);
  EXPECT_EQ(r.actor_name(), "a-1");
  EXPECT_EQ(r.hostname(), "host-9");
  EXPECT_EQ(r.num_envs(), 6u);
  EXPECT_EQ(r.protocol_version(), v1::PROTOCOL_VERSION_2);
  EXPECT_EQ(r.pid(), static_cast<uint32_t>(::getpid()));
  EXPECT_TRUE(absl::StartsWith(r.build_version(), "proxima ")) << r.build_version();
  EXPECT_THAT(r.available_env_ids(), Contains("CartPole-v1"));
  EXPECT_THAT(r.available_env_ids(), Contains("lm/Addition-v0"));
  EXPECT_EQ(r.available_env_ids_size(),
            static_cast<int>(RegisteredEnvIds().size() + lm::TaskIds().size()));
}

TEST(RegistrationTest, OnlyTransientFailuresAreRetried) {
  for (grpc::StatusCode code :
       {grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::DEADLINE_EXCEEDED,
        grpc::StatusCode::UNKNOWN, grpc::StatusCode::ABORTED, grpc::StatusCode::INTERNAL}) {
    EXPECT_TRUE(RetryableRegisterError(code)) << GrpcCodeName(code);
  }
  for (grpc::StatusCode code :
       {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::FAILED_PRECONDITION,
        grpc::StatusCode::PERMISSION_DENIED, grpc::StatusCode::UNAUTHENTICATED,
        grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::UNIMPLEMENTED}) {
    EXPECT_FALSE(RetryableRegisterError(code)) << GrpcCodeName(code);
  }
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAVAILABLE), "UNAVAILABLE");
}

TEST(RegistrationTest, ResponseNeedsASessionAndProtocolVersionOneOrTwo) {
  v1::RegisterResponse r;
  r.set_session_id(7);
  r.set_protocol_version(v1::PROTOCOL_VERSION_1);
  EXPECT_TRUE(CheckRegisterResponse(r, "l:1").ok());
  r.set_protocol_version(v1::PROTOCOL_VERSION_2);  // a sequence run's learner
  EXPECT_TRUE(CheckRegisterResponse(r, "l:1").ok());
  r.set_protocol_version(v1::PROTOCOL_VERSION_UNSPECIFIED);  // an older learner
  EXPECT_TRUE(CheckRegisterResponse(r, "l:1").ok());

  r.set_session_id(0);
  absl::Status s = CheckRegisterResponse(r, "l:1");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "learner at l:1 returned session id 0");

  r.set_session_id(7);
  r.set_protocol_version(static_cast<v1::ProtocolVersion>(3));
  s = CheckRegisterResponse(r, "l:1");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("speaks protocol version 3"));
}

TEST(RegistrationTest, TheLearnersEnvSpecMustMatchTheLocalOne) {
  absl::StatusOr<EnvSpec> local = GetEnvSpec("CartPole-v1");
  ASSERT_TRUE(local.ok()) << local.status();
  v1::RunConfig config;
  config.set_env_id("CartPole-v1");
  EXPECT_TRUE(CheckEnvSpec(config, *local).ok());  // no spec sent: nothing to compare

  EnvSpecToProto(*local, config.mutable_env_spec());
  EXPECT_TRUE(CheckEnvSpec(config, *local).ok());

  config.mutable_env_spec()->set_max_episode_steps(local->max_episode_steps + 1);
  absl::Status s = CheckEnvSpec(config, *local);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("time limit"));

  absl::StatusOr<EnvSpec> other = GetEnvSpec("Acrobot-v1");
  ASSERT_TRUE(other.ok()) << other.status();
  EnvSpecToProto(*other, config.mutable_env_spec());
  s = CheckEnvSpec(config, *local);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("observation space"));
}

TEST(RegistrationTest, OnlyModeAndHintsMayChangeForTheEnvsToBeKept) {
  ActorRunConfig a;
  a.env_id = "CartPole-v1";
  a.num_envs = 4;
  a.rollout_length = 32;
  ActorRunConfig b = a;
  b.sync = true;
  b.channel.set_max_unacked_chunks(3);
  EXPECT_TRUE(SameRunShape(a, b));
  b.rollout_length = 64;
  EXPECT_FALSE(SameRunShape(a, b));
  b = a;
  b.action_seed = 1;
  EXPECT_FALSE(SameRunShape(a, b));
}

}  // namespace
}  // namespace proxima

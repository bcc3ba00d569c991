// RemoteEnv (common/envs/remote_env.h) against an in-process fake Env server
// that serves the local envs, so every remote step can be compared bit for
// bit with the same local env; options of the remote id inject faults.
#include "common/envs/remote_env.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "actor/actor_client.h"
#include "common/envs/registry.h"
#include "common/envs/remote_env_batch.h"
#include "common/envs/vector_env.h"
#include "common/wire/run_config.h"
#include "common/rng.h"
#include "gtest/gtest.h"
#include "proxima/v1/env_service.grpc.pb.h"
#include "proxima/v1/learner_service.pb.h"
#include "tests/support/loopback_server.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::HasSubstr;

// Serves MakeEnv(env_id) (default CartPole-v1) per session. Option "fault":
//   wrong_kind   answers the first step with a reset reply
//   short_obs    step observations one float short
//   nan_reward   step reward NaN
//   hang         never answers a step (waits for the client to cancel)
//   abort        ends the session with INTERNAL "boom" on the first step
//   bad_version  handshake with protocol_version 7
//   discrete_obs handshake with a Discrete observation space
class FakeEnvService final : public v1::Env::Service {
 public:
  std::atomic<int> sessions_closed_by_client{0};

  grpc::Status Session(grpc::ServerContext* context,
                       grpc::ServerReaderWriter<v1::EnvResponse, v1::EnvRequest>* stream) override {
    v1::EnvRequest request;
    if (!stream->Read(&request)) return grpc::Status::OK;
    if (!request.has_hello()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "first request must be hello");
    }
    const v1::EnvHandshakeRequest hello = request.hello();
    const std::string id = hello.env_id().empty() ? "CartPole-v1" : hello.env_id();
    absl::StatusOr<std::unique_ptr<Env>> made = MakeEnv(id);
    if (!made.ok()) return grpc::Status(grpc::StatusCode::NOT_FOUND, std::string(made.status().message()));
    std::unique_ptr<Env> env = *std::move(made);
    const auto it = hello.env_options().find("fault");
    const std::string fault = it == hello.env_options().end() ? "" : it->second;

    v1::EnvResponse response;
    v1::EnvHandshakeResponse* reply = response.mutable_hello();
    reply->set_protocol_version(fault == "bad_version" ? 7 : v1::PROTOCOL_VERSION_1);
    EnvSpecToProto(env->spec(), reply->mutable_spec());
    if (fault == "discrete_obs") {
      reply->mutable_spec()->mutable_observation_space()->mutable_discrete()->set_n(3);
    }
    reply->set_server_name("fake");
    if (!stream->Write(response)) return grpc::Status::OK;

    const EnvSpec& spec = env->spec();
    std::vector<float> obs(spec.obs_dim()), action(spec.action_dim());
    while (stream->Read(&request)) {
      response.Clear();
      if (request.has_reset()) {
        if (request.reset().has_seed()) env->Seed(request.reset().seed());
        env->Reset(obs.data());
        FillObs(obs, response.mutable_reset()->mutable_observation());
      } else if (request.has_step()) {
        if (fault == "hang") continue;  // the next Read ends when the client cancels
        if (fault == "abort") return grpc::Status(grpc::StatusCode::INTERNAL, "boom");
        const v1::TensorProto& a = request.step().action();
        if (spec.action_space.is_discrete()) {
          int64_t index = 0;
          std::memcpy(&index, a.data().data(), sizeof(index));
          action[0] = static_cast<float>(index);
        } else {
          std::memcpy(action.data(), a.data().data(), sizeof(float) * action.size());
        }
        const StepResult r = env->Step(action.data(), obs.data());
        v1::EnvStepResponse* step =
            fault == "wrong_kind" ? nullptr : response.mutable_step();
        if (step == nullptr) {
          FillObs(obs, response.mutable_reset()->mutable_observation());
        } else {
          FillObs(obs, step->mutable_observation());
          if (fault == "short_obs") {
            step->mutable_observation()->set_shape(0, spec.obs_dim() - 1);
            step->mutable_observation()->mutable_data()->resize(4 * (spec.obs_dim() - 1));
          }
          step->set_reward(fault == "nan_reward" ? std::nan("") : r.reward);
          step->set_terminated(r.terminated);
          step->set_truncated(r.truncated);
        }
      }
      if (!stream->Write(response)) return grpc::Status::OK;
    }
    if (!context->IsCancelled()) ++sessions_closed_by_client;
    return grpc::Status::OK;
  }

 private:
  static void FillObs(const std::vector<float>& obs, v1::TensorProto* t) {
    t->set_dtype(v1::DTYPE_FLOAT32);
    t->add_shape(static_cast<int64_t>(obs.size()));
    t->set_data(obs.data(), sizeof(float) * obs.size());
  }
};

class RemoteEnvTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.started()); }

  std::string Id(const std::string& env, const std::string& query = "") const {
    return absl::StrCat("remote://", server_.address(), env.empty() ? "" : "/", env,
                        query.empty() ? "" : "?", query);
  }

  static RemoteEnvOptions Quick() {
    RemoteEnvOptions o;
    o.connect_timeout = absl::Seconds(2);
    o.request_timeout = absl::Seconds(10);
    return o;
  }

  FakeEnvService service_;
  testing::LoopbackServer server_{&service_};
};

TEST(RemoteEnvIdTest, ParsesTargetEnvIdAndOptions) {
  absl::StatusOr<RemoteEnvAddress> a =
      ParseRemoteEnvId("remote://127.0.0.1:50061/ALE/Pong-v5?frameskip=4&mode=a%3Db%26c");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->target, "127.0.0.1:50061");
  EXPECT_EQ(a->env_id, "ALE/Pong-v5");
  EXPECT_EQ(a->options.size(), 2u);
  EXPECT_EQ(a->options.at("frameskip"), "4");
  EXPECT_EQ(a->options.at("mode"), "a=b&c");

  a = ParseRemoteEnvId("remote://[::1]:7");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->target, "[::1]:7");
  EXPECT_EQ(a->env_id, "");
  EXPECT_TRUE(a->options.empty());

  EXPECT_TRUE(IsRemoteEnvId("remote://x"));
  EXPECT_FALSE(IsRemoteEnvId("CartPole-v1"));
}

TEST(RemoteEnvIdTest, RejectsMalformedIds) {
  for (const char* bad :
       {"remote://", "remote://host", "remote://host:0", "remote://host:70000", "remote://:5",
        "remote://::1:5", "remote://h:5?novalue", "remote://h:5?a=1&a=2", "remote://h:5/%zz",
        "CartPole-v1"}) {
    EXPECT_THAT(ParseRemoteEnvId(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("remote://HOST:PORT")))
        << bad;
  }
}

TEST_F(RemoteEnvTest, HandshakeGivesTheServersSpecUnderTheRemoteId) {
  for (const std::string& local : {std::string("CartPole-v1"), std::string("Pendulum-v1")}) {
    absl::StatusOr<EnvSpec> spec = GetEnvSpec(Id(local));
    ASSERT_TRUE(spec.ok()) << spec.status();
    const EnvSpec want = *GetEnvSpec(local);
    EXPECT_EQ(spec->id, Id(local));
    EXPECT_EQ(spec->observation_space.DebugString(), want.observation_space.DebugString());
    EXPECT_EQ(spec->action_space.DebugString(), want.action_space.DebugString());
    EXPECT_EQ(spec->max_episode_steps, want.max_episode_steps);
    EXPECT_EQ(spec->has_reward_threshold, want.has_reward_threshold);
    EXPECT_EQ(spec->reward_threshold, want.reward_threshold);
    EXPECT_EQ(spec->state_dim, 0);
  }
  auto env = RemoteEnv::Connect(Id(""), Quick());  // the server's default env
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ((*env)->server_name(), "fake");
  EXPECT_EQ((*env)->spec().action_space.n, 2);
}

// Seeded resets and any actions, out-of-bounds ones included, give exactly
// the local env's floats, rewards and flags, across episode boundaries.
TEST_F(RemoteEnvTest, StepsMatchTheLocalEnvBitForBit) {
  for (const std::string& id : {std::string("CartPole-v1"), std::string("Pendulum-v1"),
                                std::string("MountainCarContinuous-v0")}) {
    SCOPED_TRACE(id);
    auto remote = MakeEnv(Id(id));
    ASSERT_TRUE(remote.ok()) << remote.status();
    std::unique_ptr<Env> local = *MakeEnv(id);
    const EnvSpec& spec = local->spec();
    (*remote)->Seed(11);
    local->Seed(11);
    std::vector<float> lo(spec.obs_dim()), ro(spec.obs_dim()), a(spec.action_dim());
    local->Reset(lo.data());
    (*remote)->Reset(ro.data());
    ASSERT_EQ(std::memcmp(lo.data(), ro.data(), sizeof(float) * lo.size()), 0);
    Rng rng(3);
    int episodes = 0;
    for (int t = 0; t < 700; ++t) {
      for (float& v : a) {
        v = spec.action_space.is_discrete() ? static_cast<float>(rng.UniformInt(2))
                                            : static_cast<float>(rng.Uniform(-3.0, 3.0));
      }
      const StepResult l = local->Step(a.data(), lo.data());
      const StepResult r = (*remote)->Step(a.data(), ro.data());
      ASSERT_EQ(std::memcmp(lo.data(), ro.data(), sizeof(float) * lo.size()), 0) << "t=" << t;
      ASSERT_EQ(l.reward, r.reward) << "t=" << t;
      ASSERT_EQ(l.terminated, r.terminated) << "t=" << t;
      ASSERT_EQ(l.truncated, r.truncated) << "t=" << t;
      if (l.terminated || l.truncated) {
        ++episodes;
        local->Reset(lo.data());
        (*remote)->Reset(ro.data());  // no seed: both continue their RNG
        ASSERT_EQ(std::memcmp(lo.data(), ro.data(), sizeof(float) * lo.size()), 0);
      }
    }
    // CartPole terminates and Pendulum truncates (200) within 700 steps.
    if (id != "MountainCarContinuous-v0") {
      EXPECT_GE(episodes, 1);
    }
    EXPECT_TRUE((*remote)->status().ok()) << (*remote)->status();
  }
}

TEST_F(RemoteEnvTest, VectorEnvOverRemoteEnvsMatchesLocalVectorEnv) {
  auto remote = VectorEnv::Create(Id("CartPole-v1"), 3, 5);
  ASSERT_TRUE(remote.ok()) << remote.status();
  auto local = *VectorEnv::Create("CartPole-v1", 3, 5);
  EXPECT_EQ((*remote)->spec().id, Id("CartPole-v1"));
  // The fake server predates batched sessions: one single-env session per
  // column, found without being told.
  EXPECT_EQ((*remote)->batched_sessions(), 0);
  Rng rng(1);
  std::vector<float> actions(3);
  for (int t = 0; t < 300; ++t) {
    for (float& a : actions) a = static_cast<float>(rng.UniformInt(2));
    local->Step(actions.data());
    (*remote)->Step(actions.data());
    ASSERT_TRUE(std::equal(local->obs().begin(), local->obs().end(), (*remote)->obs().begin()));
    ASSERT_TRUE(std::equal(local->final_obs().begin(), local->final_obs().end(),
                           (*remote)->final_obs().begin()));
    ASSERT_TRUE(std::equal(local->terminated().begin(), local->terminated().end(),
                           (*remote)->terminated().begin()));
  }
  EXPECT_TRUE((*remote)->status().ok());
}

TEST_F(RemoteEnvTest, ABatchFromAServerWithoutBatchesIsUnimplemented) {
  EXPECT_THAT(RemoteEnvBatch::Connect(Id("CartPole-v1"), 4).status(),
              StatusIs(absl::StatusCode::kUnimplemented,
                       HasSubstr("does not serve batched sessions (asked for 4 env columns")));
  EXPECT_THAT(RemoteEnvBatch::Connect(Id("CartPole-v1"), 0).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_envs in [1, 65536]")));
  VectorEnvOptions bad;
  bad.remote_columns_per_session = -1;
  EXPECT_THAT(VectorEnv::Create(Id("CartPole-v1"), 2, 1, bad).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be >= 0, got -1")));
  ActorClient::Options options;
  options.learner_address = "127.0.0.1:1";
  options.remote_env_columns = -2;
  EXPECT_THAT(options.Validate(), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("--remote-env-columns must be in [-1")));
}

TEST_F(RemoteEnvTest, DestroyingTheEnvClosesTheSessionCleanly) {
  {
    auto env = RemoteEnv::Connect(Id("CartPole-v1"), Quick());
    ASSERT_TRUE(env.ok()) << env.status();
    std::vector<float> obs(4);
    (*env)->Reset(obs.data());
  }
  // The destructor waited for the server's OK, which follows the handler's
  // count of a half-close.
  EXPECT_EQ(service_.sessions_closed_by_client.load(), 1);
}

TEST_F(RemoteEnvTest, UnreachableServerIsUnavailableAndNamesIt) {
  const std::string id = Id("CartPole-v1");
  server_.Shutdown();
  RemoteEnvOptions o = Quick();
  o.connect_timeout = absl::Milliseconds(300);
  EXPECT_THAT(RemoteEnv::Connect(id, o),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(server_.address())));
}

TEST_F(RemoteEnvTest, ServerStatusesKeepTheirCode) {
  EXPECT_THAT(RemoteEnv::Connect(Id("Nope-v0"), Quick()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("Nope-v0")));
  EXPECT_THAT(RemoteEnv::Connect(Id("CartPole-v1", "fault=bad_version"), Quick()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("protocol version 7")));
  EXPECT_THAT(RemoteEnv::Connect(Id("CartPole-v1", "fault=discrete_obs"), Quick()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("observation_space")));
}

TEST_F(RemoteEnvTest, ProtocolViolationsEndTheEnvWithZeroObservations) {
  for (const std::string fault : {"wrong_kind", "short_obs", "nan_reward"}) {
    SCOPED_TRACE(fault);
    auto env = RemoteEnv::Connect(Id("CartPole-v1", "fault=" + fault), Quick());
    ASSERT_TRUE(env.ok()) << env.status();
    std::vector<float> obs(4);
    (*env)->Reset(obs.data());
    ASSERT_TRUE((*env)->status().ok());
    const float action = 1;
    StepResult r = (*env)->Step(&action, obs.data());
    EXPECT_TRUE(r.terminated);
    EXPECT_EQ(obs, std::vector<float>(4, 0.0f));
    EXPECT_THAT((*env)->status(),
                StatusIs(absl::StatusCode::kInternal, HasSubstr("protocol error")));
    EXPECT_THAT((*env)->status(), StatusIs(absl::StatusCode::kInternal, HasSubstr(Id("CartPole-v1"))));
    // Failed for good: later calls answer at once and keep the first error.
    const absl::Status first = (*env)->status();
    r = (*env)->Step(&action, obs.data());
    EXPECT_TRUE(r.terminated);
    (*env)->Reset(obs.data());
    EXPECT_EQ((*env)->status(), first);
  }
}

TEST_F(RemoteEnvTest, ServerAbortAndSilenceBecomeErrors) {
  std::vector<float> obs(4);
  const float action = 0;
  auto aborting = RemoteEnv::Connect(Id("CartPole-v1", "fault=abort"), Quick());
  ASSERT_TRUE(aborting.ok()) << aborting.status();
  (*aborting)->Reset(obs.data());
  EXPECT_TRUE((*aborting)->Step(&action, obs.data()).terminated);
  EXPECT_THAT((*aborting)->status(), StatusIs(absl::StatusCode::kInternal, HasSubstr("boom")));

  RemoteEnvOptions o = Quick();
  o.request_timeout = absl::Milliseconds(200);
  auto silent = RemoteEnv::Connect(Id("CartPole-v1", "fault=hang"), o);
  ASSERT_TRUE(silent.ok()) << silent.status();
  (*silent)->Reset(obs.data());
  EXPECT_TRUE((*silent)->Step(&action, obs.data()).terminated);
  EXPECT_THAT((*silent)->status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("no reply within")));
}

TEST_F(RemoteEnvTest, VectorEnvReportsAFailedRemoteEnv) {
  auto v = VectorEnv::Create(Id("CartPole-v1", "fault=abort"), 2, 1);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE((*v)->status().ok());
  const std::vector<float> actions = {0, 1};
  (*v)->Step(actions.data());
  EXPECT_THAT((*v)->status(), StatusIs(absl::StatusCode::kInternal, HasSubstr("boom")));
  EXPECT_THAT(VectorEnv::Create(Id("Nope-v0"), 2, 1).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("Nope-v0")));
}

TEST_F(RemoteEnvTest, StateHooksAreUnimplemented) {
  auto env = RemoteEnv::Connect(Id("CartPole-v1"), Quick());
  ASSERT_TRUE(env.ok()) << env.status();
  const double state[4] = {0, 0, 0, 0};
  EXPECT_THAT((*env)->SetState(state), StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("test hook")));
}

}  // namespace
}  // namespace proxima

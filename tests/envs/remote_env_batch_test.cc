// RemoteEnvBatch and VectorEnv's batched path (common/envs/remote_env_batch.h,
// vector_env.h) against an in-process fake Env server that serves batched
// sessions of a counting env, so every reply is known: column c's episode
// lasts g + 2 steps, where g = c + max(0, seed - 1) for a session whose
// batch_reset carried `seed` (VectorEnv seeded 1 sends 1 + its first column:
// g is the VectorEnv column); its observation is {episode, step}, its reward
// the step. The remote id's option "fault" breaks one reply:
//   nan_reward   column 1's reward NaN
//   bad_flag     column 0's terminated byte 2
//   few_finals   final_observations one row short
//   short_rows   observations one row short
//   wrong_kind   a batch_reset reply to batch_step
//   no_limit     never ends an episode (the spec's time limit is 3)
//   no_batches   answers the hello with num_envs 0 (a server from before)
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/envs/remote_env_batch.h"
#include "common/envs/vector_env.h"
#include "gtest/gtest.h"
#include "proxima/v1/env_service.grpc.pb.h"
#include "proxima/v1/learner_service.pb.h"
#include "tests/support/loopback_server.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::HasSubstr;

void SetTensor(v1::DType dtype, std::vector<int64_t> shape, const void* data, size_t bytes,
               v1::TensorProto* t) {
  t->set_dtype(dtype);
  for (int64_t d : shape) t->add_shape(d);
  t->set_data(data, bytes);
}

class FakeBatchService final : public v1::Env::Service {
 public:
  grpc::Status Session(grpc::ServerContext*,
                       grpc::ServerReaderWriter<v1::EnvResponse, v1::EnvRequest>* stream) override {
    v1::EnvRequest request;
    if (!stream->Read(&request) || !request.has_hello()) return grpc::Status::OK;
    const auto it = request.hello().env_options().find("fault");
    const std::string fault = it == request.hello().env_options().end() ? "" : it->second;
    const int n = static_cast<int>(request.hello().num_envs());
    v1::EnvResponse response;
    v1::EnvHandshakeResponse* hello = response.mutable_hello();
    hello->set_protocol_version(v1::PROTOCOL_VERSION_1);
    hello->set_num_envs(fault == "no_batches" ? 0 : n);
    v1::EnvSpec* spec = hello->mutable_spec();
    v1::BoxSpace* obs_box = spec->mutable_observation_space()->mutable_box();
    obs_box->add_shape(2);
    obs_box->set_dtype(v1::DTYPE_FLOAT32);
    for (int i = 0; i < 2; ++i) {
      obs_box->add_low(-1e6f);
      obs_box->add_high(1e6f);
    }
    spec->mutable_action_space()->mutable_discrete()->set_n(2);
    spec->set_max_episode_steps(fault == "no_limit" ? 3 : 0);
    if (!stream->Write(response)) return grpc::Status::OK;
    std::vector<float> episode(n, 0.0f), step(n, 0.0f);
    int offset = 0;  // g - c
    while (stream->Read(&request)) {
      response.Clear();
      std::vector<float> obs, finals;
      if (request.has_batch_reset()) {
        if (request.batch_reset().has_seed()) {
          offset = std::max(0, static_cast<int>(request.batch_reset().seed()) - 1);
        }
        for (int c = 0; c < n; ++c) {
          step[c] = 0;
          obs.insert(obs.end(), {episode[c], 0.0f});
        }
        SetTensor(v1::DTYPE_FLOAT32, {n, 2}, obs.data(), 4 * obs.size(),
                  response.mutable_batch_reset()->mutable_observations());
      } else if (request.has_batch_step()) {
        std::vector<double> rewards(n);
        std::vector<uint8_t> terminated(n, 0), truncated(n, 0);
        for (int c = 0; c < n; ++c) {
          rewards[c] = ++step[c];
          if (fault != "no_limit" && step[c] == offset + c + 2) {
            terminated[c] = 1;
            finals.insert(finals.end(), {episode[c], step[c]});
            episode[c] += 1;
            step[c] = 0;
          }
          obs.insert(obs.end(), {episode[c], step[c]});
        }
        if (fault == "nan_reward" && n > 1) rewards[1] = std::nan("");
        if (fault == "bad_flag") terminated[0] = 2;
        const int rows = n - (fault == "short_rows" ? 1 : 0);
        const bool drop_final = fault == "few_finals" && !finals.empty();
        const int64_t k = static_cast<int64_t>(finals.size() / 2) - (drop_final ? 1 : 0);
        v1::EnvBatchStepResponse* out = fault == "wrong_kind"
                                            ? nullptr
                                            : response.mutable_batch_step();
        if (out == nullptr) {
          SetTensor(v1::DTYPE_FLOAT32, {n, 2}, obs.data(), 4 * obs.size(),
                    response.mutable_batch_reset()->mutable_observations());
        } else {
          SetTensor(v1::DTYPE_FLOAT32, {rows, 2}, obs.data(), 8 * rows, out->mutable_observations());
          SetTensor(v1::DTYPE_FLOAT64, {n}, rewards.data(), 8 * n, out->mutable_rewards());
          SetTensor(v1::DTYPE_BOOL, {n}, terminated.data(), n, out->mutable_terminated());
          SetTensor(v1::DTYPE_BOOL, {n}, truncated.data(), n, out->mutable_truncated());
          if (k > 0 || drop_final) {
            SetTensor(v1::DTYPE_FLOAT32, {k, 2}, finals.data(), 8 * k,
                      out->mutable_final_observations());
          }
        }
      }
      if (!stream->Write(response)) return grpc::Status::OK;
    }
    return grpc::Status::OK;
  }
};

class RemoteEnvBatchTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.started()); }
  std::string Id(const std::string& fault = "") const {
    return absl::StrCat("remote://", server_.address(), "/Count-v0",
                        fault.empty() ? "" : "?fault=", fault);
  }

  FakeBatchService service_;
  testing::LoopbackServer server_{&service_};
};

TEST_F(RemoteEnvBatchTest, SameStepAutoResetFillsObsAndFinalObs) {
  auto batch = RemoteEnvBatch::Connect(Id(), 3);
  ASSERT_TRUE(batch.ok()) << batch.status();
  std::vector<float> obs(6), final_obs(6);
  std::vector<StepResult> r(3);
  (*batch)->Reset(obs.data());
  EXPECT_EQ(obs, std::vector<float>({0, 0, 0, 0, 0, 0}));
  const std::vector<float> actions = {0, 1, 1};
  (*batch)->Step(actions.data(), obs.data(), final_obs.data(), r.data());
  (*batch)->Step(actions.data(), obs.data(), final_obs.data(), r.data());
  ASSERT_TRUE((*batch)->status().ok()) << (*batch)->status();
  // Column 0 ended at step 2: final row {0, 2}, next episode {1, 0}.
  EXPECT_EQ(final_obs, std::vector<float>({0, 2, 0, 2, 0, 2}));
  EXPECT_EQ(obs, std::vector<float>({1, 0, 0, 2, 0, 2}));
  EXPECT_TRUE(r[0].terminated);
  EXPECT_FALSE(r[1].terminated);
  EXPECT_EQ(r[2].reward, 2.0);
  EXPECT_EQ((*batch)->elapsed_steps(0), 0);
  EXPECT_EQ((*batch)->elapsed_steps(1), 2);
}

TEST_F(RemoteEnvBatchTest, VectorEnvSessionsAndThreadsGiveTheSameColumns) {
  VectorEnvOptions pairs;
  pairs.remote_columns_per_session = 2;
  auto one = VectorEnv::Create(Id(), 5, 1);
  auto three = VectorEnv::Create(Id(), 5, 1, pairs);
  ASSERT_TRUE(one.ok() && three.ok());
  EXPECT_EQ((*one)->batched_sessions(), 1);
  EXPECT_EQ((*three)->batched_sessions(), 3);
  ASSERT_TRUE((*three)->SetThreads(2).ok());
  const std::vector<float> actions(5, 1.0f);
  std::vector<EpisodeStat> a, b;
  for (int t = 0; t < 12; ++t) {
    (*one)->Step(actions.data());
    (*three)->Step(actions.data());
    ASSERT_TRUE(std::equal((*one)->obs().begin(), (*one)->obs().end(), (*three)->obs().begin()));
    ASSERT_TRUE(std::equal((*one)->final_obs().begin(), (*one)->final_obs().end(),
                           (*three)->final_obs().begin()));
  }
  (*one)->TakeFinishedEpisodes(&a);
  (*three)->TakeFinishedEpisodes(&b);
  // Column c finishes an episode of c + 2 steps every c + 2 steps: 6+4+3+2+2.
  ASSERT_EQ(a.size(), 17u);
  ASSERT_EQ(b.size(), 17u);
  for (const EpisodeStat& e : a) {
    EXPECT_EQ(e.length, e.env_index + 2);
    EXPECT_EQ(e.episode_return, (e.length * (e.length + 1)) / 2);
  }
  EXPECT_THAT((*one)->RestoreState({}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("lives in its server")));
}

TEST_F(RemoteEnvBatchTest, BrokenRepliesEndTheBatchWithAProtocolError) {
  const std::vector<std::pair<std::string, std::string>> faults = {
      {"nan_reward", "non-finite reward (nan) for column 1"},
      {"bad_flag", "flags of column 0 are not 0 or 1"},
      {"few_finals", "final_observations must be a DTYPE_FLOAT32 tensor of shape [1, 2]"},
      {"short_rows", "observations must be a DTYPE_FLOAT32 tensor of shape [3, 2]"},
      {"wrong_kind", "answered a batch_step with batch_reset"},
      {"no_limit", "column 0 reached max_episode_steps = 3 but the server did not end"}};
  for (const auto& [fault, text] : faults) {
    SCOPED_TRACE(fault);
    auto batch = RemoteEnvBatch::Connect(Id(fault), 3);
    ASSERT_TRUE(batch.ok()) << batch.status();
    std::vector<float> obs(6), final_obs(6);
    std::vector<StepResult> r(3);
    (*batch)->Reset(obs.data());
    const std::vector<float> actions(3, 0.0f);
    for (int t = 0; t < 3 && (*batch)->status().ok(); ++t) {
      (*batch)->Step(actions.data(), obs.data(), final_obs.data(), r.data());
    }
    EXPECT_THAT((*batch)->status(), StatusIs(absl::StatusCode::kInternal, HasSubstr(text)));
    EXPECT_THAT((*batch)->status().message(), HasSubstr(Id(fault)));
    EXPECT_EQ(obs, std::vector<float>(6, 0.0f));
    for (const StepResult& x : r) EXPECT_TRUE(x.terminated);
  }
}

TEST_F(RemoteEnvBatchTest, AServerWithoutBatchesIsUnimplemented) {
  EXPECT_THAT(RemoteEnvBatch::Connect(Id("no_batches"), 2).status(),
              StatusIs(absl::StatusCode::kUnimplemented,
                       HasSubstr("handshake says num_envs 0")));
}

}  // namespace
}  // namespace proxima

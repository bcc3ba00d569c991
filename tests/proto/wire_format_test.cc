// Round trips of representative proxima.v1 messages: a discrete and a
// continuous TrajectoryChunk, a WeightSnapshot, a LearnerStatus, a
// RegisterResponse and an Env session exchange. Checks that tensors decode
// with one memcpy, obey the size rule, and cost little beyond their payload,
// and that a field from the prototype band survives an upstream peer.
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "common/wire/chunk_codec.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "proxima/v1/config.pb.h"
#include "proxima/v1/env_service.pb.h"
#include "proxima/v1/learner_service.pb.h"
#include "proxima/v1/status.pb.h"
#include "proxima/v1/tensor.pb.h"
#include "proxima/v1/trajectory.pb.h"
#include "proxima/v1/weights.pb.h"
#include "tests/proto/reference_snapshot.h"

namespace proxima {
namespace {

using google::protobuf::util::MessageDifferencer;
using google::protobuf::util::TimeUtil;

// The validation rule of tensor.proto (without the overflow guard, which the
// small shapes here do not need).
bool SatisfiesSizeRule(const v1::TensorProto& t) {
  const int64_t size = static_cast<int64_t>(DTypeSize(t.dtype()));  // common/wire/chunk_codec.h
  if (size == 0) return false;
  int64_t n = 1;
  for (int64_t d : t.shape()) {
    if (d < 0) return false;
    n *= d;
  }
  return static_cast<int64_t>(t.data().size()) == n * size;
}

template <typename T>
v1::TensorProto MakeTensor(v1::DType dtype, std::vector<int64_t> shape,
                           const std::vector<T>& values) {
  v1::TensorProto t;
  t.set_dtype(dtype);
  for (int64_t d : shape) t.add_shape(d);
  t.set_data(values.data(), values.size() * sizeof(T));
  return t;
}

// The receiver's side: one memcpy into a preallocated buffer.
template <typename T>
std::vector<T> Decode(const v1::TensorProto& t) {
  std::vector<T> out(t.data().size() / sizeof(T));
  std::memcpy(out.data(), t.data().data(), t.data().size());
  return out;
}

std::vector<float> Iota(size_t n, float start, float step) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = start + step * static_cast<float>(i);
  return v;
}

template <typename M>
M RoundTrip(const M& in) {
  std::string wire;
  EXPECT_TRUE(in.SerializeToString(&wire));
  M out;
  EXPECT_TRUE(out.ParseFromString(wire));
  return out;
}

constexpr int kT = 4;
constexpr int kE = 2;
constexpr int kObsDim = 3;

// T=4, E=2: column 1 is truncated at t=1 and terminated at t=3.
v1::TrajectoryChunk MakeDiscreteChunk() {
  v1::TrajectoryChunk c;
  c.set_actor_id(3);
  c.set_session_id(0x9e3779b97f4a7c15ULL);
  c.set_seq(12);
  c.set_policy_version(41);
  c.set_num_steps(kT);
  c.set_num_envs(kE);
  *c.mutable_observations() = MakeTensor(
      v1::DTYPE_FLOAT32, {kT, kE, kObsDim}, Iota(kT * kE * kObsDim, -1.f, .1f));
  *c.mutable_actions() = MakeTensor(v1::DTYPE_INT64, {kT, kE},
                                    std::vector<int64_t>{0, 1, 1, 0, 0, 0, 1, 1});
  *c.mutable_behaviour_log_probs() = MakeTensor(
      v1::DTYPE_FLOAT32, {kT, kE}, Iota(kT * kE, -0.7f, 0.01f));
  *c.mutable_rewards() =
      MakeTensor(v1::DTYPE_FLOAT32, {kT, kE}, std::vector<float>(kT * kE, 1.f));
  *c.mutable_terminated() = MakeTensor(
      v1::DTYPE_UINT8, {kT, kE}, std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 1});
  *c.mutable_truncated() = MakeTensor(
      v1::DTYPE_UINT8, {kT, kE}, std::vector<uint8_t>{0, 0, 0, 1, 0, 0, 0, 0});
  *c.mutable_bootstrap_observations() = MakeTensor(
      v1::DTYPE_FLOAT32, {kE, kObsDim}, Iota(kE * kObsDim, 2.f, .5f));
  v1::TruncatedObservation* tr = c.add_truncated_observations();
  tr->set_step(1);
  tr->set_env(1);
  for (float x : {0.1f, 0.2f, 0.3f}) tr->add_observation(x);
  v1::EpisodeSummary* ep = c.add_episodes();
  ep->set_step(1);
  ep->set_env(1);
  ep->set_episode_return(500.0);
  ep->set_episode_length(500);
  ep->set_truncated(true);
  ep = c.add_episodes();
  ep->set_step(3);
  ep->set_env(1);
  ep->set_episode_return(2.0);
  ep->set_episode_length(2);
  c.set_rollout_seconds(0.25f);
  return c;
}

TEST(WireFormatTest, DiscreteChunkRoundTrips) {
  const v1::TrajectoryChunk in = MakeDiscreteChunk();
  const v1::TrajectoryChunk out = RoundTrip(in);
  EXPECT_TRUE(MessageDifferencer::Equals(in, out));

  for (const v1::TensorProto* t :
       {&out.observations(), &out.actions(), &out.behaviour_log_probs(),
        &out.rewards(), &out.terminated(), &out.truncated(),
        &out.bootstrap_observations()}) {
    EXPECT_TRUE(SatisfiesSizeRule(*t)) << t->ShortDebugString();
  }
  EXPECT_EQ(Decode<float>(out.observations()),
            Iota(kT * kE * kObsDim, -1.f, .1f));
  EXPECT_EQ(Decode<int64_t>(out.actions()),
            (std::vector<int64_t>{0, 1, 1, 0, 0, 0, 1, 1}));
  EXPECT_EQ(out.observations().shape(2), kObsDim);
  EXPECT_EQ(out.truncated_observations(0).observation_size(), kObsDim);
  EXPECT_EQ(out.episodes_size(), 2);
  EXPECT_FALSE(out.final());
}

TEST(WireFormatTest, ContinuousFinalChunkRoundTrips) {
  constexpr int kAct = 2;
  constexpr int kPartialT = 1;
  v1::TrajectoryChunk in;
  in.set_actor_id(0);
  in.set_session_id(7);
  in.set_seq(0);
  in.set_num_steps(kPartialT);
  in.set_num_envs(kE);
  *in.mutable_observations() =
      MakeTensor(v1::DTYPE_FLOAT32, {kPartialT, kE, kObsDim},
                 Iota(kPartialT * kE * kObsDim, 0.f, 1.f));
  // Unclipped Gaussian samples, outside a [-2, 2] box on purpose.
  *in.mutable_actions() = MakeTensor(v1::DTYPE_FLOAT32, {kPartialT, kE, kAct},
                                     std::vector<float>{-3.5f, 0.f, 1.f, 2.5f});
  *in.mutable_behaviour_log_probs() = MakeTensor(
      v1::DTYPE_FLOAT32, {kPartialT, kE}, std::vector<float>{-1.f, -2.f});
  in.set_final(true);
  const v1::TrajectoryChunk out = RoundTrip(in);
  EXPECT_TRUE(MessageDifferencer::Equals(in, out));
  EXPECT_TRUE(out.final());
  EXPECT_TRUE(SatisfiesSizeRule(out.actions()));
  EXPECT_EQ(Decode<float>(out.actions())[0], -3.5f);
}

TEST(WireFormatTest, ChunkCostsLittleBeyondItsPayload) {
  // A realistic chunk: T=128, E=8, obs_dim=4 (CartPole).
  constexpr int kBigT = 128, kBigE = 8, kDim = 4;
  v1::TrajectoryChunk c;
  c.set_num_steps(kBigT);
  c.set_num_envs(kBigE);
  *c.mutable_observations() =
      MakeTensor(v1::DTYPE_FLOAT32, {kBigT, kBigE, kDim},
                 Iota(kBigT * kBigE * kDim, 0.f, 1e-3f));
  *c.mutable_actions() = MakeTensor(v1::DTYPE_INT64, {kBigT, kBigE},
                                    std::vector<int64_t>(kBigT * kBigE, 1));
  for (auto* t : {c.mutable_behaviour_log_probs(), c.mutable_rewards()}) {
    *t = MakeTensor(v1::DTYPE_FLOAT32, {kBigT, kBigE},
                    std::vector<float>(kBigT * kBigE, -0.5f));
  }
  for (auto* t : {c.mutable_terminated(), c.mutable_truncated()}) {
    *t = MakeTensor(v1::DTYPE_UINT8, {kBigT, kBigE},
                    std::vector<uint8_t>(kBigT * kBigE, 0));
  }
  size_t payload = 0;
  for (const v1::TensorProto* t :
       {&c.observations(), &c.actions(), &c.behaviour_log_probs(),
        &c.rewards(), &c.terminated(), &c.truncated()}) {
    payload += t->data().size();
  }
  EXPECT_LT(c.ByteSizeLong() - payload, 128u) << "framing overhead";
}

// The proto tests' reference snapshot, with the fields a publisher adds.
v1::WeightSnapshot MakeSnapshot() {
  v1::WeightSnapshot s = ::proxima::testing::ReferenceSnapshot();
  s.set_checksum(0x0123456789abcdefULL);
  s.set_checksum_algorithm(v1::CHECKSUM_ALGORITHM_FNV1A64_CANONICAL);
  *s.mutable_published_at() = TimeUtil::SecondsToTimestamp(1700000000);
  s.set_env_steps(123456);
  return s;
}

TEST(WireFormatTest, WeightSnapshotRoundTrips) {
  const v1::WeightSnapshot in = MakeSnapshot();
  const v1::WeightSnapshot out = RoundTrip(in);
  EXPECT_TRUE(MessageDifferencer::Equals(in, out));
  ASSERT_EQ(out.tensors_size(), 2);
  EXPECT_EQ(out.tensors(0).name(), "actor.0.weight");
  EXPECT_TRUE(SatisfiesSizeRule(out.tensors(0).tensor()));
  EXPECT_EQ(Decode<float>(out.tensors(1).tensor()),
            (std::vector<float>{0.25f, -0.25f}));
  EXPECT_EQ(out.obs_normalizer().mean_size(), kObsDim);
  EXPECT_EQ(out.checksum(), 0x0123456789abcdefULL);
}

TEST(WireFormatTest, LearnerStatusRoundTripsAndStatesTheInvariant) {
  v1::LearnerStatus in;
  in.set_policy_version(42);
  in.set_env_steps(42 * 1024);
  in.set_updates(42);
  in.set_mean_episode_return(187.5);
  in.set_actors_connected(1);
  v1::ActorInfo* a = in.add_actors();
  a->set_actor_id(0);
  a->set_name("actor-0");
  a->set_session_id(0xfeedULL);
  a->set_state(v1::ACTOR_STATE_CONNECTED);
  *a->mutable_last_seen() = TimeUtil::MillisecondsToTimestamp(1700000000123);
  a->set_lag(1);
  a->set_chunks(50);
  in.set_chunks_received(50);
  in.set_chunks_trained(42);
  in.set_chunks_queued(5);
  v1::DropCount* d = in.add_chunks_dropped();
  d->set_reason(v1::CHUNK_OUTCOME_DUPLICATE);
  d->set_chunks(2);
  d = in.add_chunks_dropped();
  d->set_reason(v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG);
  d->set_chunks(1);
  (*in.mutable_hyperparameters())["learning_rate"] = "0.0003";
  in.mutable_last_checkpoint()->set_path("/runs/x/checkpoints/ckpt-40.pt");
  in.mutable_last_checkpoint()->set_policy_version(40);
  in.set_mode(v1::TRAINING_MODE_ASYNC);
  in.set_device("cpu");
  in.set_serving_state(v1::SERVING_STATE_SERVING);
  *in.mutable_uptime() = TimeUtil::SecondsToDuration(90);
  in.mutable_last_update()->set_update(42);

  const v1::LearnerStatus out = RoundTrip(in);
  EXPECT_TRUE(MessageDifferencer::Equals(in, out));
  uint64_t dropped = 0;
  for (const v1::DropCount& dc : out.chunks_dropped()) dropped += dc.chunks();
  EXPECT_EQ(out.chunks_received(),
            out.chunks_trained() + dropped + out.chunks_queued());
  EXPECT_EQ(out.hyperparameters().at("learning_rate"), "0.0003");
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(out.actors(0).last_seen()),
            1700000000123);
}

TEST(WireFormatTest, RegisterResponseCarriesTheRunConfig) {
  v1::RegisterResponse in;
  in.set_actor_id(2);
  in.set_session_id(0xabcdef0123456789ULL);
  in.set_protocol_version(v1::PROTOCOL_VERSION_1);
  in.set_policy_version(7);
  v1::RunConfig* cfg = in.mutable_config();
  cfg->set_env_id("Pendulum-v1");
  v1::BoxSpace* obs = cfg->mutable_env_spec()
                          ->mutable_observation_space()
                          ->mutable_box();
  obs->add_shape(3);
  obs->set_dtype(v1::DTYPE_FLOAT32);
  for (float x : {-1.f, -1.f, -8.f}) obs->add_low(x);
  for (float x : {1.f, 1.f, 8.f}) obs->add_high(x);
  cfg->mutable_env_spec()->set_max_episode_steps(200);
  v1::ModelSpec* model = cfg->mutable_model();
  model->add_hidden_sizes(64);
  model->add_hidden_sizes(64);
  model->set_activation(v1::ACTIVATION_TANH);
  model->set_trunk(v1::TRUNK_KIND_SEPARATE);
  model->set_action_distribution(v1::ACTION_DISTRIBUTION_DIAGONAL_GAUSSIAN);
  model->set_obs_dim(3);
  model->set_action_dim(1);
  cfg->set_rollout_length(128);
  cfg->set_num_envs(8);
  cfg->mutable_seeds()->set_run_seed(1);
  cfg->mutable_seeds()->set_env_seed_base(1 + 2 * 65536);
  cfg->set_mode(v1::TRAINING_MODE_SYNC);
  cfg->mutable_channel()->set_max_message_bytes(64 << 20);
  *cfg->mutable_channel()->mutable_keepalive_time() =
      TimeUtil::SecondsToDuration(10);

  const v1::RegisterResponse out = RoundTrip(in);
  EXPECT_TRUE(MessageDifferencer::Equals(in, out));
  EXPECT_TRUE(out.config().env_spec().observation_space().has_box());
  EXPECT_FALSE(out.config().env_spec().has_reward_threshold());
  EXPECT_EQ(out.config().model().hidden_sizes_size(), 2);
}

TEST(WireFormatTest, EnvSessionMessagesRoundTrip) {
  v1::EnvResponse hello;
  v1::EnvSpec* spec = hello.mutable_hello()->mutable_spec();
  spec->set_id("CartPole-v1");
  spec->mutable_action_space()->mutable_discrete()->set_n(2);
  spec->set_reward_threshold(475.0);
  hello.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_1);
  v1::EnvResponse hello_out = RoundTrip(hello);
  ASSERT_EQ(hello_out.kind_case(), v1::EnvResponse::kHello);
  EXPECT_EQ(hello_out.hello().spec().action_space().kind_case(),
            v1::Space::kDiscrete);
  EXPECT_TRUE(hello_out.hello().spec().has_reward_threshold());

  v1::EnvRequest reset;
  reset.mutable_reset()->set_seed(0);  // seed 0 is a seed, not "absent"
  v1::EnvRequest reset_out = RoundTrip(reset);
  ASSERT_EQ(reset_out.kind_case(), v1::EnvRequest::kReset);
  EXPECT_TRUE(reset_out.reset().has_seed());

  v1::EnvRequest step;
  *step.mutable_step()->mutable_action() =
      MakeTensor(v1::DTYPE_INT64, {}, std::vector<int64_t>{1});
  v1::EnvRequest step_out = RoundTrip(step);
  ASSERT_EQ(step_out.kind_case(), v1::EnvRequest::kStep);
  EXPECT_TRUE(SatisfiesSizeRule(step_out.step().action()));  // scalar: 1 elem

  v1::EnvResponse result;
  *result.mutable_step()->mutable_observation() = MakeTensor(
      v1::DTYPE_FLOAT32, {4}, std::vector<float>{0.f, 0.1f, 0.f, -0.1f});
  result.mutable_step()->set_reward(1.0);
  result.mutable_step()->set_truncated(true);
  EXPECT_TRUE(MessageDifferencer::Equals(result, RoundTrip(result)));
}

TEST(WireFormatTest, PrototypeBandFieldSurvivesAnUpstreamPeer) {
  // A prototype build writes field 900 (varint 5) after a normal chunk.
  v1::TrajectoryChunk chunk;
  chunk.set_seq(3);
  std::string wire = chunk.SerializeAsString();
  // Tag for field 900, wire type 0: (900 << 3) | 0 = 7200 = varint 0xa0 0x38.
  wire += std::string("\xa0\x38\x05", 3);
  v1::TrajectoryChunk upstream;
  ASSERT_TRUE(upstream.ParseFromString(wire));
  EXPECT_EQ(upstream.seq(), 3u);
  // Kept as an unknown field and written back unchanged.
  EXPECT_EQ(upstream.SerializeAsString(), wire);
}

}  // namespace
}  // namespace proxima

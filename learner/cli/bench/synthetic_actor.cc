#include "learner/cli/bench/synthetic_actor.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <initializer_list>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc/grpc_util.h"
#include "common/rng.h"
#include "common/status_macros.h"
#include "grpcpp/client_context.h"
#include "learner/cli/bench/learner_process.h"

namespace proxima::bench {
namespace {

// Sets `t` to `dtype` and `shape`, element i being value(i) of type V,
// written straight into the message (no staging copy).
template <typename V, typename Fn>
void FillTensor(v1::TensorProto* t, v1::DType dtype, std::initializer_list<int64_t> shape,
                Fn value) {
  t->set_dtype(dtype);
  size_t n = 1;
  for (int64_t d : shape) {
    t->add_shape(d);
    n *= static_cast<size_t>(d);
  }
  std::string* data = t->mutable_data();
  data->resize(n * sizeof(V));
  for (size_t i = 0; i < n; ++i) {
    const V v = value(i);
    std::memcpy(data->data() + i * sizeof(V), &v, sizeof(V));
  }
}

}  // namespace

absl::StatusOr<Session> Register(const std::string& address, const std::string& name) {
  Session s;
  s.channel = MakeLearnerChannel(address, v1::ChannelHints());
  s.stub = v1::Learner::NewStub(s.channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(kUnaryDeadline));
  v1::RegisterRequest request;
  request.set_actor_name(name);
  request.set_protocol_version(v1::PROTOCOL_VERSION_1);
  request.set_pid(static_cast<uint32_t>(::getpid()));
  request.set_build_version("proxima bench");
  const grpc::Status status = s.stub->Register(&context, request, &s.registration);
  if (!status.ok()) {
    return absl::Status(ToAbslStatus(status).code(),
                        absl::StrCat("Register(", name, "): ", status.error_message()));
  }
  PROXIMA_ASSIGN_OR_RETURN(s.config, ActorRunConfigFromProto(s.registration.config()));
  return s;
}

v1::TrajectoryChunk SyntheticChunk(const Session& s, uint64_t seed) {
  const ActorRunConfig& c = s.config;
  const int64_t T = c.rollout_length, E = c.num_envs, D = c.env_spec.obs_dim();
  const Space& space = c.env_spec.action_space;
  Rng rng(seed);
  auto uniform = [&rng](size_t) { return static_cast<float>(rng.Uniform(-1, 1)); };
  v1::TrajectoryChunk chunk;
  chunk.set_actor_id(s.registration.actor_id());
  chunk.set_session_id(s.registration.session_id());
  chunk.set_policy_version(s.registration.policy_version());
  chunk.set_num_steps(static_cast<uint32_t>(T));
  chunk.set_num_envs(static_cast<uint32_t>(E));
  FillTensor<float>(chunk.mutable_observations(), v1::DTYPE_FLOAT32, {T, E, D}, uniform);
  if (space.is_discrete()) {
    FillTensor<int64_t>(chunk.mutable_actions(), v1::DTYPE_INT64, {T, E}, [&](size_t) {
      return static_cast<int64_t>(rng.UniformInt(static_cast<uint64_t>(space.n)));
    });
  } else {
    FillTensor<float>(chunk.mutable_actions(), v1::DTYPE_FLOAT32, {T, E, space.flat_dim()},
                      [&](size_t) { return static_cast<float>(rng.Normal()); });
  }
  FillTensor<float>(chunk.mutable_behaviour_log_probs(), v1::DTYPE_FLOAT32, {T, E},
                    [&](size_t) { return static_cast<float>(-rng.Uniform(0.01, 3.0)); });
  FillTensor<float>(chunk.mutable_rewards(), v1::DTYPE_FLOAT32, {T, E}, [](size_t) { return 1.0f; });
  auto zero = [](size_t) { return uint8_t{0}; };
  FillTensor<uint8_t>(chunk.mutable_terminated(), v1::DTYPE_UINT8, {T, E}, zero);
  FillTensor<uint8_t>(chunk.mutable_truncated(), v1::DTYPE_UINT8, {T, E}, zero);
  FillTensor<float>(chunk.mutable_bootstrap_observations(), v1::DTYPE_FLOAT32, {E, D}, uniform);

  std::string& terminated = *chunk.mutable_terminated()->mutable_data();
  std::string& truncated = *chunk.mutable_truncated()->mutable_data();
  auto episode_length = [&rng] { return 10 + static_cast<int>(rng.UniformInt(191)); };
  std::vector<int> length(E, 0), ends_at(E);
  for (int& l : ends_at) l = episode_length();
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t e = 0; e < E; ++e) {
      if (++length[e] < ends_at[e]) continue;
      const bool truncation = rng.Uniform() < 0.1;
      (truncation ? truncated : terminated)[t * E + e] = 1;
      if (truncation) {
        v1::TruncatedObservation* o = chunk.add_truncated_observations();
        o->set_step(static_cast<uint32_t>(t));
        o->set_env(static_cast<uint32_t>(e));
        for (int64_t d = 0; d < D; ++d) o->add_observation(uniform(0));
      }
      v1::EpisodeSummary* ep = chunk.add_episodes();
      ep->set_step(static_cast<uint32_t>(t));
      ep->set_env(static_cast<uint32_t>(e));
      ep->set_episode_return(length[e]);
      ep->set_episode_length(static_cast<uint64_t>(length[e]));
      ep->set_truncated(truncation);
      length[e] = 0;
      ends_at[e] = episode_length();
    }
  }
  return chunk;
}


SyntheticActor::SyntheticActor(Session session, int window, uint64_t seed)
    : session_(std::move(session)), chunk_(SyntheticChunk(session_, seed)) {
  ChunkSender::Options o;
  o.actor_id = session_.registration.actor_id();
  o.session_id = session_.registration.session_id();
  o.window = window;
  o.log = [this](absl::string_view line) {
    absl::MutexLock lock(&mu_);
    if (first_event_.empty()) first_event_ = std::string(line);
  };
  sender_ = std::make_unique<ChunkSender>(session_.stub.get(), std::move(o));
}

SyntheticActor::~SyntheticActor() { Stop(); }

void SyntheticActor::Start() {
  sender_->Start();
  pusher_ = std::thread([this] { PushLoop(); });
}

void SyntheticActor::Stop() {
  stop_ = true;
  sender_->Wake();
  if (pusher_.joinable()) pusher_.join();
  sender_->Shutdown(absl::ZeroDuration());
}

int64_t SyntheticActor::accepted() const {
  return static_cast<int64_t>(sender_->stats().accepted);
}

int64_t SyntheticActor::refused() const {
  const ChunkSender::Stats s = sender_->stats();
  return static_cast<int64_t>(s.rejected + s.dropped + s.duplicates);
}

uint64_t SyntheticActor::learner_version() const {
  return std::max(session_.registration.policy_version(), sender_->stats().learner_version);
}

std::string SyntheticActor::first_event() const {
  absl::MutexLock lock(&mu_);
  return first_event_;
}

void SyntheticActor::PushLoop() {
  for (uint64_t seq = 0; !stop_.load(); ++seq) {
    auto chunk = std::make_unique<v1::TrajectoryChunk>(chunk_);
    chunk->set_seq(seq);
    chunk->set_policy_version(learner_version());
    // Not OK: stopping (Cancelled) or the session is gone (Aborted; the
    // sender logged why).
    if (!sender_->Push(&chunk, stop_).ok()) return;
  }
}

}  // namespace proxima::bench

// ActorClient's stepping path for an env run (actor/actor_client.h): Setup
// builds (or keeps) the envs, the policy network and the RolloutCollector
// from the learner's run config; StepLoop is the stepping loop of one
// session — take the newest snapshot at each rollout boundary (sync mode,
// async flow control), collect T x E steps, encode and push the chunk. A
// sequence run's counterparts are in actor/actor_client_sequence.cc; the
// sessions around both, in actor/actor_client.cc.
#include "actor/actor_client.h"

#include <algorithm>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "actor/actor_session.h"
#include "actor/chunk_sender.h"
#include "actor/flow_control_wait.h"
#include "actor/policy_lag_gate.h"
#include "actor/registration.h"
#include "common/envs/vector_env.h"
#include "common/policy/policy_inference.h"
#include "common/policy/policy_snapshot.h"
#include "common/policy/rollout_collector.h"
#include "common/rng.h"
#include "common/status_macros.h"

namespace proxima {

absl::Status ActorClient::Setup(const ActorRunConfig& config) {
  if (have_config_ && SameRunShape(config, config_) && envs_ != nullptr) {
    config_ = config;  // mode and hints may change; the envs keep running
    envs_->set_clip_actions(config.clip_actions);
    return absl::OkStatus();
  }
  env_steps_before_ = TotalEnvSteps();
  collector_.reset();
  policy_.reset();
  envs_.reset();
  VectorEnvOptions env_options;
  env_options.remote_batched = options_.remote_env_columns >= 0;
  env_options.remote_columns_per_session = std::max(options_.remote_env_columns, 0);
  PROXIMA_ASSIGN_OR_RETURN(envs_, VectorEnv::Create(config.env_id, config.num_envs,
                                                    config.env_seed_base, env_options));
  envs_->set_clip_actions(config.clip_actions);
  PROXIMA_RETURN_IF_ERROR(envs_->SetThreads(options_.threads));
  rng_ = std::make_unique<Rng>(config.action_seed);
  const PolicyShape shape{config.env_spec.obs_dim(), config.env_spec.action_space, config.model};
  PROXIMA_ASSIGN_OR_RETURN(const InferenceEngine engine, ParseInferenceEngine(options_.engine));
  if (!have_config_) {  // once: at the first registration
    Log(absl::StrCat("inference engine: ", InferenceEngineName(engine), " (--engine=",
                     options_.engine, ")"));
  }
  policy_ = std::make_unique<PolicyInference>(shape, config.num_envs, engine);
  collector_ = std::make_unique<RolloutCollector>(envs_.get(), policy_.get(), rng_.get(),
                                                  config.rollout_length);
  config_ = config;
  have_config_ = true;
  return absl::OkStatus();
}

absl::StatusOr<ActorClient::LoopEnd> ActorClient::StepLoop() {
  ActorSession* const session = CurrentSession();
  SnapshotSlot* const slot = session->slot();
  ChunkSender* const sender = session->sender();
  const uint64_t chunk_transitions =
      static_cast<uint64_t>(config_.rollout_length) * static_cast<uint64_t>(config_.num_envs);
  const uint64_t max_bytes = hints_.max_message_bytes();
  PolicyLagGate gate(config_.target_policy_lag, config_.batch_transitions);
  std::shared_ptr<const PolicySnapshot> current;
  // Blocked pushing the previous chunk: reported with the next one.
  double send_wait_seconds = 0;
  while (true) {
    // Rollout boundary: the only place the policy changes. Time spent here
    // is the chunk's weights_wait_seconds (sync rounds, flow control, and
    // the first snapshot).
    const absl::Time weights_wait_start = absl::Now();
    std::shared_ptr<const PolicySnapshot> next = BoundarySnapshot(slot, current.get(), config_.sync);
    if (current != nullptr && !config_.sync) {
      if (gate.enabled() && next != nullptr) {
        FlowControlWait wait = AwaitFreshEnough(&gate, slot, *sender, chunk_transitions,
                                                interrupt_, std::move(next));
        next = std::move(wait.snapshot);
        if (wait.waited) {
          absl::MutexLock lock(&mu_);
          ++stats_.flow_control_waits;
          stats_.flow_control_wait_seconds += absl::ToDoubleSeconds(wait.duration);
          if (wait.gave_up) ++stats_.flow_control_timeouts;
        }
      }
    }
    const double weights_wait_seconds = absl::ToDoubleSeconds(absl::Now() - weights_wait_start);
    if (session_lost_.load() && !stop_.load()) return LoopEnd::kSessionLost;
    if (next != nullptr && next != current && !stop_.load()) {
      PROXIMA_RETURN_IF_ERROR(policy_->SetPolicy(next));
      current = next;
    }

    // A learner that is shutting down refuses every chunk: collecting more
    // would only burn CPU. Wait for Stop() or for the session to end (a
    // restarted learner does not know it, and the actor registers again).
    while (!interrupt_.load() && sender->stats().learner_stopping) {
      SleepUnlessStopped(absl::Milliseconds(20));
    }

    const absl::Time start = absl::Now();
    // Returns at once with 0 steps (and the current obs as bootstrap) when
    // already stopping.
    collector_->Collect(&interrupt_);
    // A remote env whose server failed ends the actor with that error.
    PROXIMA_RETURN_IF_ERROR(envs_->status());
    if (session_lost_.load() && !stop_.load()) return LoopEnd::kSessionLost;
    const bool final = stop_.load();

    ChunkHeader header;
    header.actor_id = actor_id_;
    header.session_id = session_id_;
    header.seq = next_seq_;
    header.policy_version = current != nullptr ? current->version : 0;
    header.final = final;
    header.rollout_seconds = static_cast<float>(absl::ToDoubleSeconds(absl::Now() - start));
    auto chunk = std::make_unique<v1::TrajectoryChunk>();
    collector_->Encode(header, chunk.get());
    chunk->set_env_seconds(static_cast<float>(collector_->env_seconds()));
    chunk->set_inference_seconds(static_cast<float>(collector_->inference_seconds()));
    chunk->set_send_wait_seconds(static_cast<float>(send_wait_seconds));
    chunk->set_weights_wait_seconds(static_cast<float>(weights_wait_seconds));
    if (max_bytes > 0 && chunk->ByteSizeLong() > max_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a chunk of ", collector_->steps(), " steps x ", config_.num_envs, " envs is ",
          chunk->ByteSizeLong(), " bytes, above the learner's max_message_bytes ", max_bytes,
          ": lower --num-envs (or the learner's rollout length)"));
    }
    ++next_seq_;
    {
      absl::MutexLock lock(&mu_);
      ++stats_.chunks;
      stats_.env_steps = TotalEnvSteps();
      stats_.policy_version = header.policy_version;
      stats_.episodes += collector_->episodes().size();
      stats_.env_seconds += collector_->env_seconds();
      stats_.inference_seconds += collector_->inference_seconds();
      stats_.send_wait_seconds += send_wait_seconds;
      stats_.weights_wait_seconds += weights_wait_seconds;
    }
    for (const EpisodeRecord& ep : collector_->episodes()) {
      throughput_.AddEpisodeReturn(ep.episode_return);
    }

    if (final) {
      absl::Status st = sender->PushFinal(&chunk);
      if (!st.ok()) Log(absl::StrCat("final chunk not sent: ", st.message()));
      return LoopEnd::kStopped;
    }
    if (std::optional<LoopEnd> end = PushOrEnd(sender, &chunk, &send_wait_seconds)) return *end;
    MaybeLogThroughput(false);
  }
}

}  // namespace proxima

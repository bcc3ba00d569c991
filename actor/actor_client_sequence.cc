// ActorClient's generating path for a sequence run (actor/actor_client.h,
// docs/sequence-policies.md "Actors generating"): SetupSequence builds the
// SequenceGenerator from the learner's RunConfig.sequence (dropping any
// envs); GenerateLoop is the loop of one session — load the newest
// snapshot at each chunk boundary (in sync mode, wait for a version newer
// than the last chunk's), generate one chunk of G completions per
// prompt, push it as TrajectoryChunk.sequences. An env run's counterparts are
// in actor/actor_client_rollout.cc; the sessions around both, in
// actor/actor_client.cc.
#include "actor/actor_client.h"

#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "actor/actor_session.h"
#include "actor/chunk_sender.h"
#include "actor/seq_generator.h"
#include "common/envs/vector_env.h"
#include "common/policy/policy_inference.h"
#include "common/policy/policy_snapshot.h"
#include "common/policy/rollout_collector.h"
#include "common/policy/seq_run_config.h"
#include "common/wire/seq_chunk_codec.h"
#include "common/status_macros.h"

namespace proxima {

absl::Status ActorClient::SetupSequence(const v1::RunConfig& config) {
  absl::StatusOr<SeqRunSettings> run = SeqRunFromProto(config);
  if (!run.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot serve the learner's sequence run config: ", run.status().message()));
  }
  env_steps_before_ = TotalEnvSteps() - generated_tokens_;
  collector_.reset();
  policy_.reset();
  envs_.reset();
  have_config_ = false;
  PROXIMA_ASSIGN_OR_RETURN(generator_,
                           SequenceGenerator::Create(*run, config.seeds().action_seed()));
  sequence_sync_ = config.mode() == v1::TRAINING_MODE_SYNC;
  return absl::OkStatus();
}

absl::StatusOr<ActorClient::LoopEnd> ActorClient::GenerateLoop() {
  ActorSession* const session = CurrentSession();
  SnapshotSlot* const slot = session->slot();
  ChunkSender* const sender = session->sender();
  const uint64_t max_bytes = hints_.max_message_bytes();
  std::shared_ptr<const PolicySnapshot> current;
  double send_wait_seconds = 0;
  while (true) {
    // Chunk boundary: the only place the policy changes.
    const absl::Time weights_wait_start = absl::Now();
    std::shared_ptr<const PolicySnapshot> next =
        BoundarySnapshot(slot, current.get(), sequence_sync_);
    const double weights_wait_seconds = absl::ToDoubleSeconds(absl::Now() - weights_wait_start);
    if (session_lost_.load() && !stop_.load()) return LoopEnd::kSessionLost;
    if (stop_.load()) return LoopEnd::kStopped;  // no generation in progress to send
    if (next != nullptr && next != current) {
      if (next->sequence == nullptr) {
        return absl::InternalError("sequence run: a snapshot without its weights");
      }
      if (absl::Status s = generator_->SetWeights(*next->sequence); !s.ok()) {
        // The learner's weights do not fit the model its own config builds.
        return absl::FailedPreconditionError(absl::StrCat(
            "sequence run: cannot load weights version ", next->version, ": ", s.message()));
      }
      current = next;
    }
    // A learner that is shutting down refuses every chunk (see StepLoop).
    while (!interrupt_.load() && sender->stats().learner_stopping) {
      SleepUnlessStopped(absl::Milliseconds(20));
    }
    if (interrupt_.load()) continue;  // the checks at the top end the loop

    const absl::Time start = absl::Now();
    SequenceGenerator::Timing timing;
    PROXIMA_ASSIGN_OR_RETURN(SequenceChunk generated, generator_->Next(&timing));
    auto chunk = std::make_unique<v1::TrajectoryChunk>();
    EncodeSequenceBatch(generated, chunk->mutable_sequences());
    chunk->set_actor_id(actor_id_);
    chunk->set_session_id(session_id_);
    chunk->set_seq(next_seq_);
    chunk->set_policy_version(generator_->version());
    chunk->set_rollout_seconds(static_cast<float>(absl::ToDoubleSeconds(absl::Now() - start)));
    // Generation is the actor's inference, scoring its env time
    // (trajectory.proto).
    chunk->set_inference_seconds(static_cast<float>(timing.generate_seconds));
    chunk->set_env_seconds(static_cast<float>(timing.score_seconds));
    chunk->set_send_wait_seconds(static_cast<float>(send_wait_seconds));
    chunk->set_weights_wait_seconds(static_cast<float>(weights_wait_seconds));
    if (max_bytes > 0 && chunk->ByteSizeLong() > max_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a sequence chunk of ", generated.sequences.size(), " sequences is ",
          chunk->ByteSizeLong(), " bytes, above the learner's max_message_bytes ", max_bytes));
    }
    ++next_seq_;
    generated_tokens_ += generated.completion_tokens();
    {
      absl::MutexLock lock(&mu_);
      ++stats_.chunks;
      stats_.env_steps = TotalEnvSteps();
      stats_.policy_version = generator_->version();
      stats_.env_seconds += timing.score_seconds;
      stats_.inference_seconds += timing.generate_seconds;
      stats_.send_wait_seconds += send_wait_seconds;
      stats_.weights_wait_seconds += weights_wait_seconds;
    }
    if (std::optional<LoopEnd> end = PushOrEnd(sender, &chunk, &send_wait_seconds)) return *end;
    MaybeLogThroughput(false);
  }
}

}  // namespace proxima

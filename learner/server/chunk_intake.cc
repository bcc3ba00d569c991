#include "learner/server/chunk_intake.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "common/wire/chunk_codec.h"

namespace proxima {
namespace {

// What the checks before decoding look at.
struct Facts {
  const v1::TrajectoryChunk& chunk;
  const Session* s;  // null: not issued by this learner
  bool serving;
  uint64_t version;
  size_t wire_bytes;
  int64_t max_message_bytes;
};

// One row of the decision table: the first row whose `applies` holds decides.
struct Rule {
  v1::ChunkOutcome outcome;
  // Rows after the session is known and current: their acks carry the next
  // expected seq, and a refusal counts against the session.
  bool session_bound;
  bool consumes_seq;  // the actor's next seq moves past this chunk
  bool (*applies)(const Facts&);
  std::string (*reason)(const Facts&);
};

const Rule kRules[] = {
    {v1::CHUNK_OUTCOME_REJECTED_SHUTTING_DOWN, false, false,
     [](const Facts& f) { return !f.serving; },
     [](const Facts&) -> std::string { return "the learner is stopping"; }},
    {v1::CHUNK_OUTCOME_REJECTED_UNKNOWN_SESSION, false, false,
     [](const Facts& f) { return f.s == nullptr; },
     [](const Facts& f) {
       return absl::StrFormat("session_id: %016x was not issued by this learner; register again",
                              f.chunk.session_id());
     }},
    {v1::CHUNK_OUTCOME_REJECTED_STALE_SESSION, false, false,
     [](const Facts& f) { return f.s->superseded; },
     [](const Facts&) -> std::string {
       return "session_id: superseded by a newer registration of this actor";
     }},
    {v1::CHUNK_OUTCOME_REJECTED_INVALID, true, false,
     [](const Facts& f) { return f.chunk.actor_id() != f.s->actor_id; },
     [](const Facts& f) {
       return absl::StrCat("actor_id: ", f.chunk.actor_id(), " is not this session's (",
                           f.s->actor_id, ")");
     }},
    {v1::CHUNK_OUTCOME_DUPLICATE, true, false,
     [](const Facts& f) { return f.chunk.seq() < f.s->next_seq; },
     [](const Facts&) -> std::string { return "already processed"; }},
    {v1::CHUNK_OUTCOME_REJECTED_OUT_OF_ORDER, true, false,
     [](const Facts& f) { return f.chunk.seq() > f.s->next_seq; },
     [](const Facts& f) {
       return absl::StrCat("seq: expected ", f.s->next_seq, ", got ", f.chunk.seq());
     }},
    {v1::CHUNK_OUTCOME_REJECTED_TOO_LARGE, true, true,
     [](const Facts& f) { return f.wire_bytes > static_cast<uint64_t>(f.max_message_bytes); },
     [](const Facts& f) {
       return absl::StrCat("message: ", f.wire_bytes,
                           " bytes, above the learner's --max-message-bytes=",
                           f.max_message_bytes);
     }},
    {v1::CHUNK_OUTCOME_REJECTED_INVALID, true, false,
     [](const Facts& f) { return f.s->final_received; },
     [](const Facts&) -> std::string { return "final: the session already sent its final chunk"; }},
    {v1::CHUNK_OUTCOME_REJECTED_INVALID, true, true,
     [](const Facts& f) { return f.chunk.policy_version() > f.version; },
     [](const Facts& f) {
       return absl::StrCat("policy_version: ", f.chunk.policy_version(),
                           " is newer than the learner's newest version ", f.version);
     }},
};

// What the table decided (under the registry's lock).
struct Verdict {
  std::optional<v1::ChunkOutcome> outcome;  // none: validate and decode
  std::string reason;
  uint64_t next_expected = 0;
  int num_envs = 0;
  bool rate_limited = false;
  std::shared_ptr<TrajectoryStream> replaced;  // a stream this one replaces
};

}  // namespace

ChunkIntake::Options ChunkIntake::Options::Of(const EnvSpec& env, const PpoConfig& config,
                                              const LearnerOptions& options) {
  Options o;
  o.spec.obs_dim = env.obs_dim();
  o.spec.action_space = env.action_space;
  o.spec.rollout_length = config.rollout_length;
  o.sync = options.mode == TrainingModeKind::kSync;
  o.max_message_bytes = options.max_message_bytes;
  return o;
}

v1::ChunkAck ChunkIntake::Ack(uint64_t seq, v1::ChunkOutcome outcome, std::string reason,
                              uint64_t next_expected) const {
  v1::ChunkAck ack;
  ack.set_seq(seq);
  ack.set_outcome(outcome);
  ack.set_reason(std::move(reason));
  ack.set_learner_policy_version(deps_.progress->version());
  ack.set_next_expected_seq(next_expected);
  ack.set_paused(deps_.paused());
  ack.set_queued_transitions(static_cast<uint64_t>(deps_.queue->transitions()));
  return ack;
}

void ChunkIntake::StreamStarted(const std::shared_ptr<TrajectoryStream>& stream) {
  deps_.sessions->StreamStarted(stream);
}

void ChunkIntake::StreamDone(TrajectoryStream* stream, uint64_t session_id) {
  deps_.sessions->StreamDone(stream, session_id);
  deps_.queue->Wake();  // a sync round may stop waiting for this session
}

ChunkDecision ChunkIntake::HandleChunk(const std::shared_ptr<TrajectoryStream>& stream,
                                       const v1::TrajectoryChunk& chunk, size_t wire_bytes) {
  if (times_ == nullptr) return Ingest(stream, chunk, wire_bytes);
  const ServerClock::time_point begin = ServerClock::now();
  ChunkDecision d = Ingest(stream, chunk, wire_bytes);
  times_->AddIngest(begin, ServerClock::now());
  return d;
}

ChunkDecision ChunkIntake::Ingest(const std::shared_ptr<TrajectoryStream>& stream,
                                  const v1::TrajectoryChunk& chunk, size_t wire_bytes) {
  const uint64_t seq = chunk.seq();
  // Transitions a rejected chunk counts: as declared, but at most its size in
  // bytes (a real chunk carries at least one byte per transition), so that a
  // lying header can neither inflate nor overflow the counters.
  const int64_t claimed = static_cast<int64_t>(
      std::min<uint64_t>(static_cast<uint64_t>(chunk.num_steps()) * chunk.num_envs(),
                         static_cast<uint64_t>(wire_bytes)));
  const bool serving = deps_.serving();
  const uint64_t version = deps_.progress->version();
  Verdict v = deps_.sessions->WithSession(chunk.session_id(), [&](Session* s) {
    Verdict out;
    const ServerClock::time_point now = ServerClock::now();
    if (s != nullptr && s->rate_bucket != nullptr) {
      const ServerClock::duration wait = s->rate_bucket->Take(now);
      if (wait > ServerClock::duration::zero()) {
        out.rate_limited = true;
        ++s->chunks_rate_limited;
        stream->DelayNextRead(now + wait);  // lock-free
      }
    }
    if (serving && s != nullptr) s->last_seen = absl::Now();
    const Facts f{chunk, s, serving, version, wire_bytes, options_.max_message_bytes};
    bool bound = false;
    for (const Rule& rule : kRules) {
      if (rule.session_bound && !bound) {
        bound = true;
        if (s->stream != stream) {
          out.replaced = s->stream;  // a newer stream for the same session wins
          s->stream = stream;
        }
      }
      if (!rule.applies(f)) continue;
      out.outcome = rule.outcome;
      out.reason = rule.reason(f);
      if (rule.consumes_seq) s->next_seq = seq + 1;
      if (rule.session_bound) {
        out.next_expected = s->next_seq;
        if (rule.outcome != v1::CHUNK_OUTCOME_DUPLICATE) ++s->chunks_dropped;
      } else if (rule.outcome == v1::CHUNK_OUTCOME_REJECTED_STALE_SESSION) {
        ++s->chunks_dropped;
      }
      return out;
    }
    out.num_envs = s->num_envs;
    return out;
  });
  if (v.rate_limited) deps_.accounting->RateLimited();
  if (v.replaced) {
    v.replaced->Abort(grpc::Status(grpc::StatusCode::ABORTED,
                                   "a newer stream for this session replaced this one"));
  }
  if (v.outcome) {
    if (*v.outcome == v1::CHUNK_OUTCOME_DUPLICATE) {
      deps_.accounting->Duplicate();
    } else {
      deps_.accounting->Rejected(*v.outcome, claimed);
    }
    return ChunkDecision{Ack(seq, *v.outcome, std::move(v.reason), v.next_expected), false};
  }

  // Payload checks and decoding, outside every lock.
  ChunkSpec cs = options_.spec;
  cs.num_envs = v.num_envs;
  QueuedChunk q;
  std::vector<EpisodeRecord> episodes;
  absl::Status valid = options_.sequence_payload ? options_.sequence_payload(chunk, &q)
                                                 : ValidateChunkPayload(chunk, cs);
  if (valid.ok()) {
    q.session_id = chunk.session_id();
    q.actor_id = chunk.actor_id();
    q.seq = seq;
    q.policy_version = chunk.policy_version();
    if (!options_.sequence_payload) {
      q.batch = DecodeChunk(chunk, cs.action_space.is_discrete());
      q.transitions = static_cast<int64_t>(q.batch.num_steps) * q.batch.num_envs;
      episodes = ChunkEpisodes(chunk);
    }
  }
  const absl::Status error = valid;
  ChunkDecision d = Admit(stream, chunk, claimed, std::move(valid), std::move(q), episodes);
  if (!error.ok() && options_.sequence_rejected &&
      d.ack.outcome() == v1::CHUNK_OUTCOME_REJECTED_INVALID) {
    options_.sequence_rejected(error);
  }
  return d;
}

ChunkDecision ChunkIntake::Admit(const std::shared_ptr<TrajectoryStream>& stream,
                                 const v1::TrajectoryChunk& chunk, int64_t claimed,
                                 absl::Status valid, QueuedChunk q,
                                 const std::vector<EpisodeRecord>& episodes) {
  const uint64_t seq = chunk.seq();
  const uint64_t version = deps_.progress->version();
  const uint64_t max_lag = static_cast<uint64_t>(deps_.max_policy_lag());
  struct Result {
    v1::ChunkOutcome outcome = v1::CHUNK_OUTCOME_ACCEPTED;
    std::string reason;
    uint64_t next_expected = 0;
    int64_t counted = 0;  // transitions counted for a refusal
  };
  // In session order, under the registry's lock.
  Result r = deps_.sessions->WithSession(chunk.session_id(), [&](Session* s) {
    Result out;
    if (s == nullptr || s->superseded) {
      out.outcome = v1::CHUNK_OUTCOME_REJECTED_STALE_SESSION;
      out.reason = "session_id: superseded by a newer registration of this actor";
      out.counted = claimed;
      return out;
    }
    if (seq != s->next_seq) {  // raced with a resend on a newer stream
      out.outcome = v1::CHUNK_OUTCOME_DUPLICATE;
      out.reason = "already processed";
      out.next_expected = s->next_seq;
      return out;
    }
    s->next_seq = seq + 1;
    out.next_expected = s->next_seq;
    if (!valid.ok()) {
      ++s->chunks_dropped;
      out.outcome = v1::CHUNK_OUTCOME_REJECTED_INVALID;
      out.reason = std::string(valid.message());
      out.counted = claimed;
      LogWarning(absl::StrFormat("rejected chunk %llu of actor %u: %s",
                                 static_cast<unsigned long long>(seq), s->actor_id, out.reason));
      return out;
    }
    if (chunk.final()) s->final_received = true;
    s->time.Add(chunk);
    q.actor_name = s->name;
    const uint64_t lag = version - q.policy_version;
    s->last_policy_version = q.policy_version;
    s->lag = lag;
    ++s->chunks;
    // Lag only grows while queued: drop now what is already too old.
    if ((!options_.sync && lag > max_lag) || (options_.sync && lag > 0)) {
      ++s->chunks_dropped;
      out.outcome = options_.sync ? v1::CHUNK_OUTCOME_DROPPED_LATE_FOR_ROUND
                                  : v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG;
      out.reason = absl::StrCat("policy lag ", lag);
      out.counted = q.transitions;
      return out;
    }
    // Accepted: scale rewards in session order.
    if (s->reward_scaler && q.transitions > 0) {
      float* rew = q.batch.rewards.data_ptr<float>();
      const uint8_t* term = q.batch.terminated.data_ptr<uint8_t>();
      for (int t = 0; t < q.batch.num_steps; ++t) {
        s->reward_scaler->ScaleStep(rew + static_cast<int64_t>(t) * s->num_envs,
                                    term + static_cast<int64_t>(t) * s->num_envs);
      }
    }
    s->env_steps += q.transitions;
    AddRateSample(&s->rate, ServerClock::now(), s->env_steps);
    return out;
  });
  // A valid chunk's actor timings count whatever becomes of its data.
  if (times_ != nullptr && valid.ok() && r.outcome != v1::CHUNK_OUTCOME_DUPLICATE &&
      r.outcome != v1::CHUNK_OUTCOME_REJECTED_STALE_SESSION) {
    times_->AddActorChunk(chunk);
  }
  ChunkDecision d;
  if (r.outcome == v1::CHUNK_OUTCOME_DUPLICATE) {
    deps_.accounting->Duplicate();
  } else if (r.outcome != v1::CHUNK_OUTCOME_ACCEPTED) {
    deps_.accounting->Rejected(r.outcome, r.counted);
  }
  if (r.outcome != v1::CHUNK_OUTCOME_ACCEPTED) {
    // A session may have delivered its final chunk or been dropped from a
    // round: let the trainer look again.
    deps_.queue->Wake();
    d.ack = Ack(seq, r.outcome, std::move(r.reason), r.next_expected);
    return d;
  }
  // Accepted: count the data in and record its episodes.
  deps_.progress->AddAccepted(q.transitions, episodes);
  const std::string name = q.actor_name;
  const int64_t transitions = q.transitions;
  if (transitions == 0) {
    // An empty final chunk: nothing to train on.
    deps_.accounting->AcceptedEmpty(name, seq);
    deps_.queue->Wake();
  } else {
    deps_.accounting->Accepted(transitions);
    switch (deps_.queue->Push(std::move(q), stream)) {
      case TrajectoryQueue::PushResult::kQueued:
        break;
      case TrajectoryQueue::PushResult::kHeld:
        // Full: the chunk is held; read nothing more from this stream.
        d.blocked = true;
        return d;
      case TrajectoryQueue::PushResult::kClosed:
        // The trainer has stopped: dropped as if it had been queued.
        deps_.accounting->Dropped(name, seq, transitions, v1::CHUNK_OUTCOME_DROPPED_AT_SHUTDOWN);
        deps_.sessions->CountDropped(chunk.session_id());
        break;
    }
  }
  d.ack = Ack(seq, v1::CHUNK_OUTCOME_ACCEPTED, "", r.next_expected);
  return d;
}

void ChunkIntake::ResumeHeld(std::vector<TrajectoryQueue::Released> released) {
  for (TrajectoryQueue::Released& r : released) {
    const uint64_t next = deps_.sessions->WithSession(
        r.session_id, [](Session* s) -> uint64_t { return s == nullptr ? 0 : s->next_seq; });
    r.owner->Resume(Ack(r.seq, v1::CHUNK_OUTCOME_ACCEPTED, "", next));
  }
}

void ChunkIntake::DropAllAtShutdown() {
  TrajectoryQueue::Drained left = deps_.queue->Drain();
  auto drop = [this](const QueuedChunk& c) {
    deps_.accounting->Dropped(c.actor_name, c.seq, c.transitions,
                              v1::CHUNK_OUTCOME_DROPPED_AT_SHUTDOWN);
    deps_.sessions->CountDropped(c.session_id);
  };
  for (const QueuedChunk& c : left.queued) drop(c);
  for (TrajectoryQueue::Held& h : left.held) {
    drop(h.chunk);
    h.owner->Resume(Ack(h.chunk.seq, v1::CHUNK_OUTCOME_DROPPED_AT_SHUTDOWN,
                        "the learner is stopping", h.chunk.seq + 1));
  }
}

void ChunkIntake::CountUnparsable(uint64_t session_id, size_t wire_bytes) {
  deps_.accounting->Rejected(v1::CHUNK_OUTCOME_REJECTED_INVALID, 0);
  const std::optional<uint32_t> actor =
      deps_.sessions->WithSession(session_id, [](Session* s) -> std::optional<uint32_t> {
        if (s == nullptr) return std::nullopt;
        ++s->chunks_dropped;
        s->last_seen = absl::Now();
        return s->actor_id;
      });
  const std::string who = actor ? absl::StrCat(" of actor ", *actor) : std::string();
  LogWarning(absl::StrFormat(
      "ended a trajectory stream%s: a message of %zu bytes does not parse as a TrajectoryChunk",
      who, wire_bytes));
}

}  // namespace proxima

#include "learner/server/session_registry.h"

#include <algorithm>
#include <random>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "learner/server/time_breakdown.h"

namespace proxima {

void SessionRegistry::RestoreActorIds(std::map<std::string, uint32_t> ids) {
  absl::MutexLock l(&mu_);
  actor_ids_ = std::move(ids);
}

std::map<std::string, uint32_t> SessionRegistry::actor_ids() const {
  absl::MutexLock l(&mu_);
  return actor_ids_;
}

int SessionRegistry::actors() const {
  absl::MutexLock l(&mu_);
  return static_cast<int>(actor_ids_.size());
}

absl::StatusOr<SessionRegistry::Registered> SessionRegistry::Register(NewSession n) {
  Registered out;
  absl::MutexLock l(&mu_);
  auto it = actor_ids_.find(n.name);
  uint32_t id;
  if (it != actor_ids_.end()) {
    id = it->second;
  } else {
    if (static_cast<int>(actor_ids_.size()) >= max_actors_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the learner's actor limit (--max-actors=", max_actors_, ") is reached"));
    }
    id = static_cast<uint32_t>(actor_ids_.size());
    actor_ids_[n.name] = id;
  }
  auto prev = latest_session_.find(id);
  ActorTimeSums time;  // carried over: ActorInfo.time_total covers every session
  if (prev != latest_session_.end()) {
    auto ps = sessions_.find(prev->second);
    if (ps != sessions_.end()) {
      time = ps->second->time;
      ps->second->superseded = true;
      out.superseded_stream = ps->second->stream;
      out.superseded_watch = ps->second->watch;
      ps->second->reward_scaler.reset();
    }
  }
  auto s = std::make_shared<Session>();
  static thread_local std::mt19937_64 rng(std::random_device{}());
  do {
    s->id = rng();
  } while (s->id == 0 || sessions_.count(s->id));
  s->actor_id = id;
  s->name = std::move(n.name);
  s->num_envs = n.num_envs;
  s->hostname = std::move(n.hostname);
  s->pid = n.pid;
  s->build_version = std::move(n.build_version);
  s->registered_at = s->last_seen = absl::Now();
  s->reward_scaler = std::move(n.reward_scaler);
  s->time = time;
  const double rate = max_chunks_per_second_;
  if (rate > 0) {
    auto b = rate_buckets_.find(id);
    if (b == rate_buckets_.end()) {
      b = rate_buckets_
              .emplace(id, TokenBucket(rate, DefaultChunkBurst(rate), ServerClock::now()))
              .first;
    }
    s->rate_bucket = &b->second;
  }
  sessions_[s->id] = s;
  latest_session_[id] = s->id;
  ++registrations_[id];
  out.actor_id = id;
  out.session_id = s->id;
  return out;
}

void SessionRegistry::StreamStarted(const std::shared_ptr<TrajectoryStream>& stream) {
  absl::MutexLock l(&mu_);
  streams_[stream.get()] = stream;
}

void SessionRegistry::StreamDone(const TrajectoryStream* stream, uint64_t session_id) {
  absl::MutexLock l(&mu_);
  streams_.erase(stream);
  auto it = sessions_.find(session_id);
  if (it != sessions_.end() && it->second->stream.get() == stream) it->second->stream.reset();
}

std::vector<std::shared_ptr<TrajectoryStream>> SessionRegistry::OpenStreams() const {
  std::vector<std::shared_ptr<TrajectoryStream>> out;
  absl::MutexLock l(&mu_);
  for (const auto& [ptr, s] : streams_) out.push_back(s);
  return out;
}

absl::StatusOr<std::shared_ptr<WeightStream>> SessionRegistry::AttachWatch(
    uint64_t session_id, const std::shared_ptr<WeightStream>& watch, bool serving) {
  absl::MutexLock l(&mu_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) {
    return absl::NotFoundError("session_id: unknown to this learner; register again");
  }
  if (it->second->superseded) {
    return absl::AbortedError("the session was superseded by a newer registration");
  }
  if (!serving) return absl::UnavailableError("the learner is stopping");
  std::shared_ptr<WeightStream> old = std::move(it->second->watch);
  it->second->watch = watch;
  return old;
}

void SessionRegistry::WatchDone(const WeightStream* watch, uint64_t session_id) {
  absl::MutexLock l(&mu_);
  auto it = sessions_.find(session_id);
  if (it != sessions_.end() && it->second->watch.get() == watch) it->second->watch.reset();
}

std::vector<uint64_t> SessionRegistry::LiveSessions() const {
  std::vector<uint64_t> out;
  absl::MutexLock l(&mu_);
  for (const auto& [id, s] : sessions_) {
    if (s->live()) out.push_back(id);
  }
  return out;
}

void SessionRegistry::MissedRound(const std::vector<uint64_t>& session_ids) {
  absl::MutexLock l(&mu_);
  for (uint64_t id : session_ids) {
    auto it = sessions_.find(id);
    if (it != sessions_.end()) ++it->second->rounds_missed;
  }
}

void SessionRegistry::CountDropped(uint64_t session_id) {
  absl::MutexLock l(&mu_);
  auto it = sessions_.find(session_id);
  if (it != sessions_.end()) ++it->second->chunks_dropped;
}

void SessionRegistry::SetLag(uint64_t session_id, uint64_t lag) {
  absl::MutexLock l(&mu_);
  auto it = sessions_.find(session_id);
  if (it != sessions_.end()) it->second->lag = lag;
}

void ActorTimeSums::Add(const v1::TrajectoryChunk& chunk) {
  env += chunk.env_seconds();
  inference += chunk.inference_seconds();
  send_wait += chunk.send_wait_seconds();
  weights_wait += chunk.weights_wait_seconds();
  wall += ActorWallSeconds(chunk);
  ++chunks;
}

void ActorTimeSums::ToProto(v1::TimeBreakdown* out) const {
  out->set_actor_env_seconds(env);
  out->set_actor_inference_seconds(inference);
  out->set_actor_send_wait_seconds(send_wait);
  out->set_actor_weights_wait_seconds(weights_wait);
  out->set_actor_wall_seconds(wall);
  out->set_chunks(chunks);
}

void SessionRegistry::FillStatus(bool include_actors, v1::LearnerStatus* st) const {
  absl::MutexLock l(&mu_);
  uint32_t connected = 0;
  for (const auto& [actor_id, session_id] : latest_session_) {
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) continue;
    const Session& s = *it->second;
    const bool up = s.stream != nullptr || s.watch != nullptr;
    if (up && !s.final_received) ++connected;
    if (!include_actors) continue;
    v1::ActorInfo* a = st->add_actors();
    a->set_actor_id(s.actor_id);
    a->set_name(s.name);
    a->set_session_id(s.id);
    a->set_state(s.final_received ? v1::ACTOR_STATE_FINISHED
                 : up             ? v1::ACTOR_STATE_CONNECTED
                                  : v1::ACTOR_STATE_DISCONNECTED);
    SetTimestamp(s.last_seen, a->mutable_last_seen());
    SetTimestamp(s.registered_at, a->mutable_registered_at());
    a->set_env_steps(static_cast<uint64_t>(s.env_steps));
    a->set_lag(s.lag);
    a->set_last_policy_version(s.last_policy_version);
    a->set_chunks(s.chunks);
    a->set_chunks_dropped(s.chunks_dropped);
    a->set_num_envs(static_cast<uint32_t>(s.num_envs));
    a->set_env_steps_per_second(RatePerSecond(s.rate));
    a->set_sync_rounds_missed(s.rounds_missed);
    a->set_hostname(s.hostname);
    a->set_pid(s.pid);
    a->set_build_version(s.build_version);
    a->set_chunks_rate_limited(s.chunks_rate_limited);
    auto regs = registrations_.find(s.actor_id);
    a->set_registrations(regs == registrations_.end() ? 0 : regs->second);
    s.time.ToProto(a->mutable_time_total());
  }
  st->set_actors_connected(connected);
}

}  // namespace proxima

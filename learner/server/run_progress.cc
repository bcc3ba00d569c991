#include "learner/server/run_progress.h"

#include <algorithm>

namespace proxima {

RunProgress::RunProgress(std::optional<double> reward_threshold) : tracker_(reward_threshold) {}

void RunProgress::Restore(const CheckpointCounters& c) {
  absl::MutexLock l(&mu_);
  version_ = c.policy_version;
  env_steps_ = c.env_steps;
  transitions_trained_before_ = c.transitions_trained;
  updates_ = c.updates;
  episodes_before_ = c.episodes;
  wall_before_ = c.wall_seconds;
}

uint64_t RunProgress::version() const {
  absl::MutexLock l(&mu_);
  return version_;
}

int64_t RunProgress::env_steps() const {
  absl::MutexLock l(&mu_);
  return env_steps_;
}

bool RunProgress::solved() const {
  absl::MutexLock l(&mu_);
  return tracker_.solved();
}

int64_t RunProgress::transitions_trained_before() const {
  absl::MutexLock l(&mu_);
  return transitions_trained_before_;
}

double RunProgress::elapsed_seconds() const {
  absl::MutexLock l(&mu_);
  return wall_before_ + Seconds(ServerClock::now() - start_);
}

void RunProgress::AddAccepted(int64_t transitions, const std::vector<EpisodeRecord>& episodes) {
  absl::MutexLock l(&mu_);
  env_steps_ += transitions;
  const double elapsed = wall_before_ + Seconds(ServerClock::now() - start_);
  for (const EpisodeRecord& e : episodes) {
    tracker_.Add(e.episode_return, static_cast<int>(e.length), env_steps_, elapsed);
  }
}

MetricsRow RunProgress::RecordUpdate(const Update& u) {
  MetricsRow row;
  absl::MutexLock l(&mu_);
  const ServerClock::time_point now = ServerClock::now();
  const double elapsed = wall_before_ + Seconds(now - start_);
  if (u.ok) {
    ++version_;
    ++updates_;
    lag_sum_ += u.lag_sum;
    lag_transitions_ += u.transitions;
    lag_max_ = std::max(lag_max_, u.lag_max);
  }
  const int64_t dropped = std::max<int64_t>(0, u.dropped_total - dropped_seen_);
  dropped_seen_ = std::max(dropped_seen_, u.dropped_total);
  const int64_t trained = u.ok ? u.transitions : 0;
  AddRateSample(&rate_, now, env_steps_);
  row.update = updates_;
  row.policy_version = static_cast<int64_t>(version_);
  row.env_steps = env_steps_;
  row.wall_seconds = elapsed;
  row.env_steps_per_second =
      rate_.size() >= 2 ? RatePerSecond(rate_) : env_steps_ / std::max(1e-9, elapsed);
  row.episodes = episodes_before_ + tracker_.episodes();
  row.mean_return = tracker_.mean_return();
  row.mean_length = tracker_.mean_length();
  row.mean_lag = u.transitions > 0 ? u.lag_sum / u.transitions : 0;
  if (u.ok) row.update_metrics = u.metrics;
  row.max_lag = static_cast<int64_t>(u.lag_max);
  row.dropped_steps = dropped;
  row.dropped_fraction =
      dropped + trained > 0 ? static_cast<double>(dropped) / (dropped + trained) : 0;
  row.batch_chunks = static_cast<int>(u.chunks);
  row.time_shares = u.time_shares;
  row.eval = u.eval;
  v1::UpdateMetrics& m = last_update_;
  m.Clear();
  MetricsRowToProto(row, &m);
  m.set_batch_transitions(static_cast<uint64_t>(u.transitions));  // a failed update's too
  SetTimestamp(absl::Now(), m.mutable_time());
  history_.push_back(m);
  while (history_.size() > 4096) history_.pop_front();
  return row;
}

bool RunProgress::NextMetrics(uint64_t after, v1::UpdateMetrics* out) const {
  absl::MutexLock l(&mu_);
  for (const v1::UpdateMetrics& m : history_) {
    if (m.update() > after) {
      *out = m;
      return true;
    }
  }
  return false;
}

CheckpointCounters RunProgress::Counters() const {
  CheckpointCounters c;
  absl::MutexLock l(&mu_);
  c.policy_version = version_;
  c.env_steps = env_steps_;
  c.transitions_trained = transitions_trained_before_;
  c.updates = updates_;
  c.episodes = episodes_before_ + tracker_.episodes();
  c.wall_seconds = wall_before_ + Seconds(ServerClock::now() - start_);
  return c;
}

void RunProgress::FillStatus(v1::LearnerStatus* st) const {
  absl::MutexLock l(&mu_);
  const double uptime = Seconds(ServerClock::now() - start_);
  st->set_policy_version(version_);
  st->set_env_steps(static_cast<uint64_t>(env_steps_));
  st->set_updates(static_cast<uint64_t>(updates_));
  st->set_env_steps_per_second(RatePerSecond(rate_));
  st->set_updates_per_second(uptime > 0 ? updates_ / std::max(uptime, 1e-9) : 0);
  st->set_mean_episode_return(tracker_.mean_return());
  st->set_mean_episode_length(tracker_.mean_length());
  st->set_episodes(static_cast<uint64_t>(episodes_before_ + tracker_.episodes()));
  SetDuration(uptime, st->mutable_uptime());
  if (updates_ > 0) *st->mutable_last_update() = last_update_;
}

void RunProgress::FillSummary(RunSummary* s) const {
  absl::MutexLock l(&mu_);
  s->total_env_steps = env_steps_;
  s->updates = updates_;
  s->wall_seconds = wall_before_ + Seconds(ServerClock::now() - start_);
  s->env_steps_per_second = env_steps_ / std::max(s->wall_seconds, 1e-9);
  s->episodes = episodes_before_ + tracker_.episodes();
  s->mean_return_last_100 = tracker_.mean_return();
  s->solved_at_step = tracker_.solved_at_step();
  s->solved_at_seconds = tracker_.solved_at_seconds();
  s->mean_lag = lag_transitions_ > 0 ? lag_sum_ / lag_transitions_ : 0;
  s->max_lag = static_cast<int64_t>(lag_max_);
}

}  // namespace proxima

#include "learner/server/time_breakdown.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace proxima {
namespace {

double Share(double part, double whole) {
  if (!(whole > 0) || !(part > 0)) return 0;
  return std::min(1.0, part / whole);
}

int Pct(double share) { return static_cast<int>(std::lround(share * 100)); }

// Thresholds of BottleneckVerdict (docs/learner.md "Where the time goes").
constexpr double kNetworkSendWait = 0.30;
constexpr double kNetworkLearnerIdle = 0.30;
constexpr double kLearnerBusy = 0.60;
constexpr double kLearnerBusyAlone = 0.90;
constexpr double kActorsWaiting = 0.20;
constexpr double kActorLearnerIdle = 0.40;
constexpr double kActorsBusy = 0.50;

}  // namespace

TimeShareRow SharesOf(const v1::TimeBreakdown& t) {
  TimeShareRow s;
  const double w = t.wall_seconds();
  s.ingest = Share(t.learner_ingest_seconds(), w);
  s.wait_batch = Share(t.learner_wait_batch_seconds(), w);
  s.update = Share(t.learner_update_seconds(), w);
  s.publish = Share(t.learner_publish_seconds(), w);
  const double a = t.actor_wall_seconds();
  s.env = Share(t.actor_env_seconds(), a);
  s.inference = Share(t.actor_inference_seconds(), a);
  s.send_wait = Share(t.actor_send_wait_seconds(), a);
  s.weights_wait = Share(t.actor_weights_wait_seconds(), a);
  return s;
}

std::string BottleneckVerdict(const v1::TimeBreakdown& recent) {
  const TimeShareRow s = SharesOf(recent);
  const double busy = std::min(1.0, s.update + s.publish);
  const double actors_wait = std::min(1.0, s.send_wait + s.weights_wait);
  const double actors_busy = std::min(1.0, s.env + s.inference);
  if (recent.chunks() == 0 || !(recent.actor_wall_seconds() > 0)) {
    return absl::StrFormat("no data: no actor chunks in the window; learner waits %d%% for a batch",
                           Pct(s.wait_batch));
  }
  if (s.send_wait >= kNetworkSendWait && s.wait_batch >= kNetworkLearnerIdle) {
    return absl::StrFormat(
        "network-bound: actors wait %d%% for the send window while the learner idles %d%% "
        "waiting for data",
        Pct(s.send_wait), Pct(s.wait_batch));
  }
  if (s.weights_wait >= kNetworkSendWait && s.wait_batch >= kNetworkLearnerIdle) {
    return absl::StrFormat(
        "latency-bound: actors wait %d%% for weights while the learner idles %d%% waiting for "
        "data",
        Pct(s.weights_wait), Pct(s.wait_batch));
  }
  if ((busy >= kLearnerBusy && actors_wait >= kActorsWaiting) || busy >= kLearnerBusyAlone) {
    const bool weights = s.weights_wait >= s.send_wait;
    return absl::StrFormat("learner-bound: update %d%% busy; actors idle %d%% waiting for %s",
                           Pct(busy), Pct(weights ? s.weights_wait : s.send_wait),
                           weights ? "weights" : "the send window");
  }
  if (s.wait_batch >= kActorLearnerIdle && actors_busy >= kActorsBusy) {
    const bool env = s.env >= s.inference;
    return absl::StrFormat("actor-bound: learner waits for data %d%%; actors %d%% %s",
                           Pct(s.wait_batch), Pct(env ? s.env : s.inference),
                           env ? "stepping envs" : "in inference");
  }
  return absl::StrFormat(
      "balanced: learner %d%% busy, %d%% waiting for data; actors %d%% stepping/inference, "
      "%d%% waiting",
      Pct(busy), Pct(s.wait_batch), Pct(actors_busy), Pct(actors_wait));
}

std::map<std::string, double> StageSeconds(const v1::TimeBreakdown& t) {
  return {{"learner_wall", t.wall_seconds()},
                     {"learner_ingest", t.learner_ingest_seconds()},
                     {"learner_wait_batch", t.learner_wait_batch_seconds()},
                     {"learner_update", t.learner_update_seconds()},
                     {"learner_publish", t.learner_publish_seconds()},
                     {"actor_wall", t.actor_wall_seconds()},
                     {"actor_env", t.actor_env_seconds()},
                     {"actor_inference", t.actor_inference_seconds()},
                     {"actor_send_wait", t.actor_send_wait_seconds()},
                     {"actor_weights_wait", t.actor_weights_wait_seconds()}};
}

std::map<std::string, double> StageShares(const v1::TimeBreakdown& t) {
  const TimeShareRow r = SharesOf(t);
  return {{"learner_ingest", r.ingest},   {"learner_wait_batch", r.wait_batch},
          {"learner_update", r.update},   {"learner_publish", r.publish},
          {"actor_env", r.env},           {"actor_inference", r.inference},
          {"actor_send_wait", r.send_wait}, {"actor_weights_wait", r.weights_wait}};
}

double ActorWallSeconds(const v1::TrajectoryChunk& chunk) {
  // rollout_seconds covers env + inference (and bookkeeping); an actor that
  // does not send it still has its measured parts counted.
  const double rollout = std::max<double>(
      chunk.rollout_seconds(), static_cast<double>(chunk.env_seconds()) + chunk.inference_seconds());
  return rollout + chunk.send_wait_seconds() + chunk.weights_wait_seconds();
}

TimeBreakdownTracker::TimeBreakdownTracker(ServerClock::time_point start)
    : start_(start), stage_since_(start) {}

int64_t TimeBreakdownTracker::SecondOf(ServerClock::time_point t) const {
  if (t <= start_) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(t - start_).count();
}

void TimeBreakdownTracker::AddToSecond(int64_t second, const Sums& sums, double weight) {
  Bucket& b = buckets_[static_cast<size_t>(second % static_cast<int64_t>(buckets_.size()))];
  if (b.second != second) {
    if (b.second > second) return;  // older than the window
    b.second = second;
    b.sums.fill(0);
  }
  for (int i = 0; i < kNumFields; ++i) b.sums[i] += sums[i] * weight;
}

void TimeBreakdownTracker::AddSpread(const Sums& sums, ServerClock::time_point begin,
                                     ServerClock::time_point end) {
  for (int i = 0; i < kNumFields; ++i) total_[i] += sums[i];
  const double span = Seconds(end - begin);
  if (!(span > 0)) {
    AddToSecond(SecondOf(end), sums, 1.0);
    return;
  }
  // Only the part inside the buckets' reach matters for the window.
  const ServerClock::time_point reach =
      end - std::chrono::seconds(static_cast<int64_t>(buckets_.size()));
  ServerClock::time_point t = std::max({begin, reach, start_});
  while (t < end) {
    const int64_t sec = SecondOf(t);
    const ServerClock::time_point sec_end = start_ + std::chrono::seconds(sec + 1);
    const ServerClock::time_point piece_end = std::min(end, sec_end);
    AddToSecond(sec, sums, Seconds(piece_end - t) / span);
    t = piece_end;
  }
}

void TimeBreakdownTracker::Enter(Stage stage, ServerClock::time_point now) {
  absl::MutexLock l(&mu_);
  if (stage_ != Stage::kNone && now > stage_since_) {
    Sums s{};
    s[stage_ == Stage::kWaitBatch ? kWaitBatch : stage_ == Stage::kUpdate ? kUpdate : kPublish] =
        Seconds(now - stage_since_);
    AddSpread(s, stage_since_, now);
  }
  stage_ = stage;
  stage_since_ = now;
}

void TimeBreakdownTracker::AddIngest(ServerClock::time_point begin, ServerClock::time_point end) {
  Sums s{};
  s[kIngest] = Seconds(end - begin);
  absl::MutexLock l(&mu_);
  AddSpread(s, begin, end);
}

void TimeBreakdownTracker::AddActorChunk(const v1::TrajectoryChunk& chunk,
                                         ServerClock::time_point now) {
  Sums s{};
  s[kEnv] = chunk.env_seconds();
  s[kInference] = chunk.inference_seconds();
  s[kSendWait] = chunk.send_wait_seconds();
  s[kWeightsWait] = chunk.weights_wait_seconds();
  s[kActorWall] = ActorWallSeconds(chunk);
  s[kChunks] = 1;
  const auto wall = std::chrono::duration_cast<ServerClock::duration>(
      std::chrono::duration<double>(s[kActorWall]));
  absl::MutexLock l(&mu_);
  AddSpread(s, now - wall, now);
}

void TimeBreakdownTracker::ToProto(const Sums& s, double wall, v1::TimeBreakdown* out) {
  out->set_wall_seconds(wall);
  out->set_learner_ingest_seconds(s[kIngest]);
  out->set_learner_wait_batch_seconds(s[kWaitBatch]);
  out->set_learner_update_seconds(s[kUpdate]);
  out->set_learner_publish_seconds(s[kPublish]);
  out->set_actor_env_seconds(s[kEnv]);
  out->set_actor_inference_seconds(s[kInference]);
  out->set_actor_send_wait_seconds(s[kSendWait]);
  out->set_actor_weights_wait_seconds(s[kWeightsWait]);
  out->set_actor_wall_seconds(s[kActorWall]);
  out->set_chunks(static_cast<uint64_t>(std::llround(s[kChunks])));
}

void TimeBreakdownTracker::Snapshot(v1::TimeBreakdown* total, v1::TimeBreakdown* recent,
                                    ServerClock::time_point now) const {
  absl::MutexLock l(&mu_);
  const int64_t cur = SecondOf(now);
  const int64_t first = cur - kWindowSeconds;  // 10 whole seconds + the current one
  const ServerClock::time_point window_begin =
      first <= 0 ? start_ : start_ + std::chrono::seconds(first);
  Sums all = total_;
  Sums window{};
  for (const Bucket& b : buckets_) {
    if (b.second < first || b.second > cur) continue;
    for (int i = 0; i < kNumFields; ++i) window[i] += b.sums[i];
  }
  // The trainer's unfinished stage, up to now.
  if (stage_ != Stage::kNone && now > stage_since_) {
    const int f = stage_ == Stage::kWaitBatch ? kWaitBatch
                  : stage_ == Stage::kUpdate  ? kUpdate
                                              : kPublish;
    all[f] += Seconds(now - stage_since_);
    window[f] += Seconds(now - std::max(stage_since_, window_begin));
  }
  if (total != nullptr) ToProto(all, Seconds(now - start_), total);
  if (recent != nullptr) ToProto(window, Seconds(now - window_begin), recent);
}

TimeShareRow TimeBreakdownTracker::RecentShares(ServerClock::time_point now) const {
  v1::TimeBreakdown recent;
  Snapshot(nullptr, &recent, now);
  return SharesOf(recent);
}

void TimeBreakdownTracker::Fill(v1::LearnerStatus* st, ServerClock::time_point now) const {
  Snapshot(st->mutable_time_total(), st->mutable_time_recent(), now);
  st->set_bottleneck(BottleneckVerdict(st->time_recent()));
}

}  // namespace proxima

#include "learner/server/batcher.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

namespace proxima {

bool Batcher::AssembleAsync(int64_t want, uint64_t version, std::vector<QueuedChunk>* parts) {
  int64_t have = 0;
  for (const QueuedChunk& p : *parts) have += p.transitions;
  while (have < want) {
    // Read the generation before checking what Wake() announces, so that a
    // change made after the check ends the wait below.
    const uint64_t seen = queue_->generation();
    if (queue_->closed()) return false;
    if (cb_.has_requests()) {
      cb_.serve();
      continue;
    }
    if (cb_.paused()) {
      queue_->Wait(seen, /*want_chunks=*/false, absl::InfiniteFuture());
      continue;
    }
    // The first batch also waits for --min-actors (start-up order), up to
    // the round timeout after a chunk is first there to take. (One actor:
    // the chunk's own session.)
    if (!async_started_ && options_.min_actors > 1 &&
        static_cast<int>(cb_.live_sessions().size()) < options_.min_actors) {
      if (!async_first_arrival_ && queue_->size() > 0) async_first_arrival_ = absl::Now();
      const absl::Time deadline = async_first_arrival_
                                      ? *async_first_arrival_ + options_.round_timeout
                                      : absl::InfiniteFuture();
      if (absl::Now() < deadline) {
        queue_->Wait(seen, /*want_chunks=*/!async_first_arrival_, deadline);
        continue;
      }
    }
    async_started_ = true;
    std::vector<TrajectoryQueue::Released> released;
    const uint64_t max_lag = static_cast<uint64_t>(cb_.max_policy_lag());
    while (have < want) {
      std::optional<QueuedChunk> c = queue_->TryPop(&released);
      if (!c) break;
      if (version - c->policy_version > max_lag) {
        cb_.drop(*c, v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG);
        continue;
      }
      have += c->transitions;
      parts->push_back(std::move(*c));
    }
    if (!released.empty()) cb_.released(std::move(released));
    if (have < want) queue_->Wait(seen, /*want_chunks=*/true, absl::InfiniteFuture());
  }
  return true;
}

bool Batcher::AssembleSync(uint64_t version, std::vector<QueuedChunk>* parts) {
  std::optional<absl::Time> first_arrival;
  while (true) {
    const uint64_t seen = queue_->generation();
    if (queue_->closed()) return false;
    const bool serve = cb_.has_requests();
    const bool paused = cb_.paused();
    bool ready = false;
    absl::Time deadline = absl::InfiniteFuture();
    if (!paused) {
      std::vector<TrajectoryQueue::Released> released;
      while (std::optional<QueuedChunk> c = queue_->TryPop(&released)) {
        if (c->policy_version != version) {
          cb_.drop(*c, v1::CHUNK_OUTCOME_DROPPED_LATE_FOR_ROUND);
          continue;
        }
        if (!first_arrival) first_arrival = absl::Now();
        parts->push_back(std::move(*c));
      }
      if (!released.empty()) cb_.released(std::move(released));
      // Ready when every live session delivered at this version.
      std::set<uint64_t> delivered;
      for (const QueuedChunk& c : *parts) delivered.insert(c.session_id);
      std::vector<uint64_t> missing;
      for (uint64_t id : cb_.live_sessions()) {
        if (!delivered.count(id)) missing.push_back(id);
      }
      // The first round also waits for --min-actors (start-up order).
      const bool enough =
          rounds() > 0 || static_cast<int>(delivered.size()) >= options_.min_actors;
      if (!parts->empty() && missing.empty() && enough) ready = true;
      if (!ready && !parts->empty()) {
        deadline = *first_arrival + options_.round_timeout;
        if (absl::Now() > deadline) {
          cb_.missed_round(missing);
          absl::MutexLock l(&mu_);
          exclusions_ += missing.size();
          ready = true;
        }
      }
    }
    if (serve) cb_.serve();
    if (ready) {
      // Deterministic order: seeds follow actor ids, so sorting by id makes
      // the batch independent of which actor registered or delivered first.
      std::stable_sort(parts->begin(), parts->end(),
                       [](const QueuedChunk& a, const QueuedChunk& b) {
                         return a.actor_id < b.actor_id;
                       });
      absl::MutexLock l(&mu_);
      ++rounds_;
      return true;
    }
    if (!serve) queue_->Wait(seen, /*want_chunks=*/!paused, deadline);
  }
}

uint64_t Batcher::rounds() const {
  absl::MutexLock l(&mu_);
  return rounds_;
}

uint64_t Batcher::exclusions() const {
  absl::MutexLock l(&mu_);
  return exclusions_;
}

}  // namespace proxima

#include "learner/server/trajectory_queue.h"

#include <utility>

namespace proxima {

bool TrajectoryQueue::FitsLocked(int64_t transitions) const {
  return queue_.empty() || transitions_ + transitions <= capacity_;
}

TrajectoryQueue::PushResult TrajectoryQueue::Push(QueuedChunk chunk,
                                                  std::shared_ptr<HeldChunkOwner> owner) {
  absl::MutexLock l(&mu_);
  if (closed_) return PushResult::kClosed;
  PushResult result;
  if (held_.empty() && FitsLocked(chunk.transitions)) {
    transitions_ += chunk.transitions;
    queue_.push_back(std::move(chunk));
    result = PushResult::kQueued;
  } else {
    held_.push_back(Held{std::move(owner), std::move(chunk)});
    result = PushResult::kHeld;
  }
  cv_.SignalAll();
  return result;
}

std::optional<QueuedChunk> TrajectoryQueue::TryPop(std::vector<Released>* released) {
  absl::MutexLock l(&mu_);
  if (closed_ || queue_.empty()) return std::nullopt;
  QueuedChunk c = std::move(queue_.front());
  queue_.pop_front();
  transitions_ -= c.transitions;
  while (!held_.empty() && FitsLocked(held_.front().chunk.transitions)) {
    Held h = std::move(held_.front());
    held_.pop_front();
    released->push_back(Released{std::move(h.owner), h.chunk.session_id, h.chunk.seq});
    transitions_ += h.chunk.transitions;
    queue_.push_back(std::move(h.chunk));
  }
  return c;
}

uint64_t TrajectoryQueue::generation() const {
  absl::MutexLock l(&mu_);
  return generation_;
}

void TrajectoryQueue::Wake() {
  absl::MutexLock l(&mu_);
  ++generation_;
  cv_.SignalAll();
}

void TrajectoryQueue::Wait(uint64_t seen, bool want_chunks, absl::Time deadline) {
  absl::MutexLock l(&mu_);
  while (!closed_ && generation_ == seen && !(want_chunks && !queue_.empty())) {
    if (cv_.WaitWithDeadline(&mu_, deadline)) return;  // deadline passed
  }
}

void TrajectoryQueue::Close() {
  absl::MutexLock l(&mu_);
  closed_ = true;
  cv_.SignalAll();
}

bool TrajectoryQueue::closed() const {
  absl::MutexLock l(&mu_);
  return closed_;
}

TrajectoryQueue::Drained TrajectoryQueue::Drain() {
  Drained d;
  absl::MutexLock l(&mu_);
  for (QueuedChunk& c : queue_) d.queued.push_back(std::move(c));
  for (Held& h : held_) d.held.push_back(std::move(h));
  queue_.clear();
  held_.clear();
  transitions_ = 0;
  return d;
}

int64_t TrajectoryQueue::transitions() const {
  absl::MutexLock l(&mu_);
  return transitions_;
}

size_t TrajectoryQueue::size() const {
  absl::MutexLock l(&mu_);
  return queue_.size();
}

size_t TrajectoryQueue::held() const {
  absl::MutexLock l(&mu_);
  return held_.size();
}

}  // namespace proxima

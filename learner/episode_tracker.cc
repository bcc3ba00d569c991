#include "learner/episode_tracker.h"

#include <cmath>

namespace proxima {

void EpisodeTracker::Add(double episode_return, int length, int64_t env_steps, double seconds) {
  ++episodes_;
  returns_.push_back(episode_return);
  lengths_.push_back(length);
  return_sum_ += episode_return;
  length_sum_ += length;
  if (static_cast<int>(returns_.size()) > kWindow) {
    return_sum_ -= returns_.front();
    length_sum_ -= lengths_.front();
    returns_.pop_front();
    lengths_.pop_front();
    // Re-sum occasionally to keep floating-point drift out of the window.
    if (episodes_ % 1000 == 0) {
      return_sum_ = 0;
      for (double r : returns_) return_sum_ += r;
    }
  }
  if (!solved_at_step_ && threshold_ && static_cast<int>(returns_.size()) == kWindow &&
      mean_return() >= *threshold_) {
    solved_at_step_ = env_steps;
    solved_at_seconds_ = seconds;
  }
}

EpisodeTracker::State EpisodeTracker::state() const {
  State s;
  s.returns.assign(returns_.begin(), returns_.end());
  s.lengths.assign(lengths_.begin(), lengths_.end());
  s.return_sum = return_sum_;
  s.length_sum = length_sum_;
  s.episodes = episodes_;
  s.solved_at_step = solved_at_step_;
  s.solved_at_seconds = solved_at_seconds_;
  return s;
}

absl::Status EpisodeTracker::Restore(const State& s) {
  if (s.returns.size() != s.lengths.size() || static_cast<int>(s.returns.size()) > kWindow ||
      s.episodes < static_cast<int64_t>(s.returns.size())) {
    return absl::InvalidArgumentError("episode tracker: inconsistent window");
  }
  returns_.assign(s.returns.begin(), s.returns.end());
  lengths_.assign(s.lengths.begin(), s.lengths.end());
  return_sum_ = s.return_sum;
  length_sum_ = s.length_sum;
  episodes_ = s.episodes;
  solved_at_step_ = s.solved_at_step;
  solved_at_seconds_ = s.solved_at_seconds;
  return absl::OkStatus();
}

double EpisodeTracker::mean_return() const {
  if (returns_.empty()) return std::nan("");
  return return_sum_ / static_cast<double>(returns_.size());
}

double EpisodeTracker::mean_length() const {
  if (lengths_.empty()) return std::nan("");
  return static_cast<double>(length_sum_) / static_cast<double>(lengths_.size());
}

}  // namespace proxima

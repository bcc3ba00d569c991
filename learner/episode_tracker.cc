#include "learner/episode_tracker.h"

#include <cmath>

namespace proxima {

void EpisodeTracker::Add(double episode_return, int length, int64_t env_steps, double seconds) {
  State& s = state_;
  ++s.episodes;
  s.returns.push_back(episode_return);
  s.lengths.push_back(length);
  s.return_sum += episode_return;
  s.length_sum += length;
  if (static_cast<int>(s.returns.size()) > kWindow) {
    s.return_sum -= s.returns.front();
    s.length_sum -= s.lengths.front();
    s.returns.erase(s.returns.begin());
    s.lengths.erase(s.lengths.begin());
    // Re-sum occasionally to keep floating-point drift out of the window.
    if (s.episodes % 1000 == 0) {
      s.return_sum = 0;
      for (double r : s.returns) s.return_sum += r;
    }
  }
  if (!s.solved_at_step && threshold_ && static_cast<int>(s.returns.size()) == kWindow &&
      mean_return() >= *threshold_) {
    s.solved_at_step = env_steps;
    s.solved_at_seconds = seconds;
  }
}

absl::Status EpisodeTracker::Restore(const State& s) {
  if (s.returns.size() != s.lengths.size() || static_cast<int>(s.returns.size()) > kWindow ||
      s.episodes < static_cast<int64_t>(s.returns.size())) {
    return absl::InvalidArgumentError("episode tracker: inconsistent window");
  }
  state_ = s;
  return absl::OkStatus();
}

double EpisodeTracker::mean_return() const {
  if (state_.returns.empty()) return std::nan("");
  return state_.return_sum / static_cast<double>(state_.returns.size());
}

double EpisodeTracker::mean_length() const {
  if (state_.lengths.empty()) return std::nan("");
  return static_cast<double>(state_.length_sum) / static_cast<double>(state_.lengths.size());
}

}  // namespace proxima

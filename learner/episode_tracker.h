// EpisodeTracker: the last-100 episode window and the "solved" moment.
//
// solved_at_* record the first time the mean return of the last 100 finished
// episodes reaches the env's reward threshold (a full window of 100 episodes is
// required, as in the usual "last-100 mean" criterion). Not thread-safe.
#ifndef PROXIMA_LEARNER_EPISODE_TRACKER_H_
#define PROXIMA_LEARNER_EPISODE_TRACKER_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"

namespace proxima {

class EpisodeTracker {
 public:
  static constexpr int kWindow = 100;

  explicit EpisodeTracker(std::optional<double> reward_threshold)
      : threshold_(reward_threshold) {}

  // Records a finished episode seen at `env_steps` total steps, `seconds` into
  // the run.
  void Add(double episode_return, int length, int64_t env_steps, double seconds);

  int64_t episodes() const { return state_.episodes; }
  // Mean of the last (up to) 100 returns / lengths; NaN before any episode.
  double mean_return() const;
  double mean_length() const;
  bool solved() const { return state_.solved_at_step.has_value(); }
  std::optional<int64_t> solved_at_step() const { return state_.solved_at_step; }
  std::optional<double> solved_at_seconds() const { return state_.solved_at_seconds; }
  std::optional<double> threshold() const { return threshold_; }

  // Everything the tracker holds, for checkpoints: restoring it makes the
  // tracker continue exactly (the running sums are kept, not recomputed).
  struct State {
    std::vector<double> returns;  // the window, oldest first
    std::vector<int> lengths;
    double return_sum = 0;
    int64_t length_sum = 0;
    int64_t episodes = 0;
    std::optional<int64_t> solved_at_step;
    std::optional<double> solved_at_seconds;
  };
  State state() const { return state_; }
  // InvalidArgument for a window longer than kWindow or of unequal lengths.
  absl::Status Restore(const State& state);

 private:
  std::optional<double> threshold_;
  State state_;  // the window holds at most kWindow episodes
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_EPISODE_TRACKER_H_

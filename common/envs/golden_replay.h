// Replays transitions recorded from Gymnasium against Proxima's envs.
//
// A golden directory holds one `<EnvId>.csv` per environment with the columns
// `episode,t,s0..sK,a0..aM,reward,terminated,truncated,o0..oN`: the internal
// state before the step, the elapsed step count t, the action, and what
// Gymnasium returned. Every file is checked two ways:
//   (a) per row: the env is put into the row's state and step count, the
//       action is applied once, and the observation, reward and flags are
//       compared (tolerance row_tolerance);
//   (b) per episode: only the episode's first row state and step count are
//       set, then all of its actions are replayed in order and every row is
//       compared (tolerance episode_tolerance, which allows for drift).
// A value deviates by |got - expected| / max(1, |expected|), i.e. absolute
// for small values and relative above 1; it is a mismatch when the deviation
// exceeds the tolerance. terminated/truncated must match exactly.
//
// Used by the envs golden test and by `proxima env replay --golden DIR`.
#ifndef PROXIMA_COMMON_ENVS_GOLDEN_REPLAY_H_
#define PROXIMA_COMMON_ENVS_GOLDEN_REPLAY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace proxima {

struct GoldenReplayOptions {
  double row_tolerance = 1e-5;
  double episode_tolerance = 1e-3;
  // How many mismatches of each kind are described in a report.
  int max_described_mismatches = 5;
};

struct GoldenMismatch {
  std::string file;    // base name, e.g. "CartPole-v1.csv"
  int line = 0;        // 1-based line in the file (the header is line 1)
  std::string column;  // e.g. "o2", "reward", "terminated"
  double expected = 0.0;
  double got = 0.0;
  bool in_episode_replay = false;  // check (b) rather than (a)

  std::string ToString() const;
};

struct GoldenEnvReport {
  std::string env_id;
  std::string file;
  int rows = 0;
  int episodes = 0;
  double max_row_deviation = 0.0;      // check (a), over obs and reward
  double max_episode_deviation = 0.0;  // check (b)
  int row_mismatches = 0;
  int episode_mismatches = 0;
  std::vector<GoldenMismatch> first_mismatches;  // the first few of each kind

  bool ok() const { return row_mismatches == 0 && episode_mismatches == 0; }
  // One line: id, counts and maximum deviations.
  std::string Summary() const;
};

// |got - expected| / max(1, |expected|); infinite if exactly one is NaN.
double GoldenDeviation(double expected, double got);

// Replays one CSV; the env id is the file name without ".csv".
absl::StatusOr<GoldenEnvReport> ReplayGoldenFile(const std::string& path,
                                                 const GoldenReplayOptions& options = {});

// Replays every *.csv in `dir`, sorted by name. NotFound if there is none; an
// unreadable or malformed file, or one named after an unknown env, is an error.
absl::StatusOr<std::vector<GoldenEnvReport>> ReplayGoldenDir(
    const std::string& dir, const GoldenReplayOptions& options = {});

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_GOLDEN_REPLAY_H_

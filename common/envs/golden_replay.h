// Replays transitions recorded from Gymnasium against Proxima's envs.
//
// Two CSV formats, told apart by their header. MuJoCo files (columns
// episode,t,qpos..,qvel..,qacc_warmstart..,a..,reward,terminated,truncated,
// o..,info_..; see common/envs/mujoco/mujoco_replay.h) are replayed from
// MuJoCo's own state. Classic-control files:
//
// A golden directory holds one `<EnvId>.csv` per environment with the columns
// `episode,t,s0..sK,a0..aM,reward,terminated,truncated,o0..oN`: the internal
// state before the step, the elapsed step count t, the action, and what
// Gymnasium returned. Every file is checked two ways:
//   (a) per row: the env is put into the row's state and step count, the
//       action is applied once, and the observation, reward and flags are
//       compared (tolerance row_tolerance);
//   (b) per episode: only the episode's first row state and step count are
//       set, then its actions are replayed in order and the first
//       episode_horizon rows are compared (tolerance episode_tolerance, which
//       allows for drift). The horizon bounds the check because these systems
//       are chaotic: a last-bit difference in the recorded state (a different
//       libm, NumPy or compiler gives one) grows exponentially. Measured:
//       Acrobot-v1 replays a valid Gymnasium set with per-row deviation 0 yet
//       leaves episode_tolerance after ~287 steps, and a 1e-7 difference in a
//       swinging Acrobot leaves it after 220 (golden_replay_test). The default
//       horizon of 100 steps stays 2x below the fastest divergence measured.
//       Exactness is check (a)'s job; (b) shows that the env's own state
//       carries the dynamics forward, which a wrong term breaks within a few
//       steps.
// A value deviates by |got - expected| / max(1, |expected|), i.e. absolute
// for small values and relative above 1; it is a mismatch when the deviation
// exceeds the tolerance. terminated/truncated must match exactly.
//
// Used by the envs golden test and by `proxima env replay --golden DIR`.
#ifndef PROXIMA_COMMON_ENVS_GOLDEN_REPLAY_H_
#define PROXIMA_COMMON_ENVS_GOLDEN_REPLAY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace proxima {

struct GoldenReplayOptions {
  double row_tolerance = 1e-5;       // classic control (float32 observations)
  double episode_tolerance = 1e-3;   // classic control
  // Steps of each episode the episode check compares (see (b) above).
  int episode_horizon = 100;
  // MuJoCo files, both checks: |Δ| <= mujoco_tolerance * max(1, |x|).
  double mujoco_tolerance = 1e-6;
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
  // MuJoCo files: the largest distance in units in the last place between a
  // recorded double and Proxima's (observations, rewards, info); -1 where
  // not measured (classic control observations are float32).
  int64_t max_ulp = -1;

  bool ok() const { return row_mismatches == 0 && episode_mismatches == 0; }
  // One line: id, counts and maximum deviations.
  std::string Summary() const;
};

// Header parsing shared by both formats: counts the columns prefix0,
// prefix1, ... starting at header[*col] and advances *col past them.
int CountColumnRun(const std::vector<std::string>& header, int* col, const std::string& prefix);

// Where both formats keep a step's outcome: the columns reward, terminated
// and truncated, in that order, then the observation run o0, o1, ...
struct StepColumns {
  int reward = 0, terminated = 0, truncated = 0;  // header positions
  int obs = 0, num_obs = 0;                       // o0's position; how many
};

// Reads StepColumns starting at header[*col] and advances *col past them.
// InvalidArgument, naming the column, when a flag column is not where it
// must be; num_obs may be 0 (the caller decides).
absl::StatusOr<StepColumns> ParseStepColumns(const std::vector<std::string>& header, int* col);

// |got - expected| / max(1, |expected|); infinite if exactly one is NaN.
double GoldenDeviation(double expected, double got);

// Replays one CSV; the env id is the file name without ".csv".
absl::StatusOr<GoldenEnvReport> ReplayGoldenFile(const std::string& path,
                                                 const GoldenReplayOptions& options = {});

// Replays every *.csv in `dir` and in its sub-folders, sorted by path. NotFound if there is none; an
// unreadable or malformed file, or one named after an unknown env, is an error.
absl::StatusOr<std::vector<GoldenEnvReport>> ReplayGoldenDir(
    const std::string& dir, const GoldenReplayOptions& options = {});

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_GOLDEN_REPLAY_H_

// Replays a MuJoCo golden CSV (shared/golden/mujoco/README.md gives the
// format) against Proxima's MuJoCo envs. Called by ReplayGoldenFile
// (common/envs/golden_replay.h) for files whose header starts
// "episode,t,qpos0"; the report has the same shape as classic control's.
//
// Checks, each value to |Δ| <= options.mujoco_tolerance * max(1, |x|), flags
// exactly, and the largest ULP distance recorded:
//   (a) per row: a reset row (t = -1) is reproduced with MujocoEnv::ResetTo;
//       a step row is replayed from MuJoCo's recorded state (qpos, qvel,
//       qacc_warmstart, written raw) after first replaying the row before it
//       (or the reset, at t = 0), because some rewards read body positions
//       MuJoCo computed during the previous step. The pre-step state is
//       compared too (columns qpos*, qvel*, qacc_warmstart*).
//   (b) per episode: reset from the reset row, then the episode's actions in
//       order from the env's own state, compared for the first
//       options.episode_horizon steps.
// Compared per step: observation (double), reward, terminated, truncated and
// every info_* column (reset rows: the non-empty ones).
#ifndef PROXIMA_COMMON_ENVS_MUJOCO_MUJOCO_REPLAY_H_
#define PROXIMA_COMMON_ENVS_MUJOCO_MUJOCO_REPLAY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/envs/golden_replay.h"

namespace proxima {

// True if a golden CSV's first line is in the MuJoCo format.
bool IsMujocoGoldenHeader(absl::string_view header);

// Replays the MuJoCo golden file at `path` whose contents are `text`.
absl::StatusOr<GoldenEnvReport> ReplayMujocoGolden(const std::string& path,
                                                   const std::string& text,
                                                   const GoldenReplayOptions& options);

// Distance in units in the last place between two doubles (0 if equal,
// including two NaNs; the largest value if exactly one is NaN).
int64_t UlpDistance(double a, double b);

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MUJOCO_MUJOCO_REPLAY_H_

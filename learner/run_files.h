// The files of a run directory (DESIGN.md "Run directory"):
//   config.json   every resolved hyperparameter
//   metrics.csv   one row per update (header first, flushed every row); the
//                 columns are the metrics with a CSV column in
//                 learner/update_metrics.h, in its order
//   summary.json  written atomically at the end of a run (SummaryToJson)
// Shared by the in-process trainer and the learner server.
#ifndef PROXIMA_LEARNER_RUN_FILES_H_
#define PROXIMA_LEARNER_RUN_FILES_H_

#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "learner/ppo_config.h"
#include "learner/update_metrics.h"
#include "nlohmann/json.hpp"

namespace proxima {

nlohmann::json ConfigToJson(const PpoConfig& config);
absl::StatusOr<PpoConfig> ConfigFromJson(const nlohmann::json& j);

struct RunSummary {
  std::string env;
  uint64_t seed = 0;
  int64_t total_env_steps = 0;
  double wall_seconds = 0;
  double env_steps_per_second = 0;
  int64_t episodes = 0;
  double mean_return_last_100 = 0;  // NaN → null
  std::optional<int64_t> solved_at_step;
  std::optional<double> solved_at_seconds;
  int64_t updates = 0;
  std::string mode;    // "in-process", "sync", "async"
  std::string device;
  int actors = 0;
  // Data accounting of this process (a resumed run counts from its resume):
  // transitions received from actors, trained on, dropped (every reason),
  // and dropped by reason, keyed by the reason's display name (the
  // ChunkOutcome value without CHUNK_OUTCOME_, lower case, e.g.
  // "dropped_policy_lag"; only non-zero reasons). A learner server writes
  // the summary after nothing is queued any more, so collected = trained +
  // dropped. In-process: collected = trained, nothing dropped.
  int64_t transitions_collected = 0;
  int64_t transitions_trained = 0;
  int64_t transitions_dropped = 0;
  std::map<std::string, int64_t> transitions_dropped_by_reason;
  // Policy lag over the transitions trained on (mean weighted by
  // transitions, and the largest); 0 in-process.
  double mean_lag = 0;
  int64_t max_lag = 0;
  // Where the time went over the whole run (issue 18): seconds per stage,
  // keyed "learner_wall", "learner_ingest", "learner_wait_batch",
  // "learner_update", "learner_publish", "actor_wall", "actor_env",
  // "actor_inference", "actor_send_wait", "actor_weights_wait"
  // (v1::TimeBreakdown), and the bottleneck line over the last window.
  // Learner server only: empty in-process.
  std::map<std::string, double> time_seconds;
  std::string bottleneck;
  // Evaluation during training (--eval-every; learner/periodic_eval.h): the
  // best mean evaluation return and the update that reached it (unset
  // before the first evaluation), and the evaluation env's seed (unset
  // without --eval-every).
  std::optional<double> best_eval_return;
  std::optional<int64_t> best_eval_update;
  std::optional<uint64_t> eval_seed;
};

// summary.json's object: the fields above under their own names, with
// mean_return_last_100 null when NaN, solved_at_* null when unset, and
// dropped_fraction = transitions_dropped / transitions_collected (0 when
// nothing was collected), time_seconds an object (empty in-process),
// bottleneck null when empty, and best_eval_return, best_eval_update and
// eval_seed null when unset.

nlohmann::json SummaryToJson(const RunSummary& s);

// metrics.csv's header line and one row's line (each without the newline).
std::string MetricsCsvHeader();
std::string MetricsCsvLine(const MetricsRow& row);

class MetricsCsv {
 public:
  // A new file with the header line (an existing one is replaced).
  static absl::StatusOr<std::unique_ptr<MetricsCsv>> Open(const std::string& path);
  // A resumed run's file: the rows of updates 1..`updates` already in `path`
  // are kept (later ones, written after the checkpoint the run resumes from,
  // are dropped: the resumed run writes them again) and new rows are
  // appended. A missing or empty file starts with the header;
  // FailedPrecondition if the existing header is not MetricsCsvHeader().
  static absl::StatusOr<std::unique_ptr<MetricsCsv>> Continue(const std::string& path,
                                                              int64_t updates);
  ~MetricsCsv();
  absl::Status Append(const MetricsRow& row);

 private:
  explicit MetricsCsv(std::FILE* f) : file_(f) {}
  std::FILE* file_;
};

// runs/<env>-<seed>, with every character of the env id outside
// [A-Za-z0-9._-] replaced by '_' (remote://127.0.0.1:50061/MyEnv-v0 becomes
// runs/remote___127.0.0.1_50061_MyEnv-v0-1, one directory).
std::string DefaultRunDir(const std::string& env_id, uint64_t seed);

// Whether `dir` holds (part of) a run: config.json, metrics.csv,
// summary.json, checkpoints/ or a TensorBoard event file. A directory with
// only logs/ (what `proxima train` creates before its learner starts) or
// other files holds none.
bool HoldsRun(const std::string& dir);

// Where a new run goes, so that it never writes into another run's files:
//   `explicit_dir` given   that directory; if it holds a run, InvalidArgument
//                          naming it, or with `overwrite` the old run's files
//                          are removed first (ClearRun);
//   otherwise              `default_dir` if it holds no run, else the first of
//                          default_dir-2, default_dir-3, ... that holds none.
absl::StatusOr<std::string> NewRunDir(const std::string& explicit_dir,
                                      const std::string& default_dir, bool overwrite);

// Removes the files a run writes from `dir`: config.json, metrics.csv,
// summary.json, learner.addr, metrics.addr, dashboard.addr, checkpoints/,
// logs/ and TensorBoard event files. Other files stay.
absl::Status ClearRun(const std::string& dir);

// Creates the run directory and writes config.json.
absl::Status InitRunDir(const std::string& dir, const PpoConfig& config);
absl::Status WriteSummary(const std::string& dir, const RunSummary& summary);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_RUN_FILES_H_

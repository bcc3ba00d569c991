// One `proxima train` run as the process suites (train, solve, learn, memory,
// mujoco) start it: the real executable in a child process with its own run
// directory under BenchOptions::work_dir and its output in RUN_DIR.log, then
// summary.json and metrics.csv read back. Defined in process_suites.cc.
//
// A run that exits non-zero, is killed at its timeout, or leaves no
// summary.json object is an error naming the log; a figure summary.json
// lacks is null in the rows (never a made-up 0).
#ifndef PROXIMA_LEARNER_BENCH_TRAIN_RUNS_H_
#define PROXIMA_LEARNER_BENCH_TRAIN_RUNS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "learner/cli/bench/bench.h"
#include "learner/cli/bench/bench_process.h"
#include "nlohmann/json.hpp"

namespace proxima::bench {

struct TrainRun {
  nlohmann::json summary;  // summary.json, an object
  Finished process;
  std::string run_dir;
};

// `proxima train ARGS --quiet --run-dir WORK_DIR/LABEL`, killed after
// `timeout_seconds`.
absl::StatusOr<TrainRun> RunTrain(const BenchOptions& options, const std::string& label,
                                  std::vector<std::string> args, double timeout_seconds);

// One seed: `proxima train --env ENV --seed S [extra...] [--in-process]`
// (timeout 600 s) and its row `name` in `suite` with the run's figures from
// summary.json (null where the run did not write them) and metrics.csv, and
// its learning curve ([[env_steps, wall_seconds, mean_return], ...]) as the
// row's series.
struct SeedRun {
  BenchRow row;
  Finished process;
  nlohmann::json summary;  // the run's summary.json
};
absl::StatusOr<SeedRun> RunSeed(const BenchOptions& options, const std::string& suite,
                                const std::string& name, const std::string& env,
                                bool in_process, int seed, std::vector<std::string> extra);

// j[key], or null when `j` has no such key.
nlohmann::json NumberOrNull(const nlohmann::json& j, const char* key);
// v as a double when it is a number.
std::optional<double> OptionalNumber(const nlohmann::json& v);
// metrics.csv's learning curve in RUN_DIR, as RunSeed's series.
nlohmann::json LearningCurve(const std::string& run_dir);

}  // namespace proxima::bench

#endif  // PROXIMA_LEARNER_BENCH_TRAIN_RUNS_H_

// `proxima bench`: the benchmark suite (docs/benchmarks.md).
//
// Each suite measures one thing and adds rows to a BenchReport; the command
// prints them as a table and, with --json, writes them for
// learner/cli/bench/plot_benchmarks.sh. Suites:
//   env        env steps/s per env, single thread            (Google Benchmark)
//   inference  actor inference samples/s vs batch 1…4096     (Google Benchmark)
//   update     learner update samples/s, 64×64 and 256×256   (Google Benchmark)
//   ingest     transitions/s the learner accepts from N synthetic actors
//              (the actor's ChunkSender, no env or policy in front)
//   broadcast  weight-broadcast latency publish → applied by the actor's
//              WeightWatcher, 1/8/32 actors
//   train      end-to-end `proxima train`, 1/2/4 actors and in-process
//   solve      time-to-solve CartPole-v1, 5 seeds, cluster and in-process
//   learn      the default cluster's learning targets (issue 17): CartPole-v1,
//              Acrobot-v1, Pendulum-v1 over several seeds, one verdict row per
//              target (learn_targets.h)
//   mujoco     MuJoCo: HalfCheetah-v4 throughput (in-process, 1/2/4 actors)
//              and CleanRL-preset learning on HalfCheetah/Hopper/Walker2d-v4,
//              3 seeds, against CleanRL's figures (mujoco_suite.h)
//   memory     peak RSS of learner and actor processes
//   seqwire    sequence chunks: bytes per sequence, and sequences/s and
//              tokens/s a sequence run's learner ingests (seq_wire_suite.cc)
//   generation sequence-policy generation tokens/s on one core, with and
//              without the KV cache, batch 1/8/64 (generation_suite.cc)
// Figures are medians where a suite repeats. Only `learn` judges its figures
// (a `pass` per target, printed as PASS/FAIL), and `mujoco` its mean return
// against CleanRL's (`met`); no test asserts a timed target
// (targets belong to the docs, not to timed tests).
#ifndef PROXIMA_LEARNER_BENCH_BENCH_H_
#define PROXIMA_LEARNER_BENCH_BENCH_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace proxima::bench {

struct BenchOptions {
  // Short runs for CI and smoke tests (fewer seeds, smaller budgets). The
  // figures in docs/benchmarks.md come from full runs.
  bool quick = false;
  // Directory holding proxima, proxima-learner and proxima-actor.
  std::string bin_dir;
  // Scratch directory for run directories and logs (created if missing).
  std::string work_dir;
  // One line of progress (stderr); never null.
  std::function<void(absl::string_view)> log = [](absl::string_view) {};
};

// One measurement: which suite, which case, its parameters and its figures.
// `params` and `metrics` are JSON objects; metric values are numbers (or null
// when not measurable, e.g. a run that never solved), except a target's
// verdict: `pass`, true, false or null (no verdict), which ToText prints as
// PASS, FAIL or "no verdict" followed by params' "target" text.
struct BenchRow {
  BenchRow() = default;
  BenchRow(std::string suite_name, std::string case_name)
      : suite(std::move(suite_name)), name(std::move(case_name)) {}
  std::string suite;
  std::string name;
  nlohmann::json params = nlohmann::json::object();
  nlohmann::json metrics = nlohmann::json::object();
  // Optional data for plots (e.g. a learning curve: [[env_steps, wall_seconds,
  // mean_return], ...]); written to JSON only when set.
  nlohmann::json series;
};

class BenchReport {
 public:
  void Add(BenchRow row) { rows_.push_back(std::move(row)); }
  const std::vector<BenchRow>& rows() const { return rows_; }
  // {"machine": {...}, "rows": [{"suite","name","params","metrics"}...]}
  nlohmann::json ToJson() const;
  // Human-readable, one line per row, grouped by suite.
  std::string ToText() const;

 private:
  std::vector<BenchRow> rows_;
};

// Host facts recorded with every report: cores, CPU model, libblas target,
// LibTorch version, build type.
nlohmann::json MachineInfo();

using SuiteFn = absl::Status (*)(const BenchOptions&, BenchReport*);
struct Suite {
  const char* name;
  const char* description;
  SuiteFn run;
};
// In the order `proxima bench` runs them.
const std::vector<Suite>& AllSuites();

// The suites (learner/cli/bench/*.cc).
absl::Status RunEnvSuite(const BenchOptions& options, BenchReport* report);
absl::Status RunInferenceSuite(const BenchOptions& options, BenchReport* report);
absl::Status RunUpdateSuite(const BenchOptions& options, BenchReport* report);
absl::Status RunIngestSuite(const BenchOptions& options, BenchReport* report);
absl::Status RunBroadcastSuite(const BenchOptions& options, BenchReport* report);
absl::Status RunTrainSuite(const BenchOptions& options, BenchReport* report);
absl::Status RunSolveSuite(const BenchOptions& options, BenchReport* report);
absl::Status RunLearnSuite(const BenchOptions& options, BenchReport* report);
absl::Status RunMujocoSuite(const BenchOptions& options, BenchReport* report);
absl::Status RunMemorySuite(const BenchOptions& options, BenchReport* report);
absl::Status RunSeqWireSuite(const BenchOptions& options, BenchReport* report);
absl::Status RunGenerationSuite(const BenchOptions& options, BenchReport* report);

// Median of `values` (NaN when empty).
double Median(std::vector<double> values);
// The p-th percentile (0..100), nearest-rank; NaN when empty.
double Percentile(std::vector<double> values, double p);

}  // namespace proxima::bench

#endif  // PROXIMA_LEARNER_BENCH_BENCH_H_

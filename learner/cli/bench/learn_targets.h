// `proxima bench --suite learn`: the learning targets of the default
// `proxima train` (a local cluster, async) from issue 17, and the verdict
// over a set of finished runs (docs/benchmarks.md "Default-mode learning
// targets (issue 17)"). Pure logic, no processes: the suite
// (process_suites.cc) runs `proxima train` once per LearnPlan entry and
// seed, fills one LearnRun per run and adds one row per LearnVerdict.
//
// Targets (full runs; medians over the seeds of the default cluster):
//   CartPole-v1/solved       solved_at_step ≤ 280,000 (seeds 1–5, default 500k budget)
//   Acrobot-v1/return        last-100 mean return ≥ −100 (seeds 1–3, --total-steps 500000)
//   Pendulum-v1/vs-in-process  last-100 mean return no more than 100 below
//                            the in-process trainer's median (seeds 1–3, 1M budget)
//   Pendulum-v1/reach-300    first env step with mean return ≥ −300 ≤ 1,000,000
//   cluster/dropped          every cluster run drops < 5% of collected env steps
//   CartPole-v1/throughput   env steps/s, recorded only: its target (≥ 95% of
//                            the figure before a change) needs that figure
// A figure a run did not reach (never solved, no episode, never reached the
// return) counts as the worst value (+inf where lower is better, −inf where
// higher is), so a median with a failing majority fails. `pass` is unset in
// quick mode (short budgets: a smoke test), when no run covers the target,
// and when a run lacks a figure it should have measured (summary.json
// without dropped_fraction).
#ifndef PROXIMA_LEARNER_BENCH_LEARN_TARGETS_H_
#define PROXIMA_LEARNER_BENCH_LEARN_TARGETS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "learner/cli/bench/bench.h"

namespace proxima::bench {

// One env's runs: `proxima train --env ENV --seed S [--total-steps N]`, on
// the default cluster and, with `in_process_too`, with --in-process.
struct LearnPlanEntry {
  std::string env;
  std::vector<int> seeds;
  std::optional<int64_t> total_steps;  // unset: the preset's budget
  bool in_process_too = false;
  // Where set, each run reports the first env step at which metrics.csv's
  // mean_return reached it (Pendulum-v1: −300).
  std::optional<double> reach_return;
};
std::vector<LearnPlanEntry> LearnPlan(bool quick);

// The figures of one finished run (unset: not produced by the run).
struct LearnRun {
  std::string env;
  bool in_process = false;
  int seed = 0;
  std::optional<double> solved_at_step;
  std::optional<double> mean_return_last_100;
  std::optional<double> reached_return_at_step;
  std::optional<double> env_steps_per_second;
  std::optional<double> dropped_fraction;
};

struct LearnVerdict {
  std::string name;       // the row's name, e.g. "CartPole-v1/solved"
  std::string target;     // the target in words
  std::string statistic;  // the metric `median` is reported as
  double median = 0;      // over the covered runs; ±inf or NaN possible
  double limit = 0;       // NaN where the target has none
  int runs = 0;           // runs the target covers
  int missing = 0;        // of which produced no figure
  std::optional<double> max;  // cluster/dropped: the largest fraction
  std::optional<bool> pass;
};

// One verdict per target above, in that order.
std::vector<LearnVerdict> EvaluateLearnTargets(const std::vector<LearnRun>& runs, bool quick);

// The verdict as a `learn` row: params {"target"}, metrics {the statistic,
// "limit", "runs", "missing", ["max"], "pass" (true, false or null)}.
BenchRow LearnVerdictRow(const LearnVerdict& verdict);

}  // namespace proxima::bench

#endif  // PROXIMA_LEARNER_BENCH_LEARN_TARGETS_H_

#include "learner/cli/bench/learn_targets.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace proxima::bench {
namespace {

constexpr double kCartPoleSolvedSteps = 280000;
constexpr int64_t kAcrobotSteps = 500000;
constexpr double kAcrobotReturn = -100;
constexpr double kPendulumGap = 100;
constexpr double kPendulumReturn = -300;
constexpr double kPendulumReachSteps = 1000000;
constexpr double kMaxDroppedFraction = 0.05;
constexpr int64_t kQuickSteps = 100000;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

enum class Better { kLower, kHigher };

using Figure = std::optional<double> LearnRun::*;

std::vector<const LearnRun*> ClusterRuns(const std::vector<LearnRun>& runs,
                                         const std::string& env, bool in_process = false) {
  std::vector<const LearnRun*> out;
  for (const LearnRun& r : runs) {
    if (r.in_process == in_process && (env.empty() || r.env == env)) out.push_back(&r);
  }
  return out;
}

// The median of `figure` over `runs`, a missing figure counting as the worst
// value; pass = median on the right side of `limit` (unset in quick mode,
// without runs or without a limit).
LearnVerdict MedianTarget(std::string name, std::string target, std::string statistic,
                          const std::vector<const LearnRun*>& runs, Figure figure, Better better,
                          double limit, bool quick) {
  LearnVerdict v;
  v.name = std::move(name);
  v.target = std::move(target);
  v.statistic = std::move(statistic);
  v.limit = limit;
  v.runs = static_cast<int>(runs.size());
  std::vector<double> values;
  for (const LearnRun* r : runs) {
    const std::optional<double>& f = r->*figure;
    if (!f.has_value()) ++v.missing;
    values.push_back(f.value_or(better == Better::kLower ? kInf : -kInf));
  }
  v.median = Median(std::move(values));
  if (!quick && v.runs > 0 && !std::isnan(limit) && !std::isnan(v.median)) {
    v.pass = better == Better::kLower ? v.median <= limit : v.median >= limit;
  }
  return v;
}

}  // namespace

std::vector<LearnPlanEntry> LearnPlan(bool quick) {
  if (quick) {
    return {{"CartPole-v1", {1}, kQuickSteps, false, std::nullopt},
            {"Acrobot-v1", {1}, kQuickSteps, false, std::nullopt},
            {"Pendulum-v1", {1}, kQuickSteps, true, kPendulumReturn}};
  }
  return {{"CartPole-v1", {1, 2, 3, 4, 5}, std::nullopt, false, std::nullopt},
          {"Acrobot-v1", {1, 2, 3}, kAcrobotSteps, false, std::nullopt},
          {"Pendulum-v1", {1, 2, 3}, std::nullopt, true, kPendulumReturn}};
}

std::vector<LearnVerdict> EvaluateLearnTargets(const std::vector<LearnRun>& runs, bool quick) {
  std::vector<LearnVerdict> out;
  out.push_back(MedianTarget(
      "target/CartPole-v1/solved",
      "CartPole-v1 solved at a median of <= 280,000 env steps (cluster, seeds 1-5, 500k budget)",
      "median_solved_at_step", ClusterRuns(runs, "CartPole-v1"), &LearnRun::solved_at_step,
      Better::kLower, kCartPoleSolvedSteps, quick));
  out.push_back(MedianTarget(
      "target/Acrobot-v1/return",
      "Acrobot-v1 last-100 mean return, median >= -100 by 500,000 env steps (cluster, seeds 1-3)",
      "median_mean_return_last_100", ClusterRuns(runs, "Acrobot-v1"),
      &LearnRun::mean_return_last_100, Better::kHigher, kAcrobotReturn, quick));

  const LearnVerdict in_process = MedianTarget(
      "", "", "", ClusterRuns(runs, "Pendulum-v1", /*in_process=*/true),
      &LearnRun::mean_return_last_100, Better::kHigher, kNaN, quick);
  const double limit = std::isfinite(in_process.median) ? in_process.median - kPendulumGap : kNaN;
  out.push_back(MedianTarget(
      "target/Pendulum-v1/vs-in-process",
      "Pendulum-v1 last-100 mean return, cluster median no more than 100 below the in-process "
      "median (limit = in-process median - 100; seeds 1-3, 1M budget)",
      "median_mean_return_last_100", ClusterRuns(runs, "Pendulum-v1"),
      &LearnRun::mean_return_last_100, Better::kHigher, limit, quick));
  out.push_back(MedianTarget(
      "target/Pendulum-v1/reach-300",
      "Pendulum-v1 mean return reaches -300 within 1,000,000 env steps, median (cluster, "
      "seeds 1-3)",
      "median_reached_return_at_step", ClusterRuns(runs, "Pendulum-v1"),
      &LearnRun::reached_return_at_step, Better::kLower, kPendulumReachSteps, quick));

  // Dropped env steps: every cluster run, and a run without the figure
  // leaves the target undecided (not failed: it was not measured).
  LearnVerdict dropped;
  dropped.name = "target/cluster/dropped";
  dropped.target = "every default-cluster run drops < 5% of its collected env steps";
  dropped.statistic = "median_dropped_fraction";
  dropped.limit = kMaxDroppedFraction;
  std::vector<double> fractions;
  for (const LearnRun* r : ClusterRuns(runs, "")) {
    ++dropped.runs;
    if (r->dropped_fraction.has_value()) {
      fractions.push_back(*r->dropped_fraction);
    } else {
      ++dropped.missing;
    }
  }
  dropped.median = Median(fractions);
  if (!fractions.empty()) dropped.max = *std::max_element(fractions.begin(), fractions.end());
  if (!quick && dropped.runs > 0 && dropped.missing == 0) {
    dropped.pass = *dropped.max < kMaxDroppedFraction;
  }
  out.push_back(std::move(dropped));

  // Throughput: recorded, judged against the figure before a change by
  // whoever made it (no verdict here).
  LearnVerdict throughput = MedianTarget(
      "target/CartPole-v1/throughput",
      "CartPole-v1 env steps/s (cluster): keep >= 95% of the figure before a change "
      "(judged by hand against docs/benchmarks.md)",
      "median_env_steps_per_second", ClusterRuns(runs, "CartPole-v1"),
      &LearnRun::env_steps_per_second, Better::kHigher, kNaN, quick);
  out.push_back(std::move(throughput));
  return out;
}

BenchRow LearnVerdictRow(const LearnVerdict& v) {
  auto number = [](double d) { return std::isfinite(d) ? nlohmann::json(d) : nlohmann::json(); };
  BenchRow row{"learn", v.name};
  row.params = {{"target", v.target}};
  row.metrics = {{v.statistic, number(v.median)},
                 {"limit", number(v.limit)},
                 {"runs", v.runs},
                 {"missing", v.missing}};
  if (v.max.has_value()) row.metrics["max"] = number(*v.max);
  row.metrics["pass"] = v.pass.has_value() ? nlohmann::json(*v.pass) : nlohmann::json();
  return row;
}

}  // namespace proxima::bench

// The default `proxima train` — local cluster, async, flow control by policy
// version — learns per env step like CleanRL and trains what it collects:
// one short seeded run per env family (discrete: CartPole, Acrobot;
// continuous: Pendulum). The multi-seed targets are `proxima bench --suite
// learn` (docs/benchmarks.md); these runs are the regression guard.
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

// metrics.csv as columns by name.
std::map<std::string, std::vector<double>> ReadMetrics(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> lines = absl::StrSplit(text.str(), '\n', absl::SkipWhitespace());
  std::map<std::string, std::vector<double>> columns;
  if (lines.empty()) return columns;
  const std::vector<std::string> header = absl::StrSplit(lines[0], ',');
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> cells = absl::StrSplit(lines[i], ',');
    for (size_t c = 0; c < header.size() && c < cells.size(); ++c) {
      double v = NAN;
      (void)absl::SimpleAtod(cells[c], &v);
      columns[header[c]].push_back(v);
    }
  }
  return columns;
}

struct TrainedRun {
  nlohmann::json summary;
  std::map<std::string, std::vector<double>> metrics;
};

TrainedRun Train(const std::string& env, const std::string& extra, int seed = 1) {
  const std::string dir = MakeTempDir("default_learning");
  const CommandResult r =
      RunCommand(BinPath("proxima") + " train --env " + env + " --seed " + std::to_string(seed) +
                 " --quiet --run-dir " + dir + " " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  TrainedRun run{LoadJsonOrDie(dir + "/summary.json"), ReadMetrics(dir + "/metrics.csv")};
  EXPECT_EQ(run.summary["mode"], "async");
  EXPECT_EQ(run.summary["actors"], 2);
  return run;
}

// Data dropped while training (metrics.csv's dropped_steps; what a learner
// that reached its budget refuses afterwards is not "steady state") is under
// 5% of the env steps, and trained data is about one version stale (before
// flow control: a mean lag of 7.5 and 30% dropped).
void ExpectTrainsWhatItCollects(const TrainedRun& run) {
  const std::vector<double>& dropped = run.metrics.at("dropped_steps");
  const std::vector<double>& steps = run.metrics.at("env_steps");
  ASSERT_FALSE(steps.empty());
  double sum = 0;
  for (double d : dropped) sum += d;
  EXPECT_LT(sum, 0.05 * steps.back()) << run.summary.dump(2);
  EXPECT_LE(run.summary["mean_lag"].get<double>(), 2.5) << run.summary.dump(2);
  const double trained = run.summary["transitions_trained"].get<double>();
  EXPECT_GE(trained, 0.9 * run.summary["total_env_steps"].get<double>()) << run.summary.dump(2);
}

TEST(DefaultLearningTest, CartPoleSolvesWithinCleanRLsSteps) {
  // CleanRL: 255k steps (seed 11); the old default needed 281k-390k. An
  // async run is not reproducible step for step (which chunk lands first
  // varies), so one seed's figure spreads: 212k-305k over six runs of seed 1
  // here. The mean of three seeds (its spread about a third of that) is the
  // guard; the old default's mean would be ~335k.
  double sum = 0;
  for (int seed = 1; seed <= 3; ++seed) {
    const TrainedRun run = Train("CartPole-v1", "--stop-when-solved", seed);
    ASSERT_FALSE(run.summary["solved_at_step"].is_null()) << run.summary.dump(2);
    sum += run.summary["solved_at_step"].get<double>();
    ExpectTrainsWhatItCollects(run);
  }
  EXPECT_LE(sum / 3, 300000);
}

TEST(DefaultLearningTest, AcrobotSolves) {
  // The preset is CleanRL's; solved at ~127k steps (CleanRL: 142k).
  const TrainedRun run = Train("Acrobot-v1", "--stop-when-solved --total-steps 250000");
  ASSERT_FALSE(run.summary["solved_at_step"].is_null()) << run.summary.dump(2);
  ExpectTrainsWhatItCollects(run);
}

TEST(DefaultLearningTest, PendulumLearnsLikeInProcess) {
  // The in-process guard (tests/learner/pendulum_learning_test.cc) asks the
  // same of the in-process trainer at the same budget.
  const TrainedRun run = Train("Pendulum-v1", "--total-steps 409600");
  EXPECT_GE(run.summary["mean_return_last_100"].get<double>(), -400) << run.summary.dump(2);
  ExpectTrainsWhatItCollects(run);
}

}  // namespace
}  // namespace proxima

// `proxima bench --suite learn`'s pure logic (learner/cli/bench/learn_targets.h):
// the plan of runs, the median and verdict per target over hand-made runs,
// the verdict rows and how the report prints them; and `--suite mujoco`'s
// plan and summary row against CleanRL (mujoco_suite.h). No process is started.
#include "learner/cli/bench/learn_targets.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/cli/bench/bench.h"
#include "learner/cli/bench/mujoco_suite.h"

namespace proxima::bench {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

LearnRun MakeRun(const std::string& env, int seed, bool in_process = false) {
  LearnRun r;
  r.env = env;
  r.seed = seed;
  r.in_process = in_process;
  r.dropped_fraction = 0.01;
  r.env_steps_per_second = 50000;
  return r;
}

std::map<std::string, LearnVerdict> ByName(const std::vector<LearnVerdict>& verdicts) {
  std::map<std::string, LearnVerdict> out;
  for (const LearnVerdict& v : verdicts) out[v.name] = v;
  return out;
}

// CartPole seeds solved at `steps` (nullopt: never solved).
std::vector<LearnRun> CartPole(const std::vector<std::optional<double>>& steps) {
  std::vector<LearnRun> runs;
  for (size_t i = 0; i < steps.size(); ++i) {
    runs.push_back(MakeRun("CartPole-v1", static_cast<int>(i) + 1));
    runs.back().solved_at_step = steps[i];
  }
  return runs;
}

TEST(LearnPlanTest, FullRunsTheIssueSeedsAndBudgetsQuickOneShortSeedEach) {
  const std::vector<LearnPlanEntry> full = LearnPlan(/*quick=*/false);
  ASSERT_EQ(full.size(), 3u);
  EXPECT_EQ(full[0].env, "CartPole-v1");
  EXPECT_EQ(full[0].seeds, (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_FALSE(full[0].total_steps.has_value());  // the preset's 500k
  EXPECT_EQ(full[1].env, "Acrobot-v1");
  EXPECT_EQ(full[1].seeds, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(full[1].total_steps, 500000);
  EXPECT_EQ(full[2].env, "Pendulum-v1");
  EXPECT_EQ(full[2].seeds, (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(full[2].total_steps.has_value());  // the preset's 1M
  EXPECT_TRUE(full[2].in_process_too);
  EXPECT_EQ(full[2].reach_return, -300);
  EXPECT_FALSE(full[0].in_process_too || full[1].in_process_too);

  const std::vector<LearnPlanEntry> quick = LearnPlan(/*quick=*/true);
  ASSERT_EQ(quick.size(), 3u);
  for (const LearnPlanEntry& e : quick) {
    EXPECT_EQ(e.seeds, std::vector<int>{1}) << e.env;
    EXPECT_EQ(e.total_steps, 100000) << e.env;
  }
}

TEST(LearnTargetsTest, CartPoleMedianCountsUnsolvedSeedsAsNeverSolved) {
  // Two seeds never solve: the median is still the third best, 260k.
  auto v = ByName(EvaluateLearnTargets(
      CartPole({200000, std::nullopt, 260000, 250000, std::nullopt}), false));
  const LearnVerdict& solved = v["target/CartPole-v1/solved"];
  EXPECT_EQ(solved.runs, 5);
  EXPECT_EQ(solved.missing, 2);
  EXPECT_EQ(solved.median, 260000);
  EXPECT_EQ(solved.pass, true);
  // Three never solve: the median is "never", and fails.
  v = ByName(EvaluateLearnTargets(
      CartPole({200000, std::nullopt, std::nullopt, 250000, std::nullopt}), false));
  EXPECT_TRUE(std::isinf(v["target/CartPole-v1/solved"].median));
  EXPECT_EQ(v["target/CartPole-v1/solved"].pass, false);
  // The limit itself passes; one step above fails.
  v = ByName(EvaluateLearnTargets(CartPole({280000, 280000, 280000}), false));
  EXPECT_EQ(v["target/CartPole-v1/solved"].pass, true);
  v = ByName(EvaluateLearnTargets(CartPole({280001, 280001, 100}), false));
  EXPECT_EQ(v["target/CartPole-v1/solved"].pass, false);
  // The throughput is the median of the cluster runs, never judged here.
  EXPECT_EQ(v["target/CartPole-v1/throughput"].median, 50000);
  EXPECT_FALSE(v["target/CartPole-v1/throughput"].pass.has_value());
}

TEST(LearnTargetsTest, AcrobotMedianReturnAgainstMinus100) {
  std::vector<LearnRun> runs;
  for (double ret : {-90.0, -120.0, -95.0}) {
    runs.push_back(MakeRun("Acrobot-v1", static_cast<int>(runs.size()) + 1));
    runs.back().mean_return_last_100 = ret;
  }
  auto v = ByName(EvaluateLearnTargets(runs, false));
  EXPECT_EQ(v["target/Acrobot-v1/return"].median, -95);
  EXPECT_EQ(v["target/Acrobot-v1/return"].pass, true);
  runs[0].mean_return_last_100.reset();  // no episode finished: worst
  v = ByName(EvaluateLearnTargets(runs, false));
  EXPECT_EQ(v["target/Acrobot-v1/return"].median, -120);
  EXPECT_EQ(v["target/Acrobot-v1/return"].pass, false);
  // Other envs' runs do not count.
  EXPECT_EQ(v["target/CartPole-v1/solved"].runs, 0);
  EXPECT_FALSE(v["target/CartPole-v1/solved"].pass.has_value());
}

TEST(LearnTargetsTest, PendulumAgainstInProcessAndReachingMinus300) {
  std::vector<LearnRun> runs;
  const std::vector<double> in_process = {-180, -200, -190};
  const std::vector<double> cluster = {-260, -300, -280};
  const std::vector<std::optional<double>> reached = {600000, std::nullopt, 900000};
  for (int i = 0; i < 3; ++i) {
    runs.push_back(MakeRun("Pendulum-v1", i + 1, /*in_process=*/true));
    runs.back().mean_return_last_100 = in_process[i];
    runs.push_back(MakeRun("Pendulum-v1", i + 1));
    runs.back().mean_return_last_100 = cluster[i];
    runs.back().reached_return_at_step = reached[i];
  }
  auto v = ByName(EvaluateLearnTargets(runs, false));
  const LearnVerdict& gap = v["target/Pendulum-v1/vs-in-process"];
  EXPECT_EQ(gap.runs, 3);  // the cluster's
  EXPECT_EQ(gap.median, -280);
  EXPECT_EQ(gap.limit, -290);  // in-process median -190, less 100
  EXPECT_EQ(gap.pass, true);
  const LearnVerdict& reach = v["target/Pendulum-v1/reach-300"];
  EXPECT_EQ(reach.median, 900000);
  EXPECT_EQ(reach.missing, 1);
  EXPECT_EQ(reach.pass, true);

  runs[1].mean_return_last_100 = -320;  // cluster seed 1: the median falls to -300
  v = ByName(EvaluateLearnTargets(runs, false));
  EXPECT_EQ(v["target/Pendulum-v1/vs-in-process"].median, -300);
  EXPECT_EQ(v["target/Pendulum-v1/vs-in-process"].pass, false);
  // Without in-process runs there is nothing to compare with.
  runs.erase(std::remove_if(runs.begin(), runs.end(), [](const LearnRun& r) { return r.in_process; }),
             runs.end());
  v = ByName(EvaluateLearnTargets(runs, false));
  EXPECT_TRUE(std::isnan(v["target/Pendulum-v1/vs-in-process"].limit));
  EXPECT_FALSE(v["target/Pendulum-v1/vs-in-process"].pass.has_value());
}

TEST(LearnTargetsTest, DroppedFractionEveryClusterRunBelowFivePercent) {
  std::vector<LearnRun> runs = CartPole({200000, 200000});
  runs.push_back(MakeRun("Pendulum-v1", 1, /*in_process=*/true));
  runs.back().dropped_fraction = 0.5;  // in-process: not a cluster run
  runs[0].dropped_fraction = 0.02;
  runs[1].dropped_fraction = 0.049;
  auto v = ByName(EvaluateLearnTargets(runs, false));
  const LearnVerdict& dropped = v["target/cluster/dropped"];
  EXPECT_EQ(dropped.runs, 2);
  EXPECT_DOUBLE_EQ(dropped.median, 0.0345);
  EXPECT_EQ(dropped.max, 0.049);
  EXPECT_EQ(dropped.pass, true);
  runs[1].dropped_fraction = 0.05;
  EXPECT_EQ(ByName(EvaluateLearnTargets(runs, false))["target/cluster/dropped"].pass, false);
  // A summary.json without the figure: not measured, so no verdict.
  runs[1].dropped_fraction.reset();
  v = ByName(EvaluateLearnTargets(runs, false));
  EXPECT_EQ(v["target/cluster/dropped"].missing, 1);
  EXPECT_FALSE(v["target/cluster/dropped"].pass.has_value());
}

TEST(LearnTargetsTest, QuickModeReportsMediansButNoVerdict) {
  const std::vector<LearnVerdict> verdicts = EvaluateLearnTargets(CartPole({90000}), true);
  ASSERT_EQ(verdicts.size(), 6u);
  for (const LearnVerdict& v : verdicts) EXPECT_FALSE(v.pass.has_value()) << v.name;
  EXPECT_EQ(ByName(verdicts)["target/CartPole-v1/solved"].median, 90000);
}

TEST(LearnTargetsTest, VerdictRowsPrintPassFailOrNoVerdict) {
  std::vector<LearnRun> runs = CartPole({200000, 210000, std::nullopt});
  runs.push_back(MakeRun("Acrobot-v1", 1));  // never finished an episode
  BenchReport report;
  for (const LearnVerdict& v : EvaluateLearnTargets(runs, false)) report.Add(LearnVerdictRow(v));
  const std::vector<BenchRow>& rows = report.rows();
  ASSERT_EQ(rows.size(), 6u);
  const BenchRow& solved = rows[0];
  EXPECT_EQ(solved.suite, "learn");
  EXPECT_EQ(solved.name, "target/CartPole-v1/solved");
  EXPECT_EQ(solved.metrics["median_solved_at_step"], 210000.0);
  EXPECT_EQ(solved.metrics["limit"], 280000.0);
  EXPECT_EQ(solved.metrics["runs"], 3);
  EXPECT_EQ(solved.metrics["missing"], 1);
  EXPECT_EQ(solved.metrics["pass"], true);
  // -inf median (no episode): null in the row, and a failed target.
  EXPECT_TRUE(rows[1].metrics["median_mean_return_last_100"].is_null());
  EXPECT_EQ(rows[1].metrics["pass"], false);
  EXPECT_TRUE(rows[2].metrics["pass"].is_null());  // no Pendulum runs

  const std::string text = report.ToText();
  EXPECT_THAT(text, HasSubstr("PASS: CartPole-v1 solved at a median of <= 280,000"));
  EXPECT_THAT(text, HasSubstr("FAIL: Acrobot-v1 last-100 mean return"));
  EXPECT_THAT(text, HasSubstr("no verdict: Pendulum-v1"));
  EXPECT_THAT(text, Not(HasSubstr("pass=")));
  const nlohmann::json json = report.ToJson();
  EXPECT_EQ(json["rows"][0]["params"]["target"], solved.params["target"]);
}

TEST(LearnTargetsTest, LearnAndSolveAreBothSuites) {
  std::vector<std::string> names;
  for (const Suite& s : AllSuites()) names.push_back(s.name);
  EXPECT_THAT(names, ::testing::Contains("learn"));
  EXPECT_THAT(names, ::testing::Contains("solve"));
  // mujoco runs right after learn.
  const auto learn = std::find(names.begin(), names.end(), "learn");
  ASSERT_NE(learn + 1, names.end());
  EXPECT_EQ(learn[1], "mujoco");
}

TEST(MujocoSuiteTest, PlanIsThreeEnvsThreeSeedsAtOneMillion) {
  const MujocoLearnPlan full = MujocoLearnPlanFor(false);
  EXPECT_THAT(full.envs, ::testing::ElementsAre("HalfCheetah-v4", "Hopper-v4", "Walker2d-v4"));
  EXPECT_THAT(full.seeds, ::testing::ElementsAre(1, 2, 3));
  EXPECT_EQ(full.total_steps, 1000000);
  const MujocoLearnPlan quick = MujocoLearnPlanFor(true);
  EXPECT_THAT(quick.envs, ::testing::ElementsAre("HalfCheetah-v4"));
  EXPECT_THAT(quick.seeds, ::testing::ElementsAre(1));
  EXPECT_EQ(quick.total_steps, 20480);
  for (const std::string& env : full.envs) EXPECT_TRUE(CleanRlPpoFigure(env).has_value()) << env;
  EXPECT_DOUBLE_EQ(CleanRlPpoFigure("Humanoid-v4")->mean, 716.1);
  EXPECT_FALSE(CleanRlPpoFigure("CartPole-v1").has_value());
}

TEST(MujocoSuiteTest, SummaryIsMeanSampleStdAndWithinOneCleanRlStd) {
  // HalfCheetah-v4: CleanRL 1442.6 +- 46.0, so met from 1396.6 up.
  BenchRow row = MujocoLearnSummaryRow("HalfCheetah-v4", {1400.0, 1500.0, 1600.0}, false);
  EXPECT_EQ(row.suite, "mujoco");
  EXPECT_EQ(row.name, "learn/HalfCheetah-v4/summary");
  EXPECT_DOUBLE_EQ(row.metrics["mean_return_last_100"].get<double>(), 1500.0);
  EXPECT_DOUBLE_EQ(row.metrics["std_return_last_100"].get<double>(), 100.0);  // n - 1
  EXPECT_EQ(row.metrics["runs"], 3);
  EXPECT_EQ(row.metrics["missing"], 0);
  EXPECT_EQ(row.metrics["cleanrl_mean"], 1442.6);
  EXPECT_EQ(row.metrics["cleanrl_std"], 46.0);
  EXPECT_EQ(row.metrics["met"], 1);
  EXPECT_THAT(row.params["cleanrl"].get<std::string>(), HasSubstr("1442.6 +- 46.0"));
  // Just inside and just outside one std below.
  EXPECT_EQ(MujocoLearnSummaryRow("HalfCheetah-v4", {1396.7}, false).metrics["met"], 1);
  EXPECT_EQ(MujocoLearnSummaryRow("HalfCheetah-v4", {1396.5}, false).metrics["met"], 0);
  // One seed: no std. A seed without a return fails the env.
  EXPECT_TRUE(
      MujocoLearnSummaryRow("HalfCheetah-v4", {1500.0}, false).metrics["std_return_last_100"]
          .is_null());
  row = MujocoLearnSummaryRow("Hopper-v4", {3000.0, std::nullopt}, false);
  EXPECT_EQ(row.metrics["missing"], 1);
  EXPECT_DOUBLE_EQ(row.metrics["mean_return_last_100"].get<double>(), 3000.0);
  EXPECT_EQ(row.metrics["met"], 0);
  row = MujocoLearnSummaryRow("Hopper-v4", {std::nullopt}, false);
  EXPECT_TRUE(row.metrics["mean_return_last_100"].is_null());
  EXPECT_EQ(row.metrics["met"], 0);
  // No verdict in quick mode or without a CleanRL figure.
  EXPECT_TRUE(MujocoLearnSummaryRow("HalfCheetah-v4", {1500.0}, true).metrics["met"].is_null());
  row = MujocoLearnSummaryRow("Ant-v4", {1500.0}, false);
  EXPECT_TRUE(row.metrics["met"].is_null());
  EXPECT_TRUE(row.metrics["cleanrl_mean"].is_null());
}

}  // namespace
}  // namespace proxima::bench

#include "learner/cli/bench/mujoco_suite.h"

#include <cmath>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "learner/cli/bench/train_runs.h"

namespace proxima::bench {
namespace {

constexpr char kThroughputEnv[] = "HalfCheetah-v4";
constexpr int64_t kThroughputSteps = 200000;
constexpr int64_t kQuickSteps = 20480;  // ten 2,048-step batches
constexpr int64_t kLearnSteps = 1000000;

// Seconds per stage of summary.json's time_seconds as time_STAGE_seconds.
void AddTimeBreakdown(const nlohmann::json& summary, nlohmann::json* metrics) {
  const nlohmann::json times = summary.value("time_seconds", nlohmann::json::object());
  if (!times.is_object()) return;
  for (const auto& [stage, seconds] : times.items()) {
    (*metrics)[absl::StrCat("time_", stage, "_seconds")] = seconds;
  }
}

absl::Status RunThroughputRows(const BenchOptions& options, BenchReport* report) {
  const int64_t steps = options.quick ? kQuickSteps : kThroughputSteps;
  double in_process_rate = NAN;
  for (int actors : {0, 1, 2, 4}) {  // in-process first: the others are compared with it
    const std::string name =
        actors == 0 ? "throughput/in-process" : absl::StrCat("throughput/actors=", actors);
    std::vector<std::string> args = {"--env", kThroughputEnv, "--seed", "1", "--total-steps",
                                     absl::StrCat(steps)};
    if (actors == 0) {
      args.push_back("--in-process");
    } else {
      args.insert(args.end(), {"--actors", absl::StrCat(actors)});
    }
    options.log(absl::StrCat("mujoco ", name, ": ", kThroughputEnv, ", ", steps, " env steps"));
    absl::StatusOr<TrainRun> run =
        RunTrain(options, absl::StrCat("mujoco-throughput-", actors), args, 600);
    if (!run.ok()) return run.status();
    const nlohmann::json& s = run->summary;
    const nlohmann::json rate = NumberOrNull(s, "env_steps_per_second");
    if (actors == 0 && rate.is_number()) in_process_rate = rate.get<double>();
    BenchRow row{"mujoco", name};
    row.params = {{"env", kThroughputEnv},
                  {"actors", actors},
                  {"total_steps", steps},
                  {"mode", s.value("mode", "")},
                  {"preset", "cleanrl ppo_continuous_action"},
                  {"bottleneck", NumberOrNull(s, "bottleneck")}};
    row.metrics = {{"env_steps_per_second", rate},
                   {"learner_wall_seconds", NumberOrNull(s, "wall_seconds")},
                   {"process_wall_seconds", run->process.wall_seconds},
                   {"relative_to_in_process",
                    rate.is_number() ? nlohmann::json(rate.get<double>() / in_process_rate)
                                     : nlohmann::json()},
                   {"mean_lag", NumberOrNull(s, "mean_lag")},
                   {"dropped_fraction", NumberOrNull(s, "dropped_fraction")},
                   {"mean_return_last_100", NumberOrNull(s, "mean_return_last_100")}};
    AddTimeBreakdown(s, &row.metrics);
    row.series = LearningCurve(run->run_dir);
    report->Add(std::move(row));
  }
  return absl::OkStatus();
}

absl::Status RunLearnRows(const BenchOptions& options, BenchReport* report) {
  const MujocoLearnPlan plan = MujocoLearnPlanFor(options.quick);
  for (const std::string& env : plan.envs) {
    std::vector<std::optional<double>> returns;
    for (int seed : plan.seeds) {
      absl::StatusOr<SeedRun> run =
          RunSeed(options, "mujoco", absl::StrCat("learn/", env, "/seed=", seed), env,
                  /*in_process=*/false, seed, {"--total-steps", absl::StrCat(plan.total_steps)});
      if (!run.ok()) return run.status();
      run->row.params["total_steps"] = plan.total_steps;
      run->row.metrics["learner_wall_seconds"] = NumberOrNull(run->summary, "wall_seconds");
      returns.push_back(OptionalNumber(run->row.metrics["mean_return_last_100"]));
      report->Add(std::move(run->row));
    }
    BenchRow summary = MujocoLearnSummaryRow(env, returns, options.quick);
    summary.params["total_steps"] = plan.total_steps;
    report->Add(std::move(summary));
  }
  return absl::OkStatus();
}

}  // namespace

std::optional<CleanRlFigure> CleanRlPpoFigure(const std::string& env) {
  // CleanRL's ppo_continuous_action benchmark (v4 envs, 1M steps, 3 seeds).
  static const std::map<std::string, CleanRlFigure> figures = {
      {"HalfCheetah-v4", {1442.6, 46.0}},
      {"Hopper-v4", {2382.9, 271.7}},
      {"Walker2d-v4", {2288.0, 571.8}},
      {"Humanoid-v4", {716.1, 49.1}},
  };
  const auto it = figures.find(env);
  if (it == figures.end()) return std::nullopt;
  return it->second;
}

MujocoLearnPlan MujocoLearnPlanFor(bool quick) {
  if (quick) return {{"HalfCheetah-v4"}, {1}, kQuickSteps};
  return {{"HalfCheetah-v4", "Hopper-v4", "Walker2d-v4"}, {1, 2, 3}, kLearnSteps};
}

BenchRow MujocoLearnSummaryRow(const std::string& env,
                               const std::vector<std::optional<double>>& returns, bool quick) {
  std::vector<double> values;
  for (const std::optional<double>& r : returns) {
    if (r.has_value()) values.push_back(*r);
  }
  const int missing = static_cast<int>(returns.size() - values.size());
  nlohmann::json mean, stddev;
  double sum = 0;
  for (double v : values) sum += v;
  if (!values.empty()) mean = sum / static_cast<double>(values.size());
  if (values.size() >= 2) {
    double squares = 0;
    for (double v : values) squares += (v - mean.get<double>()) * (v - mean.get<double>());
    stddev = std::sqrt(squares / static_cast<double>(values.size() - 1));
  }
  const std::optional<CleanRlFigure> cleanrl = CleanRlPpoFigure(env);
  nlohmann::json met;
  if (!quick && cleanrl.has_value() && !returns.empty()) {
    met = missing == 0 && mean.get<double>() >= cleanrl->mean - cleanrl->std ? 1 : 0;
  }
  BenchRow row{"mujoco", absl::StrCat("learn/", env, "/summary")};
  row.params = {{"env", env},
                {"seeds", returns.size()},
                {"cleanrl", cleanrl.has_value()
                                ? absl::StrFormat("CleanRL ppo_continuous_action %s, 1M steps, "
                                                  "3 seeds: %.1f +- %.1f",
                                                  env, cleanrl->mean, cleanrl->std)
                                : std::string("no CleanRL figure")}};
  row.metrics = {{"mean_return_last_100", mean},
                 {"std_return_last_100", stddev},
                 {"runs", returns.size()},
                 {"missing", missing},
                 {"cleanrl_mean", cleanrl ? nlohmann::json(cleanrl->mean) : nlohmann::json()},
                 {"cleanrl_std", cleanrl ? nlohmann::json(cleanrl->std) : nlohmann::json()},
                 {"met", met}};
  return row;
}

absl::Status RunMujocoSuite(const BenchOptions& options, BenchReport* report) {
  PROXIMA_RETURN_IF_ERROR(RunThroughputRows(options, report));
  return RunLearnRows(options, report);
}

}  // namespace proxima::bench

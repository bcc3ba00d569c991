// The suites that run the real executables — train, solve, learn, memory — as
// a user would: separate processes, run directories, summary.json. Each process is
// reaped with wait4(), whose rusage gives its peak RSS. Also the runs that
// train_runs.h declares (RunTrain, RunSeed), shared with mujoco_suite.cc.
#include <sys/wait.h>

#include <cmath>
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "common/subprocess.h"
#include "learner/cli/bench/bench.h"
#include "learner/cli/bench/bench_process.h"
#include "learner/cli/bench/learn_targets.h"
#include "learner/cli/bench/train_runs.h"

namespace proxima::bench {
namespace {

absl::Status CheckExit(const Finished& f, const std::string& what, const std::string& log) {
  if (WIFEXITED(f.wait_status) && WEXITSTATUS(f.wait_status) == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, " ", DescribeWaitStatus(f.wait_status),
                                          " (log: ", log, ")"));
}

// metrics.csv's numeric columns by header name (a field that does not parse
// is NaN; an absent or unreadable file gives no columns).
std::map<std::string, std::vector<double>> MetricsColumns(const std::string& run_dir) {
  std::map<std::string, std::vector<double>> columns;
  absl::StatusOr<std::string> csv = ReadFile(run_dir + "/metrics.csv");
  if (!csv.ok()) return columns;
  std::vector<std::string> lines = absl::StrSplit(*csv, '\n', absl::SkipWhitespace());
  if (lines.empty()) return columns;
  const std::vector<std::string> header = absl::StrSplit(lines[0], ',');
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> f = absl::StrSplit(lines[i], ',');
    if (f.size() < header.size()) continue;  // a row cut short
    for (size_t c = 0; c < header.size(); ++c) {
      double v = 0;
      columns[header[c]].push_back(absl::SimpleAtod(f[c], &v) ? v : NAN);
    }
  }
  return columns;
}

// [[env_steps, wall_seconds, mean_return], ...] (rows whose mean return is
// not yet defined are skipped).
nlohmann::json LearningCurve(const std::map<std::string, std::vector<double>>& columns) {
  nlohmann::json curve = nlohmann::json::array();
  const auto steps = columns.find("env_steps"), wall = columns.find("wall_seconds"),
             ret = columns.find("mean_return");
  if (steps == columns.end() || wall == columns.end() || ret == columns.end()) return curve;
  for (size_t i = 0; i < ret->second.size(); ++i) {
    const double s = steps->second[i], w = wall->second[i], r = ret->second[i];
    if (std::isfinite(s) && std::isfinite(w) && std::isfinite(r)) curve.push_back({s, w, r});
  }
  return curve;
}
// Dropped while training: metrics.csv's dropped_steps over the run's env
// steps. Unlike summary.json's dropped_fraction it leaves out what was still
// queued, or refused, once the step budget was reached.
nlohmann::json SteadyDroppedFraction(const std::map<std::string, std::vector<double>>& columns) {
  const auto dropped = columns.find("dropped_steps");
  const auto steps = columns.find("env_steps");
  if (dropped == columns.end() || steps == columns.end() || steps->second.empty() ||
      !(steps->second.back() > 0)) {
    return nlohmann::json();
  }
  double sum = 0;
  for (double v : dropped->second) {
    if (std::isfinite(v)) sum += v;
  }
  return sum / steps->second.back();
}

// Mean of a column's finite values; null when it has none.
nlohmann::json ColumnMean(const std::map<std::string, std::vector<double>>& columns,
                          const std::string& name) {
  const auto it = columns.find(name);
  double sum = 0;
  int n = 0;
  if (it != columns.end()) {
    for (double v : it->second) {
      if (std::isfinite(v)) sum += v, ++n;
    }
  }
  return n > 0 ? nlohmann::json(sum / n) : nlohmann::json();
}

}  // namespace

nlohmann::json NumberOrNull(const nlohmann::json& j, const char* key) {
  return j.contains(key) ? j[key] : nlohmann::json();
}

nlohmann::json LearningCurve(const std::string& run_dir) {
  return LearningCurve(MetricsColumns(run_dir));
}

absl::StatusOr<TrainRun> RunTrain(const BenchOptions& options, const std::string& label,
                                  std::vector<std::string> args, double timeout_seconds) {
  TrainRun run;
  run.run_dir = absl::StrCat(options.work_dir, "/", label);
  const std::string log = run.run_dir + ".log";
  // --overwrite: a reused --work-dir holds the previous bench run's files.
  for (const char* a : {"--quiet", "--overwrite", "--run-dir"}) args.push_back(a);
  args.push_back(run.run_dir);
  args.insert(args.begin(), "train");
  absl::StatusOr<Child> child = StartChild(options.bin_dir + "/proxima", args, log);
  if (!child.ok()) return child.status();
  run.process = ReapChild(*child, timeout_seconds);
  PROXIMA_RETURN_IF_ERROR(CheckExit(run.process, "proxima train", log));
  absl::StatusOr<std::string> summary = ReadFile(run.run_dir + "/summary.json");
  if (!summary.ok()) return summary.status();
  run.summary = nlohmann::json::parse(*summary, nullptr, /*allow_exceptions=*/false);
  if (!run.summary.is_object()) {  // parse errors included (discarded)
    return absl::InternalError(absl::StrCat(run.run_dir, "/summary.json is not a JSON object"));
  }
  return run;
}

std::optional<double> OptionalNumber(const nlohmann::json& v) {
  if (!v.is_number()) return std::nullopt;
  return v.get<double>();
}

absl::StatusOr<SeedRun> RunSeed(const BenchOptions& options, const std::string& suite,
                                const std::string& name, const std::string& env,
                                bool in_process, int seed, std::vector<std::string> extra) {
  std::vector<std::string> args = {"--env", env, "--seed", absl::StrCat(seed)};
  args.insert(args.end(), extra.begin(), extra.end());
  if (in_process) args.push_back("--in-process");
  options.log(absl::StrCat(suite, " ", name));
  absl::StatusOr<TrainRun> run = RunTrain(
      options, absl::StrCat(suite, "-", absl::StrReplaceAll(name, {{"/", "-"}, {"=", ""}})), args,
      600);
  if (!run.ok()) return run.status();
  const nlohmann::json& s = run->summary;
  const std::map<std::string, std::vector<double>> columns = MetricsColumns(run->run_dir);
  // The learner's accounting (summary.json), or the fraction from its counts.
  nlohmann::json dropped = NumberOrNull(s, "dropped_fraction");
  const nlohmann::json collected = NumberOrNull(s, "transitions_collected");
  if (!dropped.is_number() && collected.is_number() && collected.get<double>() > 0 &&
      NumberOrNull(s, "transitions_dropped").is_number()) {
    dropped = s["transitions_dropped"].get<double>() / collected.get<double>();
  }
  SeedRun out;
  out.process = run->process;
  out.row = BenchRow{suite, name};
  out.row.params = {{"env", env},
                    {"path", in_process ? "in-process" : "cluster"},
                    {"seed", seed},
                    {"mode", s.value("mode", "")},
                    {"actors", NumberOrNull(s, "actors")}};
  out.row.metrics = {
      {"solved_at_step", NumberOrNull(s, "solved_at_step")},
      {"solved_at_seconds", NumberOrNull(s, "solved_at_seconds")},
      {"mean_return_last_100", NumberOrNull(s, "mean_return_last_100")},
      {"env_steps_per_second", NumberOrNull(s, "env_steps_per_second")},
      {"process_wall_seconds", run->process.wall_seconds},
      {"transitions_collected", collected},
      {"transitions_trained", NumberOrNull(s, "transitions_trained")},
      {"transitions_dropped", NumberOrNull(s, "transitions_dropped")},
      {"dropped_fraction", dropped},
      {"mean_lag", NumberOrNull(s, "mean_lag")},
      {"max_lag", NumberOrNull(s, "max_lag")},
      // Our own figure, for summaries written before mean_lag was.
      {"metrics_csv_mean_lag", ColumnMean(columns, "mean_lag")},
      {"steady_dropped_fraction", SteadyDroppedFraction(columns)}};
  out.row.series = LearningCurve(columns);
  out.summary = s;
  return out;
}

absl::Status RunTrainSuite(const BenchOptions& options, BenchReport* report) {
  const int64_t steps = options.quick ? 51200 : 500000;
  double in_process_rate = NAN;
  // In-process first: the others are compared with it.
  for (int actors : {0, 1, 2, 4}) {
    const std::string name = actors == 0 ? "in-process" : absl::StrCat("actors=", actors);
    std::vector<std::string> args = {"--env", "CartPole-v1", "--seed", "1", "--total-steps",
                                     absl::StrCat(steps)};
    if (actors == 0) {
      args.push_back("--in-process");
    } else {
      args.push_back("--actors");
      args.push_back(absl::StrCat(actors));
    }
    options.log(absl::StrCat("train ", name, ": ", steps, " env steps"));
    absl::StatusOr<TrainRun> run =
        RunTrain(options, absl::StrCat("train-", actors), args, 600);
    if (!run.ok()) return run.status();
    const double rate = run->summary.value("env_steps_per_second", 0.0);
    if (actors == 0) in_process_rate = rate;
    BenchRow row{"train", name};
    row.params = {{"env", "CartPole-v1"}, {"actors", actors}, {"total_steps", steps},
                  {"mode", run->summary.value("mode", "")}, {"preset", "default"}};
    row.metrics = {{"env_steps_per_second", rate},
                   {"learner_wall_seconds", NumberOrNull(run->summary, "wall_seconds")},
                   {"process_wall_seconds", run->process.wall_seconds},
                   {"relative_to_in_process", rate / in_process_rate},
                   {"mean_return_last_100", NumberOrNull(run->summary, "mean_return_last_100")}};
    row.series = LearningCurve(run->run_dir);
    report->Add(std::move(row));
  }
  return absl::OkStatus();
}

absl::Status RunSolveSuite(const BenchOptions& options, BenchReport* report) {
  const std::vector<int> seeds =
      options.quick ? std::vector<int>{1} : std::vector<int>{1, 2, 3, 4, 5};
  for (const bool in_process : {true, false}) {
    const std::string path = in_process ? "in-process" : "cluster";
    std::vector<double> steps, seconds, walls;
    int solved = 0;
    for (int seed : seeds) {
      absl::StatusOr<SeedRun> run =
          RunSeed(options, "solve", absl::StrCat(path, "/seed=", seed), "CartPole-v1",
                  in_process, seed, {"--stop-when-solved"});
      if (!run.ok()) return run.status();
      const nlohmann::json at_step = run->row.metrics["solved_at_step"];
      const nlohmann::json at_seconds = run->row.metrics["solved_at_seconds"];
      report->Add(std::move(run->row));
      if (at_step.is_number() && at_seconds.is_number()) {
        ++solved;
        steps.push_back(at_step.get<double>());
        seconds.push_back(at_seconds.get<double>());
        // Launch to exit: start-up, training until solved, final checkpoint.
        walls.push_back(run->process.wall_seconds);
      }
    }
    BenchRow median{"solve", absl::StrCat(path, "/median")};
    median.params = {{"env", "CartPole-v1"}, {"path", path}, {"seeds", seeds.size()},
                     {"actors", in_process ? 0 : 2}};
    // Medians over the seeds that solved (a seed that never solves within
    // the 500k-step budget shows as solved < seeds).
    median.metrics = {{"solved", solved},
                      {"median_solved_at_step", Median(steps)},
                      {"median_solved_at_seconds", Median(seconds)},
                      {"median_process_wall_seconds", Median(walls)}};
    report->Add(std::move(median));
  }
  return absl::OkStatus();
}

absl::Status RunLearnSuite(const BenchOptions& options, BenchReport* report) {
  std::vector<LearnRun> runs;
  for (const LearnPlanEntry& entry : LearnPlan(options.quick)) {
    std::vector<std::string> extra;
    if (entry.total_steps.has_value()) {
      extra = {"--total-steps", absl::StrCat(*entry.total_steps)};
    }
    for (const bool in_process : {false, true}) {
      if (in_process && !entry.in_process_too) continue;
      const std::string path = in_process ? "in-process" : "cluster";
      for (int seed : entry.seeds) {
        absl::StatusOr<SeedRun> run =
            RunSeed(options, "learn", absl::StrCat(entry.env, "/", path, "/seed=", seed),
                    entry.env, in_process, seed, extra);
        if (!run.ok()) return run.status();
        LearnRun r;
        r.env = entry.env;
        r.in_process = in_process;
        r.seed = seed;
        const nlohmann::json& m = run->row.metrics;
        r.solved_at_step = OptionalNumber(m["solved_at_step"]);
        r.mean_return_last_100 = OptionalNumber(m["mean_return_last_100"]);
        r.env_steps_per_second = OptionalNumber(m["env_steps_per_second"]);
        // Steady state: drops while training (the budget's end aside).
        r.dropped_fraction = OptionalNumber(m["steady_dropped_fraction"]);
        if (!r.dropped_fraction.has_value()) {
          r.dropped_fraction = OptionalNumber(m["dropped_fraction"]);
        }
        if (entry.reach_return.has_value()) {
          // The first metrics.csv row whose mean return reached it.
          nlohmann::json at_step;
          for (const nlohmann::json& point : run->row.series) {
            if (point[2].get<double>() >= *entry.reach_return) {
              at_step = point[0];
              break;
            }
          }
          run->row.params["reach_return"] = *entry.reach_return;
          run->row.metrics["reached_return_at_step"] = at_step;
          r.reached_return_at_step = OptionalNumber(at_step);
        }
        if (entry.total_steps.has_value()) run->row.params["total_steps"] = *entry.total_steps;
        report->Add(std::move(run->row));
        runs.push_back(std::move(r));
      }
    }
  }
  for (const LearnVerdict& v : EvaluateLearnTargets(runs, options.quick)) {
    report->Add(LearnVerdictRow(v));
  }
  return absl::OkStatus();
}

absl::Status RunMemorySuite(const BenchOptions& options, BenchReport* report) {
  const int64_t steps = options.quick ? 51200 : 204800;
  const std::string dir = options.work_dir + "/memory";
  PROXIMA_RETURN_IF_ERROR(MakeDirs(dir));
  // A learner and two actors started by hand (as `proxima train` does), so
  // that each one's rusage is its own.
  const std::string learner_log = dir + "/learner.log";
  absl::StatusOr<Child> learner = StartChild(
      options.bin_dir + "/proxima-learner",
      {"--env", "CartPole-v1", "--seed", "1", "--total-steps", absl::StrCat(steps),
       "--min-actors", "2", "--listen", "127.0.0.1:0", "--run-dir", dir + "/run", "--quiet"},
      learner_log);
  if (!learner.ok()) return learner.status();
  absl::StatusOr<std::string> address =
      WaitForLearnerAddress(dir + "/run", *learner, absl::Seconds(60));
  if (!address.ok()) {
    StopChild(*learner, absl::ZeroDuration());
    return absl::Status(address.status().code(), absl::StrCat(address.status().message(),
                                                              " (log: ", learner_log, ")"));
  }
  std::vector<Child> actors;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<Child> a =
        StartChild(options.bin_dir + "/proxima-actor",
                   {"--learner", *address, "--name", absl::StrCat("actor-", i), "--num-envs", "2"},
                   absl::StrCat(dir, "/actor-", i, ".log"));
    if (!a.ok()) {
      StopChild(*learner, absl::ZeroDuration());
      for (const Child& c : actors) StopChild(c, absl::ZeroDuration());
      return a.status();
    }
    actors.push_back(*a);
  }
  options.log(absl::StrCat("memory: learner + 2 actors, ", steps, " env steps"));
  const Finished lf = ReapChild(*learner, 600);
  // As `proxima train` does: once the learner is gone, actors get SIGTERM
  // (they would otherwise keep reconnecting to a learner that restarts).
  std::vector<Finished> af;
  for (const Child& c : actors) af.push_back(StopChild(c, absl::Seconds(10)));
  PROXIMA_RETURN_IF_ERROR(CheckExit(lf, "proxima-learner", learner_log));
  BenchRow lrow{"memory", "learner"};
  lrow.params = {{"env", "CartPole-v1"}, {"actors", 2}, {"total_steps", steps},
                 {"queue_capacity", "default (2 batches)"}};
  lrow.metrics = {{"peak_rss_bytes", lf.max_rss_bytes}};
  report->Add(std::move(lrow));
  for (size_t i = 0; i < af.size(); ++i) {
    BenchRow arow{"memory", absl::StrCat("actor-", i)};
    arow.params = {{"env", "CartPole-v1"}, {"num_envs", 2}};
    arow.metrics = {{"peak_rss_bytes", af[i].max_rss_bytes},
                    {"exit_ok", WIFEXITED(af[i].wait_status) && WEXITSTATUS(af[i].wait_status) == 0}};
    report->Add(std::move(arow));
  }
  // The in-process trainer: one process with env, policy and learner.
  absl::StatusOr<TrainRun> run = RunTrain(
      options, "memory-in-process",
      {"--env", "CartPole-v1", "--seed", "1", "--total-steps", absl::StrCat(steps), "--in-process"},
      600);
  if (!run.ok()) return run.status();
  BenchRow irow{"memory", "in-process"};
  irow.params = {{"env", "CartPole-v1"}, {"total_steps", steps}};
  irow.metrics = {{"peak_rss_bytes", run->process.max_rss_bytes}};
  report->Add(std::move(irow));
  return absl::OkStatus();
}

}  // namespace proxima::bench

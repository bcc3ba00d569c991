// `proxima bench` (learner/cli/bench/): command-line errors, the JSON each suite
// writes (in --quick mode: these tests check what is measured and reported,
// never how fast — targets live in docs/benchmarks.md), and the plot script.
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::testing::HasSubstr;

nlohmann::json ReadJson(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  EXPECT_TRUE(text.ok()) << text.status();
  if (!text.ok()) return nullptr;
  return nlohmann::json::parse(*text, nullptr, false);
}

// Rows of `suite`, by name.
std::map<std::string, nlohmann::json> Rows(const nlohmann::json& report,
                                           const std::string& suite) {
  std::map<std::string, nlohmann::json> out;
  for (const nlohmann::json& r : report.at("rows")) {
    if (r.at("suite") == suite) out[r.at("name").get<std::string>()] = r;
  }
  return out;
}

double Metric(const nlohmann::json& row, const std::string& key) {
  const nlohmann::json& v = row.at("metrics").at(key);
  return v.is_number() ? v.get<double>() : std::nan("");
}

bool IsPng(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  return bytes.ok() && bytes->size() > 1000 && bytes->compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
}

std::string PlotScript() {
  return std::string(PROXIMA_SOURCE_DIR) + "/learner/cli/bench/plot_benchmarks.sh";
}

TEST(BenchCliTest, BadArgumentsExit2NamingTheProblem) {
  const std::string bench = BinPath("proxima") + " bench ";
  // Each bad command line and what its message must name.
  const std::vector<std::pair<std::string, std::vector<std::string>>> bad = {
      {"--suite nope", {"unknown suite 'nope'", "ingest" /* the list of suites */}},
      {"--json", {"--json needs a value"}},
      {"--quick=yes", {"--quick takes no value"}},
      {"--frobnicate", {"unknown flag --frobnicate"}},
      {"env", {"unexpected argument 'env'"}},
  };
  for (const auto& [args, messages] : bad) {
    SCOPED_TRACE(args);
    CommandResult r = RunCommand(bench + args);
    EXPECT_EQ(r.exit_code, 2);
    for (const std::string& m : messages) EXPECT_THAT(r.output, HasSubstr(m));
  }
  CommandResult r = RunCommand(bench + "--help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* suite :
       {"env", "inference", "update", "ingest", "broadcast", "train", "solve", "learn", "mujoco",
        "memory", "seqwire", "generation", "sequpdate"}) {
    EXPECT_THAT(r.output, HasSubstr(suite));
  }
}

TEST(BenchCliTest, MicroSuitesReportEveryCaseAndPlot) {
  const std::string dir = MakeTempDir("bench_micro");
  const std::string json = dir + "/bench.json";
  CommandResult r = RunCommand(BinPath("proxima") +
                               " bench --suite env,inference,update --quick --json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json report = ReadJson(json);
  ASSERT_TRUE(report.is_object()) << r.output;
  EXPECT_EQ(report.at("machine").at("cores").get<int>() > 0, true);
  EXPECT_TRUE(report.at("machine").contains("libblas"));

  auto env = Rows(report, "env");
  for (const char* id : {"CartPole-v1", "Acrobot-v1", "MountainCar-v0",
                         "MountainCarContinuous-v0", "Pendulum-v1"}) {
    ASSERT_TRUE(env.count(id)) << id;
    EXPECT_GT(Metric(env[id], "steps_per_second"), 0) << id;
    // steps/s and ns/step describe the same measurement.
    EXPECT_NEAR(Metric(env[id], "steps_per_second") * Metric(env[id], "ns_per_step"), 1e9, 1e7);
  }

  auto inference = Rows(report, "inference");
  for (int batch : {1, 4, 16, 64, 256, 1024, 4096}) {
    for (const char* engine : {"fused", "torch"}) {
      const std::string name = absl::StrCat("64x64/batch=", batch, "/", engine);
      ASSERT_TRUE(inference.count(name)) << name;
      const nlohmann::json& row = inference[name];
      EXPECT_EQ(row.at("params").at("batch").get<int>(), batch);
      EXPECT_EQ(row.at("params").at("engine").get<std::string>(), engine);
      // samples/s = batch / time per call.
      EXPECT_NEAR(Metric(row, "samples_per_second") * Metric(row, "us_per_call") / 1e6, batch,
                  batch * 0.01);
    }
  }
  EXPECT_TRUE(inference.count("256x256/batch=256/fused"));
  EXPECT_TRUE(inference.count("256x256/batch=256/torch"));

  auto update = Rows(report, "update");
  for (const char* name : {"64x64/cpu/torch", "256x256/cpu/torch", "64x64/cpu/fused",
                           "256x256/cpu/fused"}) {
    ASSERT_TRUE(update.count(name)) << name;
    const nlohmann::json& row = update[name];
    const double transitions = Metric(row, "transitions_per_second");
    EXPECT_GT(transitions, 0);
    // Each transition is trained update_epochs (4) times, in 4 minibatches
    // per epoch.
    EXPECT_NEAR(Metric(row, "samples_trained_per_second"), 4 * transitions, 1e-6 * transitions);
    EXPECT_NEAR(Metric(row, "ms_per_update"), 16 * Metric(row, "ms_per_minibatch"),
                0.01 * Metric(row, "ms_per_update"));
  }
  // The wider network costs more per update.
  for (const char* engine : {"torch", "fused"}) {
    EXPECT_GT(Metric(update[absl::StrCat("256x256/cpu/", engine)], "ms_per_update"),
              Metric(update[absl::StrCat("64x64/cpu/", engine)], "ms_per_update"))
        << engine;
  }
  // CleanRL's continuous-control preset on HalfCheetah-v4's shapes: 2,048
  // transitions, each trained 10 times, in 10 x 32 minibatches of 64.
  for (const char* name : {"HalfCheetah-v4/64x64/cpu/torch", "HalfCheetah-v4/64x64/cpu/fused"}) {
    ASSERT_TRUE(update.count(name)) << name;
    const nlohmann::json& row = update[name];
    EXPECT_EQ(row.at("params").at("batch").get<int>(), 2048);
    EXPECT_EQ(row.at("params").at("minibatch").get<int>(), 64);
    const double transitions = Metric(row, "transitions_per_second");
    EXPECT_GT(transitions, 0);
    EXPECT_NEAR(Metric(row, "samples_trained_per_second"), 10 * transitions, 1e-6 * transitions);
    EXPECT_NEAR(Metric(row, "ms_per_update"), 320 * Metric(row, "ms_per_minibatch"),
                0.01 * Metric(row, "ms_per_update"));
  }
  // The GEMM arithmetic per sample (forward, weight and input gradients of
  // both MLPs) at the measured rate: 64x64 on CartPole is 2·(4·64 + 64·64 +
  // 64·2)·(2, 3, 3 passes) + the value MLP's 2·(4·64 + 64·64 + 64)·(2, 3, 3)
  // = 52,352 flops; and one thread's GEMM peak to hold it against.
  EXPECT_NEAR(Metric(update["64x64/cpu/fused"], "gemm_gflops") * 1e9,
              52352 * Metric(update["64x64/cpu/fused"], "samples_trained_per_second"),
              1e-6 * Metric(update["64x64/cpu/fused"], "gemm_gflops") * 1e9);
  ASSERT_TRUE(update.count("peak/sgemm512"));
  EXPECT_GT(Metric(update["peak/sgemm512"], "gemm_gflops"), 0);

  CommandResult plot = RunCommand(PlotScript() + " " + json + " " + dir + "/plots");
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  EXPECT_TRUE(IsPng(dir + "/plots/inference_batch.png"));
  // Suites absent from the JSON draw nothing.
  EXPECT_FALSE(std::filesystem::exists(dir + "/plots/train_scaling.png"));

  EXPECT_EQ(RunCommand(PlotScript() + " " + dir + "/missing.json " + dir + "/p2").exit_code != 0,
            true);
  EXPECT_EQ(RunCommand(PlotScript() + " " + json).exit_code, 2);
}

// The suites that start processes, in quick mode (labelled slow).
TEST(BenchProcessSuitesTest, EverySuiteReportsAndPlots) {
  const std::string dir = MakeTempDir("bench_process");
  const std::string json = dir + "/bench.json";
  CommandResult r =
      RunCommand(BinPath("proxima") + " bench --suite ingest,broadcast,train,solve,memory " +
                 "--quick --work-dir " + dir + "/work --json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json report = ReadJson(json);
  ASSERT_TRUE(report.is_object()) << r.output;

  auto ingest = Rows(report, "ingest");
  ASSERT_TRUE(ingest.count("actors=1")) << r.output;
  EXPECT_GT(Metric(ingest["actors=1"], "transitions_per_second"), 0);

  auto broadcast = Rows(report, "broadcast");
  ASSERT_TRUE(broadcast.count("actors=1")) << r.output;
  EXPECT_GT(Metric(broadcast["actors=1"], "samples"), 0);
  EXPECT_LE(Metric(broadcast["actors=1"], "p50_ms"), Metric(broadcast["actors=1"], "p99_ms"));

  auto train = Rows(report, "train");
  for (const char* name : {"in-process", "actors=1", "actors=2", "actors=4"}) {
    ASSERT_TRUE(train.count(name)) << name;
    EXPECT_GT(Metric(train[name], "env_steps_per_second"), 0) << name;
    EXPECT_FALSE(train[name].at("series").empty()) << name;  // the learning curve
  }
  EXPECT_DOUBLE_EQ(Metric(train["in-process"], "relative_to_in_process"), 1.0);

  // CartPole-v1 solves within the default budget, in process and on a
  // local cluster (seed 1 in quick mode).
  auto solve = Rows(report, "solve");
  for (const char* path : {"in-process", "cluster"}) {
    const std::string median = std::string(path) + "/median";
    ASSERT_TRUE(solve.count(median)) << median;
    EXPECT_EQ(Metric(solve[median], "solved"), 1) << median;
    EXPECT_GT(Metric(solve[median], "median_solved_at_step"), 0);
    // Launch to exit includes start-up and the final checkpoint.
    EXPECT_GE(Metric(solve[median], "median_process_wall_seconds"),
              Metric(solve[median], "median_solved_at_seconds"));
  }

  auto memory = Rows(report, "memory");
  for (const char* name : {"learner", "actor-0", "actor-1", "in-process"}) {
    ASSERT_TRUE(memory.count(name)) << name;
    // Every process maps LibTorch: tens of MB at least, and far below 24 GB.
    EXPECT_GT(Metric(memory[name], "peak_rss_bytes"), 20e6) << name;
    EXPECT_LT(Metric(memory[name], "peak_rss_bytes"), 4e9) << name;
  }

  CommandResult plot = RunCommand(PlotScript() + " " + json + " " + dir + "/plots");
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  for (const char* png : {"learning_curves_steps.png", "learning_curves_wall.png",
                          "train_scaling.png", "broadcast_latency.png"}) {
    EXPECT_TRUE(IsPng(dir + "/plots/" + png)) << png;
  }
}

// `--suite mujoco --quick` (~20 s): HalfCheetah-v4 throughput in-process and
// on 1/2/4 actors, one short CleanRL-preset run and its summary row; finite
// figures, never how fast or how well (no verdict in quick mode).
TEST(BenchProcessSuitesTest, MujocoSuiteReportsAndPlots) {
  const std::string dir = MakeTempDir("bench_mujoco");
  const std::string json = dir + "/bench.json";
  CommandResult r = RunCommand(BinPath("proxima") + " bench --suite mujoco --quick --work-dir " +
                               dir + "/work --json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json report = ReadJson(json);
  ASSERT_TRUE(report.is_object()) << r.output;
  auto mujoco = Rows(report, "mujoco");

  for (const char* name : {"throughput/in-process", "throughput/actors=1",
                           "throughput/actors=2", "throughput/actors=4"}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(mujoco.count(name)) << r.output;
    const nlohmann::json& row = mujoco[name];
    EXPECT_EQ(row.at("params").at("env"), "HalfCheetah-v4");
    EXPECT_EQ(row.at("params").at("total_steps"), 20480);
    for (const char* key : {"env_steps_per_second", "learner_wall_seconds",
                            "process_wall_seconds", "mean_lag", "dropped_fraction",
                            "mean_return_last_100"}) {
      EXPECT_TRUE(std::isfinite(Metric(row, key))) << key;
    }
    EXPECT_GT(Metric(row, "env_steps_per_second"), 0);
    EXPECT_FALSE(row.at("series").empty());
    if (row.at("params").at("actors") == 0) {
      EXPECT_DOUBLE_EQ(Metric(row, "relative_to_in_process"), 1.0);
      EXPECT_TRUE(row.at("params").at("bottleneck").is_null());  // no time breakdown
    } else {
      // The learner server's time breakdown and its bottleneck line.
      EXPECT_GT(Metric(row, "time_learner_wall_seconds"), 0);
      EXPECT_TRUE(std::isfinite(Metric(row, "time_actor_env_seconds")));
      EXPECT_TRUE(row.at("params").at("bottleneck").is_string());
    }
  }

  ASSERT_TRUE(mujoco.count("learn/HalfCheetah-v4/seed=1")) << r.output;
  const nlohmann::json& run = mujoco["learn/HalfCheetah-v4/seed=1"];
  EXPECT_EQ(run.at("params").at("path"), "cluster");
  EXPECT_EQ(run.at("params").at("actors"), 2);
  for (const char* key : {"mean_return_last_100", "process_wall_seconds",
                          "learner_wall_seconds", "env_steps_per_second", "mean_lag"}) {
    EXPECT_TRUE(std::isfinite(Metric(run, key))) << key;
  }
  EXPECT_FALSE(run.at("series").empty());  // the learning curve

  ASSERT_TRUE(mujoco.count("learn/HalfCheetah-v4/summary")) << r.output;
  const nlohmann::json& summary = mujoco["learn/HalfCheetah-v4/summary"];
  EXPECT_DOUBLE_EQ(Metric(summary, "mean_return_last_100"), Metric(run, "mean_return_last_100"));
  EXPECT_EQ(Metric(summary, "runs"), 1);
  EXPECT_EQ(Metric(summary, "cleanrl_mean"), 1442.6);
  EXPECT_TRUE(summary.at("metrics").at("std_return_last_100").is_null());  // one seed
  EXPECT_TRUE(summary.at("metrics").at("met").is_null());                 // quick: no verdict
  // No other env runs in quick mode.
  EXPECT_EQ(mujoco.size(), 6u);

  CommandResult plot = RunCommand(PlotScript() + " " + json + " " + dir + "/plots");
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  EXPECT_TRUE(IsPng(dir + "/plots/mujoco_learning_curves.png"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/plots/learning_curves_steps.png"));
}

}  // namespace
}  // namespace proxima

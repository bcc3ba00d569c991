// Evaluation during training (--eval-every N --eval-episodes K;
// learner/periodic_eval.h) end to end on the real binaries, in both modes
// of `proxima train` (a local cluster and --in-process): metrics.csv has the
// eval columns, filled every Nth update and "nan" otherwise; summary.json
// names the best evaluation; RUN_DIR/best resolves to the best checkpoint,
// which `proxima eval` loads and which replays the best evaluation's return
// exactly with the run's eval seed; only one best checkpoint is kept.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace proxima {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Trains CartPole-v1 for 16 updates (8192 steps, the preset's 512 per
// update) with an evaluation every 2 updates, and checks the run directory.
void CheckRun(const std::string& mode_flags) {
  const std::string run = MakeTempDir("eval_every") + "/run";
  CommandResult train = RunCommand(absl::StrCat(
      BinPath("proxima"), " train --env CartPole-v1 --seed 3 --total-steps 8192 --quiet ",
      mode_flags, " --eval-every 2 --eval-episodes 3 --run-dir ", run));
  ASSERT_EQ(train.exit_code, 0) << train.output;

  // metrics.csv: the eval columns, filled on even updates only.
  std::vector<std::string> lines = absl::StrSplit(ReadText(run + "/metrics.csv"), '\n',
                                                  absl::SkipEmpty());
  ASSERT_GE(lines.size(), 3u);
  const std::vector<std::string> header = absl::StrSplit(lines[0], ',');
  const auto col = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    EXPECT_NE(it, header.end()) << name << " not in " << lines[0];
    return static_cast<size_t>(it - header.begin());
  };
  const size_t update_col = col("update"), return_col = col("eval_return");
  col("eval_return_std");
  col("eval_length");
  col("eval_seconds");
  double best = -1;
  int64_t best_update = 0;
  int evaluations = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> cells = absl::StrSplit(lines[i], ',');
    ASSERT_EQ(cells.size(), header.size()) << lines[i];
    int64_t update = 0;
    ASSERT_TRUE(absl::SimpleAtoi(cells[update_col], &update)) << lines[i];
    double value = 0;
    if (update % 2 == 0) {
      ASSERT_TRUE(absl::SimpleAtod(cells[return_col], &value)) << lines[i];
      EXPECT_GE(value, 8) << "a CartPole episode lasts at least 8 steps";
      ++evaluations;
      if (value > best) {
        best = value;
        best_update = update;
      }
    } else {
      EXPECT_EQ(cells[return_col], "nan") << lines[i];
    }
  }
  EXPECT_GE(evaluations, 7);

  // summary.json: the best evaluation (the CSV's is rounded to 6 digits).
  const nlohmann::json summary = nlohmann::json::parse(ReadText(run + "/summary.json"));
  ASSERT_TRUE(summary["best_eval_return"].is_number()) << summary.dump();
  EXPECT_NEAR(summary["best_eval_return"].get<double>(), best, 1e-3 * best);
  EXPECT_EQ(summary["best_eval_update"], best_update);
  ASSERT_TRUE(summary["eval_seed"].is_number_unsigned()) << summary.dump();

  // One best checkpoint, named by its version, and best.json beside it.
  std::vector<std::string> best_files;
  for (const auto& e : std::filesystem::directory_iterator(run + "/checkpoints")) {
    const std::string name = e.path().filename().string();
    if (name.size() > 8 && name.substr(name.size() - 8) == "-best.pt") best_files.push_back(name);
  }
  ASSERT_EQ(best_files.size(), 1u);
  EXPECT_EQ(best_files[0], absl::StrFormat("ckpt-%012d-best.pt", best_update));
  const nlohmann::json record = nlohmann::json::parse(ReadText(run + "/checkpoints/best.json"));
  EXPECT_EQ(record["update"], best_update);

  // `proxima eval` on RUN_DIR/best with the run's eval seed replays the best
  // evaluation: same policy, normalizer, env seed and deterministic actions.
  CommandResult eval = RunCommand(absl::StrCat(
      BinPath("proxima"), " eval --json --deterministic --episodes 3 --seed ",
      summary["eval_seed"].get<uint64_t>(), " --checkpoint ", run, "/best"));
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  const nlohmann::json j = nlohmann::json::parse(eval.output);
  EXPECT_DOUBLE_EQ(j["mean_return"].get<double>(), record["eval_return"].get<double>());
}

TEST(EvalDuringTrainingTest, InProcess) { CheckRun("--in-process"); }

TEST(EvalDuringTrainingTest, LocalCluster) { CheckRun("--mode sync --actors 1"); }

TEST(EvalDuringTrainingTest, BadValuesAreUsageErrors) {
  for (const auto& [flags, named] : {std::pair{"--eval-every -1", "--eval-every"},
                                     std::pair{"--eval-episodes 0", "--eval-episodes"}}) {
    CommandResult r = RunCommand(absl::StrCat(BinPath("proxima"),
                                              " train --in-process --env CartPole-v1 --run-dir ",
                                              MakeTempDir("eval_bad"), "/run ", flags));
    EXPECT_EQ(r.exit_code, 2) << flags << "\n" << r.output;
    EXPECT_THAT(r.output, ::testing::HasSubstr(named)) << r.output;
  }
}

}  // namespace
}  // namespace proxima

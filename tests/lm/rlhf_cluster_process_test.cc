// `proxima train --env lm/... --algo ppo --reward-model RM` (issue 26, the
// cluster's RLHF) on a tiny SFT checkpoint whose reward model is its own
// weights (w = 1, the trick of rl_command_test.cc): the run writes the
// learned reward, the true reward (rule + style) and the KL side by side in
// every metrics.csv row, the held-out reward-model figures at its
// evaluations, and the normalization in summary.json; `--resume` restores the
// reward-model flags; bad reward-model inputs exit 2 naming the flag before
// any process starts.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/lm/seq_checkpoint.h"
#include "tests/lm/lm_test_commands.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The cell of `column` in each data row of metrics.csv.
std::vector<std::string> Column(const std::vector<std::string>& rows, const std::string& column) {
  const std::vector<std::string> header = absl::StrSplit(rows.at(0), ',');
  const size_t at = std::find(header.begin(), header.end(), column) - header.begin();
  EXPECT_LT(at, header.size()) << column << " not in " << rows[0];
  std::vector<std::string> cells;
  for (size_t i = 1; i < rows.size(); ++i) {
    const std::vector<std::string> row = absl::StrSplit(rows[i], ',');
    cells.push_back(at < row.size() ? row[at] : "?");
  }
  return cells;
}

TEST(RlhfClusterProcessTest, TrainsOnTheLearnedRewardLogsBothAndResumes) {
  const std::string sft = lm_testing::TinySftRun("rlhf_cluster_sft");
  const std::string dir = MakeTempDir("rlhf_cluster_run");
  // The SFT weights as a reward model of weight 1: its own likelihood.
  lm::LoadedSeqCheckpoint policy = lm::LoadSeqCheckpoint(sft).value();
  lm::SeqCheckpointInfo info = policy.info;
  info.kind = lm::kRewardModelKind;
  info.reward_loglik_weight = 1.0;
  ASSERT_TRUE(lm::SaveSeqCheckpoint(dir + "/rm/checkpoints", *policy.model, info, "rm").ok());
  info.task_id = "lm/Sort-v0";
  ASSERT_TRUE(lm::SaveSeqCheckpoint(dir + "/sort/checkpoints", *policy.model, info, "rm").ok());

  const std::string run = dir + "/run";
  const std::string train = BinPath("proxima") + " train ";
  const CommandResult r = RunCommand(
      train + "--env lm/Addition-v0 --init-checkpoint " + sft + " --algo ppo --reward-model " +
      dir + "/rm --actors 1 --group-size 4 --prompts-per-chunk 2 --chunks-per-update 2"
      " --lm-updates 3 --lm-eval-every 2 --lm-eval-prompts 10 --quiet --run-dir " + run + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("rewarded by the reward model "));
  const nlohmann::json config = LoadJsonOrDie(run + "/config.json");
  EXPECT_THAT(config["learner_flags"]["reward_model"].get<std::string>(), HasSubstr("/rm"));
  EXPECT_EQ(config["learner_flags"]["style"], "length");
  // Generation gets the true score's room: "1998" and <eos>, as `lm rl` gives.
  EXPECT_EQ(config["learner_flags"]["max_new_tokens"], "5");
  std::vector<std::string> rows = Lines(run + "/metrics.csv");
  ASSERT_EQ(rows.size(), 5u) << r.output;  // header, the start, 3 updates
  const std::vector<std::string> learned = Column(rows, "learned_reward");
  const std::vector<std::string> true_reward = Column(rows, "true_reward");
  const std::vector<std::string> kl = Column(rows, "seq_kl_to_ref");
  const std::vector<std::string> held_out = Column(rows, "held_out_true_reward");
  EXPECT_EQ(learned[0], "");    // the start: no batch
  EXPECT_NE(held_out[0], "");   // ... but the held-out samples
  for (size_t i = 1; i < rows.size(); ++i) {  // every update: both rewards and the KL
    EXPECT_NE(learned[i], "") << rows[i];
    EXPECT_NE(true_reward[i], "") << rows[i];
    EXPECT_NE(Column(rows, "true_rule")[i], "") << rows[i];
    EXPECT_NE(kl[i], "") << rows[i];
  }
  EXPECT_EQ(held_out[1], "");   // update 1: not an evaluation
  EXPECT_NE(held_out[2], "");   // update 2 and 3 (the end): evaluated
  EXPECT_NE(held_out[3], "");
  nlohmann::json summary = LoadJsonOrDie(run + "/summary.json");
  EXPECT_GT(summary["reward_normalization"]["std"].get<double>(), 0) << summary.dump(2);
  EXPECT_TRUE(summary["held_out_true_reward"].is_number());

  // Resumed: the reward model comes back from config.json, so the new row
  // has the learned reward too; a different one is refused.
  const CommandResult resumed =
      RunCommand(train + "--resume " + run + " --lm-updates 4 --quiet 2>&1");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  rows = Lines(run + "/metrics.csv");
  ASSERT_EQ(rows.size(), 6u) << resumed.output;
  EXPECT_EQ(rows[5].substr(0, 2), "4,");
  EXPECT_NE(Column(rows, "learned_reward")[4], "") << rows[5];
  EXPECT_EQ(LoadJsonOrDie(run + "/summary.json")["reward_normalization"],
            summary["reward_normalization"]);  // measured again, the same

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"--resume " + run + " --reward-model " + dir + "/sort", "--reward-model"},
      {"--env lm/Addition-v0 --init-checkpoint " + sft + " --reward-model " + sft,
       "--reward-model"},  // a policy checkpoint
      {"--env lm/Addition-v0 --init-checkpoint " + sft + " --reward-model " + dir + "/none",
       "--reward-model"},
      {"--env lm/Addition-v0 --init-checkpoint " + sft + " --reward-model " + dir + "/sort",
       "lm/Sort-v0"},
      {"--env lm/Addition-v0 --init-checkpoint " + sft + " --style pad:=", "--style"},
      {"--env lm/Addition-v0 --init-checkpoint " + sft + " --reward-model " + dir +
           "/rm --style loud",
       "--style"},
  };
  for (const auto& [flags, named] : bad) {
    const CommandResult b = RunCommand(train + "--run-dir " + dir + "/bad " + flags + " 2>&1");
    EXPECT_EQ(b.exit_code, 2) << flags << ": " << b.output;
    EXPECT_THAT(b.output, HasSubstr(named)) << flags;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/bad/config.json"));
}

}  // namespace
}  // namespace proxima

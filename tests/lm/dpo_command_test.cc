// `proxima lm dpo` (learner/lm/dpo_command.h) through RunLmCommand on a tiny
// SFT model: a run writes its metrics, summary and a loadable checkpoint;
// bad command lines and bad pairs files exit 2 naming the flag, or the file,
// pair and field.
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/lm/task_registry.h"
#include "common/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/lm/lm_command.h"
#include "learner/lm/seq_checkpoint.h"
#include "nlohmann/json.hpp"
#include "tests/lm/lm_test_commands.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::testing::HasSubstr;

using ::proxima::lm_testing::RunLm;

std::string Row(const std::string& prompt, const std::string& chosen, const std::string& rejected) {
  return nlohmann::json{{"prompt", prompt}, {"chosen", chosen}, {"rejected", rejected}}.dump() +
         "\n";
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// `n` pairs on addition's training prompts: the answer over the answer with
// a wrong last digit.
std::string TrainPairs(int n) {
  const std::unique_ptr<lm::Task> task = lm::MakeTask("lm/Addition-v0").value();
  Rng rng(3);
  std::string text;
  for (int i = 0; i < n; ++i) {
    const lm::TaskExample ex = task->Sample(lm::TaskSplit::kTrain, rng);
    std::string wrong = ex.answer;
    wrong.back() = wrong.back() == '9' ? '0' : static_cast<char>(wrong.back() + 1);
    text += Row(ex.prompt, ex.answer, wrong);
  }
  return text;
}

class LmDpoCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("lm_dpo"));
    std::string out, err;
    ASSERT_EQ(RunLm({"sft", "--steps=20", "--warmup=2", "--eval-prompts=5", "--layers=1",
                     "--width=16", "--heads=2", "--batch-size=8", "--run-dir", *dir_ + "/sft"},
                    &out, &err),
              0)
        << err;
    Write(*dir_ + "/pairs.jsonl", TrainPairs(12));
  }
  static std::string* dir_;
};
std::string* LmDpoCommandTest::dir_ = nullptr;

TEST_F(LmDpoCommandTest, TrainsFromAnSftCheckpointAndWritesItsRun) {
  const std::string run = *dir_ + "/dpo";
  // Held-out pairs, one of them marked noisy: its true order is the other.
  const std::unique_ptr<lm::Task> task = lm::MakeTask("lm/Addition-v0").value();
  Rng rng(5);
  std::string held;
  for (int i = 0; i < 4; ++i) {
    const lm::TaskExample ex = task->Sample(lm::TaskSplit::kHeldOut, rng);
    nlohmann::json row = {{"prompt", ex.prompt}, {"chosen", ex.answer}, {"rejected", "0"}};
    if (i == 3) row = {{"prompt", ex.prompt}, {"chosen", "0"}, {"rejected", ex.answer},
                       {"noisy", true}};
    held += row.dump() + "\n";
  }
  Write(*dir_ + "/held.jsonl", held);
  std::string out, err;
  ASSERT_EQ(RunLm({"dpo", "--init", *dir_ + "/sft", "--pairs", *dir_ + "/pairs.jsonl",
                   "--eval-pairs", *dir_ + "/held.jsonl", "--steps=3", "--batch-size=4",
                   "--lr=1e-3", "--beta=0.5", "--eval-prompts=6", "--run-dir", run},
                  &out, &err),
            0)
      << err;
  for (const char* said :
       {"eval pairs accuracy 0.0% (labels), 0.0% (true order)",
        "true score = exact reward + style length (weight 0.1, cap 4)",
        "proxima lm dpo: lm/Addition-v0 from", "12 pairs from",
        "before: pairs loss 0.6931, accuracy 0.0%, margin +0.000",
        "KL to reference 0.000 nats/sequence", "step     3", "after: pairs loss"}) {
    EXPECT_THAT(out, HasSubstr(said));
  }
  std::ifstream csv(run + "/metrics.csv");
  std::vector<std::string> lines;
  for (std::string line; std::getline(csv, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "step,seconds,loss,accuracy,reward_margin,chosen_reward,rejected_reward,"
                      "grad_norm");
  const nlohmann::json summary = LoadJsonOrDie(run + "/summary.json");
  EXPECT_EQ(summary.at("method"), "dpo");
  EXPECT_EQ(summary.at("pairs"), 12);
  EXPECT_EQ(summary.at("before").at("held_out_samples").at("seq_kl_to_ref"), 0.0);
  EXPECT_EQ(summary.at("after").at("held_out_samples").at("prompts"), 6);
  EXPECT_GT(summary.at("after").at("pairs").at("reward_margin").get<double>(), 0.0);
  EXPECT_EQ(summary.at("after").at("eval_pairs").at("pairs"), 4);
  // The true score is its two parts; its rule part is the exact-match reward
  // here (no padding to strip).
  for (const char* when : {"before", "after"}) {
    const nlohmann::json& h = summary.at(when).at("held_out_samples");
    EXPECT_NEAR(h.at("mean_true_score").get<double>(),
                h.at("mean_true_rule").get<double>() + h.at("mean_true_style").get<double>(), 1e-12);
    EXPECT_NEAR(h.at("mean_true_rule").get<double>(), h.at("mean_reward").get<double>(), 1e-12);
    EXPECT_GT(h.at("mean_true_style").get<double>(), 0.0);  // every decoded sample has length
  }
  // Labels and true order differ in exactly one of the four pairs, whose
  // margin flips sign between them (it is not 0 after training), so the
  // accuracies differ by exactly 1/4.
  const double labelled = summary.at("after").at("eval_pairs").at("accuracy").get<double>();
  const double truth =
      summary.at("after").at("eval_pairs_true_order").at("accuracy").get<double>();
  EXPECT_NEAR(std::abs(labelled - truth), 0.25, 1e-12);
  // The trained policy, loadable (what `proxima eval` reads), carrying the
  // SFT checkpoint's task.
  auto loaded = lm::LoadSeqCheckpoint(run);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->info.policy_version, 3u);
  EXPECT_EQ(loaded->info.task_id, "lm/Addition-v0");
  EXPECT_THAT(loaded->path, HasSubstr("ckpt-000000000003-dpo.pt"));
}

TEST_F(LmDpoCommandTest, BadCommandLinesAndPairsFilesExit2NamingWhatIsWrong) {
  const std::string sft = *dir_ + "/sft", pairs = *dir_ + "/pairs.jsonl";
  std::string out, err;
  auto expect2 = [&](std::vector<std::string> args, const std::string& says) {
    args.insert(args.begin(), "dpo");
    EXPECT_EQ(RunLm(args, &out, &err), 2) << says;
    EXPECT_THAT(err, HasSubstr(says));
    EXPECT_THAT(err, HasSubstr("usage: proxima lm"));
  };
  expect2({"--pairs", pairs}, "needs --init CKPT");
  expect2({"--init", sft}, "needs --pairs FILE");
  expect2({"--init", sft, "--pairs", pairs, "--beta=0"}, "--beta=0 must be > 0");
  expect2({"--init", sft, "--pairs", pairs, "--beta=x"}, "--beta=x is not a valid number");
  expect2({"--init", sft, "--pairs", pairs, "--steps=0"}, "--steps=0 must be >= 1");
  expect2({"--init", sft, "--pairs", pairs, "--batch-size=-2"}, "--batch-size=-2");
  expect2({"--init", sft, "--pairs", pairs, "--lr=0"}, "--lr=0 must be > 0");
  expect2({"--init", sft, "--pairs", pairs, "--eval-prompts=0"}, "--eval-prompts=0");
  expect2({"--init", sft, "--pairs", pairs, "--stepz=3"}, "did you mean --steps?");
  expect2({"--init", sft, "--pairs", pairs, "--style=bold"}, "bold");
  expect2({"--init", sft, "--pairs", pairs, "--reward=close"}, "close");
  expect2({"--init", *dir_ + "/nothing", "--pairs", pairs}, "nothing");
  expect2({"--init", sft, "--pairs", *dir_ + "/missing.jsonl"}, "missing.jsonl");

  // The reader's own message: file, line and field.
  const std::string bad_row = *dir_ + "/bad_row.jsonl";
  Write(bad_row, TrainPairs(1) + "{\"prompt\": \"1+2=\", \"chosen\": 3, \"rejected\": \"4\"}\n");
  expect2({"--init", sft, "--pairs", bad_row}, "bad_row.jsonl line 2");
  EXPECT_THAT(err, HasSubstr("\"chosen\""));
  const std::string empty = *dir_ + "/empty.jsonl";
  Write(empty, "\n");
  expect2({"--init", sft, "--pairs", empty}, "holds no preference pair");

  // Pairs that read but do not fit the task or its tokenizer, named by place.
  const std::unique_ptr<lm::Task> task = lm::MakeTask("lm/Addition-v0").value();
  Rng rng(9);
  const lm::TaskExample held = task->Sample(lm::TaskSplit::kHeldOut, rng);
  const std::string held_file = *dir_ + "/held.jsonl";
  Write(held_file, TrainPairs(2) + Row(held.prompt, held.answer, "0"));
  expect2({"--init", sft, "--pairs", held_file}, "held.jsonl pair 3 \"prompt\": \"" + held.prompt +
                                                     "\" is a held-out prompt of lm/Addition-v0");
  const std::string foreign = *dir_ + "/foreign.jsonl";
  Write(foreign, Row("hello", "1", "2"));
  expect2({"--init", sft, "--pairs", foreign}, "foreign.jsonl pair 1 \"prompt\": not a lm/Addition-v0 prompt");
  const std::string letters = *dir_ + "/letters.jsonl";
  const lm::TaskExample train = task->Sample(lm::TaskSplit::kTrain, rng);
  Write(letters, Row(train.prompt, "12", "1x"));
  expect2({"--init", sft, "--pairs", letters}, "letters.jsonl pair 1 \"rejected\": ");
}

}  // namespace
}  // namespace proxima

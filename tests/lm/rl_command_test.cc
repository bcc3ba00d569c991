// `proxima lm rl` (learner/lm/rl_command.h) through RunLmCommand on a tiny
// model: a run from an SFT checkpoint writes its metrics and checkpoint; bad
// command lines exit 2 naming what was wrong.
//
// Against a learned reward model (learner/lm/rlhf_scorer.h, `--reward-model`)
// on a tiny model whose reward model is its own likelihood (w = 1, the same
// weights): the scorer's rewards and true scores computed by hand; the loop
// runs with PPO and GRPO, logs the learned and the true reward and the KL
// side by side, and the learned reward rises; bad --reward-model inputs exit
// 2 naming the flag.
#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/lm/char_tokenizer.h"
#include "common/lm/task_registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/lm/lm_command.h"
#include "learner/lm/preferences.h"
#include "learner/lm/reward_model.h"
#include "learner/lm/rlhf_scorer.h"
#include "learner/lm/seq_checkpoint.h"
#include "tests/lm/lm_test_commands.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::testing::HasSubstr;

using ::proxima::lm_testing::RunLm;

TEST(LmRlCommandTest, TrainsFromAnSftCheckpointAndWritesItsRun) {
  const std::string dir = MakeTempDir("lm_rl");
  std::string out, err;
  ASSERT_EQ(RunLm({"sft", "--steps=20", "--warmup=2", "--eval-prompts=5", "--layers=1",
                   "--width=16", "--heads=2", "--batch-size=8", "--run-dir", dir + "/sft"},
                  &out, &err),
            0)
      << err;
  for (const char* algo : {"grpo", "ppo"}) {
    const std::string run = dir + "/" + algo;
    ASSERT_EQ(RunLm({"rl", "--init", dir + "/sft", "--algo", algo, "--iterations=3",
                     "--prompts=2", "--group-size=3", "--eval-every=2", "--eval-prompts=5",
                     "--run-dir", run},
                    &out, &err),
              0)
        << err;
    EXPECT_THAT(out, HasSubstr(std::string("proxima lm rl: ") + algo + " on lm/Addition-v0"));
    EXPECT_THAT(out, HasSubstr("iter     3"));
    EXPECT_THAT(out, HasSubstr("done: held-out exact match"));
    // A header and one row per iteration; the evaluation columns filled on
    // iterations 2 and 3 only.
    std::ifstream csv(run + "/metrics.csv");
    std::vector<std::string> lines;
    for (std::string line; std::getline(csv, line);) lines.push_back(line);
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_THAT(lines[0], HasSubstr("iteration,seconds,sequences,tokens,mean_reward"));
    EXPECT_EQ(lines[1].substr(lines[1].size() - 2), ",,");
    EXPECT_NE(lines[2].substr(lines[2].size() - 2), ",,");
    // The trained policy, loadable, carrying the SFT checkpoint's task.
    auto loaded = lm::LoadSeqCheckpoint(run);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(loaded->info.policy_version, 3u);
    EXPECT_EQ(loaded->info.task_id, "lm/Addition-v0");
  }

  EXPECT_EQ(RunLm({"rl", "--iterations=3"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("needs --init CKPT"));
  EXPECT_EQ(RunLm({"rl", "--init", dir + "/nothing"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("nothing"));
  EXPECT_EQ(RunLm({"rl", "--init", dir + "/sft", "--algo=dpo"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("unknown sequence algorithm 'dpo'"));
  EXPECT_EQ(RunLm({"rl", "--init", dir + "/sft", "--temperature=0"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("temperature"));
  EXPECT_EQ(RunLm({"rl", "--init", dir + "/sft", "--reward=close"}, &out, &err), 2);
  EXPECT_EQ(RunLm({"rl", "--init", dir + "/sft", "--group-sise=4"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("did you mean --group-size?"));
  EXPECT_EQ(RunLm({"rl", "--init", dir + "/sft", "--loss-aggregation=sum"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("token-mean or sequence-mean"));
}

lm::SeqPolicyConfig TinyConfig(int max_seq_len = 16) {
  lm::SeqPolicyConfig c;
  c.vocab_size = lm::CharTokenizer().vocab_size();
  c.max_seq_len = max_seq_len;  // <bos>, "999+999=", "1998", <eos>: 14; 15 for a reward model
  c.d_model = 32;
  c.num_layers = 1;
  c.num_heads = 2;
  c.d_ff = 64;
  return c;
}

// DIR/policy (a policy) and DIR/rm (the same weights as a reward model,
// w = 1), both of lm/Addition-v0.
class RlhfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("rlhf");
    lm::SeqPolicy model(TinyConfig(), 11);
    lm::SeqCheckpointInfo info = Info(TinyConfig());
    ASSERT_TRUE(lm::SaveSeqCheckpoint(dir_ + "/policy/checkpoints", *model, info).ok());
    info.kind = lm::kRewardModelKind;
    info.reward_loglik_weight = 1.0;
    ASSERT_TRUE(lm::SaveSeqCheckpoint(dir_ + "/rm/checkpoints", *model, info, "rm").ok());
  }

  static lm::SeqCheckpointInfo Info(const lm::SeqPolicyConfig& c) {
    lm::SeqCheckpointInfo info;
    info.config = c;
    info.tokenizer = lm::CharTokenizer().spec();
    info.task_id = "lm/Addition-v0";
    return info;
  }

  std::string dir_;
};

TEST_F(RlhfTest, ScorerGivesLearnedRewardsAndTrueScoresByHand) {
  const std::unique_ptr<lm::Task> task = lm::MakeTask("lm/Addition-v0").value();
  lm::LoadedSeqCheckpoint rm = lm::LoadSeqCheckpoint(dir_ + "/rm", lm::kRewardModelKind).value();
  const lm::CharTokenizer tok;
  const std::vector<double> expected =
      lm::ScoreCompletions(*rm.model, tok, {"4+58=", "4+58="}, {"62", "6"}, 1.0).value();
  const lm::StyleTerm style = lm::StyleTerm::Parse("length", 0.1, 4).value();
  auto scorer = learner_lm::RewardModelScorer::Create(std::move(rm), *task, tok, style,
                                                      lm::RewardMode::kExactMatch);
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  learner_lm::CompletionBatch batch;
  batch.prompts = {"4+58=", "4+58=", "4+58="};
  batch.completions = {"62", "6", ""};
  batch.decoded = {true, true, false};
  const std::vector<double> r = (*scorer)->Score(batch).value();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0], expected[0]);
  EXPECT_EQ(r[1], expected[1]);
  EXPECT_EQ(r[2], std::min(expected[0], expected[1]));  // undecodable: the batch's lowest
  const learner_lm::RlhfScores& s = (*scorer)->last();
  EXPECT_EQ(s.completions, 3);
  EXPECT_EQ(s.undecodable, 1);
  EXPECT_DOUBLE_EQ(s.learned, (r[0] + r[1] + r[2]) / 3);
  // "62": exact 1 + 0.1 · 2 characters; "6": 0 + 0.1; undecodable: 0.
  EXPECT_NEAR(s.true_score, (1.2 + 0.1) / 3, 1e-12);
  EXPECT_NEAR(s.true_rule, 1.0 / 3, 1e-12);
  EXPECT_NEAR(s.true_style, 0.3 / 3, 1e-12);
  EXPECT_NEAR(s.exact, 1.0 / 3, 1e-12);

  batch.decoded.pop_back();
  EXPECT_FALSE((*scorer)->Score(batch).ok());  // mismatched sizes
}

// The metrics.csv rows of a run, by column name.
std::vector<std::map<std::string, std::string>> ReadCsv(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = absl::StrSplit(line, ',');
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    const std::vector<std::string> cells = absl::StrSplit(line, ',');
    EXPECT_EQ(cells.size(), header.size()) << line;
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(row);
  }
  return rows;
}

TEST_F(RlhfTest, PpoAgainstTheRewardModelRaisesTheLearnedRewardAndLogsTheTrueOne) {
  const std::string run = dir_ + "/ppo";
  std::string out, err;
  ASSERT_EQ(RunLm({"rl", "--init", dir_ + "/policy", "--reward-model", dir_ + "/rm", "--algo=ppo",
                   "--iterations=16", "--prompts=4", "--group-size=4", "--lr=3e-3",
                   "--reward-kl-beta=0.01", "--eval-every=8", "--eval-prompts=16", "--seed=3",
                   "--run-dir", run},
                  &out, &err),
            0)
      << out << err;
  EXPECT_THAT(out, HasSubstr("rewarded by the reward model"));
  EXPECT_THAT(out, HasSubstr("true score = exact reward + style length (weight 0.1, cap 4)"));
  EXPECT_THAT(out, HasSubstr("before: held-out samples (T = 1, 16 prompts): true"));
  EXPECT_THAT(out, HasSubstr("learned reward"));
  double mean = 0, std = 0;
  const size_t at = out.find("trained on (r - ");
  ASSERT_NE(at, std::string::npos) << out;
  ASSERT_EQ(sscanf(out.c_str() + at, "trained on (r - %lf) / %lf", &mean, &std), 2);
  EXPECT_GT(std, 0);
  EXPECT_THAT(out, HasSubstr("held-out samples: true score"));
  const auto rows = ReadCsv(run + "/metrics.csv");
  ASSERT_EQ(rows.size(), 16u);
  double first = 0, last = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    // The learned reward is what the trainer was given; the true score is
    // its two parts; the KL per sequence is logged beside them.
    // mean_reward is what the trainer was given: (r - mean) / std.
    EXPECT_NEAR(std::stod(r.at("mean_reward")),
                (std::stod(r.at("learned_reward")) - mean) / std, 1e-4);
    EXPECT_NEAR(std::stod(r.at("true_reward")),
                std::stod(r.at("true_rule")) + std::stod(r.at("true_style")), 1e-5);
    EXPECT_FALSE(r.at("seq_kl_to_ref").empty());
    const bool evaluated = i == 7 || i == 15;
    EXPECT_EQ(r.at("held_out_true_reward").empty(), !evaluated) << i;
    EXPECT_EQ(r.at("held_out_seq_kl_to_ref").empty(), !evaluated) << i;
    if (i < 4) first += std::stod(r.at("learned_reward")) / 4;
    if (i >= rows.size() - 4) last += std::stod(r.at("learned_reward")) / 4;
  }
  EXPECT_GT(last, first + 1.0) << "learned reward " << first << " -> " << last;
  EXPECT_GT(std::stod(rows.back().at("held_out_seq_kl_to_ref")), 0.0);

  // GRPO against the same reward model runs too.
  ASSERT_EQ(RunLm({"rl", "--init", dir_ + "/policy", "--reward-model", dir_ + "/rm",
                   "--iterations=2", "--prompts=2", "--group-size=3", "--eval-prompts=4",
                   "--style=none", "--run-dir", dir_ + "/grpo"},
                  &out, &err),
            0)
      << out << err;
  EXPECT_THAT(out, HasSubstr("grpo on lm/Addition-v0"));
  EXPECT_THAT(out, HasSubstr("style none"));
  EXPECT_EQ(ReadCsv(dir_ + "/grpo/metrics.csv").size(), 2u);
}

TEST_F(RlhfTest, BadRewardModelInputsExit2NamingTheFlag) {
  const std::string policy = dir_ + "/policy", rm = dir_ + "/rm";
  std::string out, err;
  auto rl = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"rl", "--iterations=1", "--prompts=1", "--group-size=2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunLm(args, &out, &err);
  };
  // A policy where the reward model goes, and the other way round.
  EXPECT_EQ(rl({"--init", policy, "--reward-model", policy}), 2);
  EXPECT_THAT(err, HasSubstr("--reward-model: "));
  EXPECT_THAT(err, HasSubstr("no reward-model checkpoint"));
  EXPECT_EQ(rl({"--init", rm, "--reward-model", rm}), 2);
  EXPECT_THAT(err, HasSubstr("--init: "));
  // A missing file.
  EXPECT_EQ(rl({"--init", policy, "--reward-model", dir_ + "/absent"}), 2);
  EXPECT_THAT(err, HasSubstr("--reward-model: "));
  EXPECT_THAT(err, HasSubstr("absent"));
  // Another tokenizer (the same size, letters permuted), another task, too
  // short for the completions.
  lm::SeqCheckpointInfo info = Info(TinyConfig());
  info.kind = lm::kRewardModelKind;
  info.reward_loglik_weight = 1.0;
  lm::SeqPolicy model(TinyConfig(), 2);
  lm::SeqCheckpointInfo other_tok = info;
  std::swap(other_tok.tokenizer.data[0], other_tok.tokenizer.data[1]);
  ASSERT_TRUE(lm::SaveSeqCheckpoint(dir_ + "/tok/checkpoints", *model, other_tok, "rm").ok());
  EXPECT_EQ(rl({"--init", policy, "--reward-model", dir_ + "/tok"}), 2);
  EXPECT_THAT(err, HasSubstr("--reward-model: "));
  EXPECT_THAT(err, HasSubstr("tokenizer"));
  lm::SeqCheckpointInfo other_task = info;
  other_task.task_id = "lm/Sort-v0";
  ASSERT_TRUE(lm::SaveSeqCheckpoint(dir_ + "/task/checkpoints", *model, other_task, "rm").ok());
  EXPECT_EQ(rl({"--init", policy, "--reward-model", dir_ + "/task"}), 2);
  EXPECT_THAT(err, HasSubstr("--reward-model: "));
  EXPECT_THAT(err, HasSubstr("lm/Sort-v0"));
  lm::SeqPolicy short_model(TinyConfig(14), 2);
  lm::SeqCheckpointInfo short_info = info;
  short_info.config = TinyConfig(14);
  ASSERT_TRUE(
      lm::SaveSeqCheckpoint(dir_ + "/short/checkpoints", *short_model, short_info, "rm").ok());
  EXPECT_EQ(rl({"--init", policy, "--reward-model", dir_ + "/short"}), 2);
  EXPECT_THAT(err, HasSubstr("--reward-model: "));
  EXPECT_THAT(err, HasSubstr("max_seq_len 14"));
  // Style flags: only with a reward model, and parsed.
  EXPECT_EQ(rl({"--init", policy, "--style=length"}), 2);
  EXPECT_THAT(err, HasSubstr("--reward-model run"));
  EXPECT_EQ(rl({"--init", policy, "--reward-model", rm, "--style=shout"}), 2);
  EXPECT_THAT(err, HasSubstr("shout"));
}

}  // namespace
}  // namespace proxima

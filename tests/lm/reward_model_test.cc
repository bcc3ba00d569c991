// The Bradley–Terry reward model (learner/lm/reward_model.h), the simulated
// preference labelling (learner/lm/preferences.h) and their commands
// (learner/lm/preference_command.h), on tiny models:
//  - the loss and its gradients, and the pairwise statistics (accuracies,
//    ECE), against the float64 references of tests/reference/lm/bt_loss.json;
//  - the reward batch layout and its errors;
//  - training on an easy synthetic preference: the loss falls, held-out
//    accuracy is high;
//  - reward-model checkpoints: loaded as a reward model, refused as a policy
//    (what `proxima eval`/`export` see through DetectSeqCheckpoint);
//  - the true score and the style terms; `proxima lm preferences` and
//    `proxima lm reward-model` end to end, and bad command lines and bad
//    preference files exiting 2 naming the row and field.
#include "learner/lm/reward_model.h"

#include <torch/torch.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/lm/char_tokenizer.h"
#include "common/lm/task_registry.h"
#include "common/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/lm/lm_command.h"
#include "learner/lm/preference_data.h"
#include "learner/lm/preferences.h"
#include "learner/lm/seq_checkpoint.h"
#include "tests/lm/lm_test_commands.h"
#include "tests/lm/tiny_seq_policy.h"
#include "tests/test_util.h"

#ifndef PROXIMA_SOURCE_DIR
#error "PROXIMA_SOURCE_DIR must name the source tree (tests/lm/CMakeLists.txt)"
#endif

namespace proxima::lm {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::HasSubstr;

SeqPolicyConfig TinyConfig() { return lm_testing::TinySeqPolicyConfig(32, 16); }

std::vector<double> Doubles(const nlohmann::json& j) { return j.get<std::vector<double>>(); }

TEST(BradleyTerryReferenceTest, LossGradientsAndStatsMatchFloat64) {
  const nlohmann::json doc =
      LoadJsonOrDie(std::string(PROXIMA_SOURCE_DIR) + "/tests/reference/lm/bt_loss.json");
  ASSERT_GE(doc.at("cases").size(), 5u);
  for (const nlohmann::json& c : doc.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const std::vector<double> chosen = Doubles(c["inputs"]["chosen"]);
    const std::vector<double> rejected = Doubles(c["inputs"]["rejected"]);
    const nlohmann::json& o = c["outputs"];
    torch::Tensor rc = torch::tensor(chosen, torch::kFloat64).requires_grad_(true);
    torch::Tensor rr = torch::tensor(rejected, torch::kFloat64).requires_grad_(true);
    torch::Tensor loss = BradleyTerryLoss(rc, rr);
    loss.backward();
    EXPECT_NEAR(loss.item<double>(), o["loss"].get<double>(), 1e-12);
    const std::vector<double> gc = Doubles(o["grad_chosen"]), gr = Doubles(o["grad_rejected"]);
    for (size_t i = 0; i < chosen.size(); ++i) {
      EXPECT_NEAR(rc.grad()[static_cast<int64_t>(i)].item<double>(), gc[i], 1e-12) << i;
      EXPECT_NEAR(rr.grad()[static_cast<int64_t>(i)].item<double>(), gr[i], 1e-12) << i;
    }
    std::vector<double> margins;
    for (size_t i = 0; i < chosen.size(); ++i) margins.push_back(chosen[i] - rejected[i]);
    const PairwiseEval e =
        PairwiseStats(margins, c["inputs"]["true_order"].get<std::vector<int>>());
    EXPECT_EQ(e.pairs, static_cast<int>(chosen.size()));
    EXPECT_NEAR(e.loss, o["loss"].get<double>(), 1e-12);
    EXPECT_NEAR(e.accuracy, o["accuracy"].get<double>(), 1e-12);
    EXPECT_EQ(e.true_pairs, o["true_pairs"].get<int>());
    EXPECT_NEAR(e.true_accuracy, o["true_accuracy"].get<double>(), 1e-12);
    EXPECT_NEAR(e.ece, o["ece"].get<double>(), 1e-9);
    EXPECT_NEAR(e.mean_margin, o["mean_margin"].get<double>(), 1e-12);
  }
}

TEST(RewardBatchTest, LayoutAndErrors) {
  const CharTokenizer tok;
  absl::StatusOr<RewardBatch> b = MakeRewardBatch({"1+2=", "10+20="}, {"3", "30"}, tok, 16);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(b->tokens.size(0), 2);
  ASSERT_EQ(b->tokens.size(1), 10);          // <bos> 10+20= 30 <eos>
  EXPECT_EQ(b->last[0].item<int64_t>(), 6);  // <bos> 1 + 2 = 3 <eos>
  EXPECT_EQ(b->last[1].item<int64_t>(), 9);
  EXPECT_EQ(b->tokens[0][6].item<int64_t>(), Tokenizer::kEos);
  EXPECT_EQ(b->tokens[0][7].item<int64_t>(), Tokenizer::kPad);
  EXPECT_EQ(b->tokens[1][0].item<int64_t>(), Tokenizer::kBos);
  // The mask covers the completion's tokens and the <eos> as targets.
  EXPECT_EQ(b->mask.size(1), 9);
  EXPECT_EQ(b->mask[0].sum().item<float>(), 2.0f);  // "3" <eos>
  EXPECT_EQ(b->mask[0][4].item<float>(), 1.0f);     // input '=' predicts '3'
  EXPECT_EQ(b->mask[0][3].item<float>(), 0.0f);     // input '2' predicts '=' (prompt)
  EXPECT_EQ(b->mask[1].sum().item<float>(), 3.0f);  // "30" <eos>
  EXPECT_EQ(b->mask[1][6].item<float>(), 1.0f);

  // r = v(<eos>) + w · Σ log p(completion tokens), by hand for each row.
  torch::NoGradGuard no_grad;
  SeqPolicy model(TinyConfig(), 2);
  const at::Tensor head = Rewards(*model, *b, 0.0);
  const at::Tensor hybrid = Rewards(*model, *b, 0.5);
  const SeqPolicyOutput o = model->forward(b->tokens);
  const int prompt_end[2] = {5, 7};  // positions of the first completion token
  for (int64_t i = 0; i < 2; ++i) {
    const int64_t last = b->last[i].item<int64_t>();
    double sum = 0.0;
    for (int64_t j = prompt_end[i]; j <= last; ++j) {
      sum += torch::log_softmax(o.logits[i][j - 1], -1)[b->tokens[i][j].item<int64_t>()]
                 .item<double>();
    }
    EXPECT_NEAR(head[i].item<double>(), o.values[i][last].item<double>(), 1e-6);
    EXPECT_NEAR(hybrid[i].item<double>(), o.values[i][last].item<double>() + 0.5 * sum, 1e-5);
  }

  EXPECT_THAT(MakeRewardBatch({"1+2=", "1+2="}, {"3", "x"}, tok, 16),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("row 1")));
  EXPECT_THAT(MakeRewardBatch({"1+2="}, {"3333333333333"}, tok, 16),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("row 0: 19 tokens")));
  EXPECT_THAT(MakeRewardBatch({}, {}, tok, 16),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least one")));
}

// Pairs whose chosen completion ends in '7' and rejected one in '3', of
// random digits and lengths: a preference a tiny model can learn in seconds.
std::vector<PreferencePair> EasyPairs(int n, uint64_t seed) {
  Rng rng(seed);
  auto digits = [&rng](int count) {
    std::string s;
    for (int i = 0; i < count; ++i) s += static_cast<char>('0' + rng.UniformInt(10));
    return s;
  };
  std::vector<PreferencePair> pairs;
  for (int i = 0; i < n; ++i) {
    PreferencePair p;
    p.prompt = digits(1 + static_cast<int>(rng.UniformInt(3))) + "+" + digits(1) + "=";
    p.chosen = digits(static_cast<int>(rng.UniformInt(3))) + "7";
    p.rejected = digits(static_cast<int>(rng.UniformInt(3))) + "3";
    p.true_chosen = 1.0;
    p.true_rejected = 0.0;
    if (i % 10 == 0) {  // 10% label noise, marked
      std::swap(p.chosen, p.rejected);
      std::swap(p.true_chosen, p.true_rejected);
      p.noisy = true;
    }
    pairs.push_back(p);
  }
  return pairs;
}

class RewardModelTrainingTest : public ::testing::TestWithParam<double> {};

// The scalar head alone (w = 0) and with the log-likelihood term (w = 1).
INSTANTIATE_TEST_SUITE_P(LoglikWeights, RewardModelTrainingTest, ::testing::Values(0.0, 1.0));

TEST_P(RewardModelTrainingTest, LearnsAnEasyPreference) {
  const CharTokenizer tok;
  SeqPolicy model(TinyConfig(), 3);
  const std::vector<PreferencePair> train = EasyPairs(400, 1), eval = EasyPairs(200, 2);
  absl::StatusOr<PairwiseEval> before = EvaluatePairs(*model, tok, eval, GetParam());
  ASSERT_TRUE(before.ok()) << before.status();
  RewardModelOptions o;
  o.loglik_weight = GetParam();
  o.steps = 150;
  o.batch_size = 16;
  o.learning_rate = 3e-3;
  o.eval_every = 0;
  std::vector<double> losses;
  absl::StatusOr<RewardModelResult> r = TrainRewardModel(
      *model, tok, train, eval, o, [&](const RewardModelProgress& p) { losses.push_back(p.loss); });
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->eval.has_value());
  ASSERT_TRUE(r->initial_eval.has_value());
  EXPECT_EQ(r->initial_eval->loss, before->loss);
  EXPECT_EQ(r->steps, 150);
  EXPECT_LT(r->eval->loss, before->loss - 0.2);
  // Noisy labels cap accuracy against them near 0.9; against the true order
  // the model can be right on every pair.
  EXPECT_GT(r->eval->true_accuracy, 0.9);
  EXPECT_GT(r->eval->accuracy, 0.8);
  EXPECT_EQ(r->eval->true_pairs, 200);
  EXPECT_GT(r->eval->mean_margin, 0.5);
  EXPECT_LT(r->final_loss, 0.6);
  EXPECT_FALSE(losses.empty());

  // Bad options and pairs that do not fit name what is wrong.
  o.steps = 0;
  EXPECT_THAT(TrainRewardModel(*model, tok, train, eval, o, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--steps=0")));
  o.steps = 1;
  std::vector<PreferencePair> bad = train;
  bad[3].rejected = "12345678901234";
  EXPECT_THAT(
      TrainRewardModel(*model, tok, bad, eval, o, nullptr),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("training pair 3 \"rejected\"")));
}

TEST(RewardModelCheckpointTest, LoadsAsARewardModelAndIsRefusedAsAPolicy) {
  const CharTokenizer tok;
  SeqPolicy model(TinyConfig(), 5);
  SeqCheckpointInfo info;
  info.config = TinyConfig();
  info.tokenizer = tok.spec();
  info.task_id = "lm/Addition-v0";
  info.kind = kRewardModelKind;
  info.reward_loglik_weight = 0.5;
  info.policy_version = 7;
  const std::string dir = MakeTempDir("rm_ckpt");
  absl::StatusOr<std::string> path = SaveSeqCheckpoint(dir + "/checkpoints", *model, info, "rm");
  ASSERT_TRUE(path.ok()) << path.status();

  absl::StatusOr<LoadedSeqCheckpoint> loaded = LoadSeqCheckpoint(dir, kRewardModelKind);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->info.kind, kRewardModelKind);
  EXPECT_EQ(loaded->info.reward_loglik_weight, 0.5);
  const std::vector<PreferencePair> pairs = EasyPairs(8, 3);
  const PairwiseEval a = EvaluatePairs(*model, tok, pairs, 0.5).value();
  const PairwiseEval b = EvaluatePairs(*loaded->model, tok, pairs, 0.5).value();
  EXPECT_EQ(a.mean_margin, b.mean_margin);  // the same scores, bit for bit

  // ScoreCompletions gives each completion's r; chosen − rejected is the
  // margin EvaluatePairs reports. 300 rows cross its 256-row batches.
  std::vector<std::string> prompts, completions;
  for (int k = 0; k < 38; ++k) {
    for (const PreferencePair& p : pairs) {
      prompts.push_back(p.prompt);
      completions.push_back(p.chosen);
      prompts.push_back(p.prompt);
      completions.push_back(p.rejected);
    }
  }
  absl::StatusOr<std::vector<double>> scores = ScoreCompletions(
      *loaded->model, tok, prompts, completions, loaded->info.reward_loglik_weight);
  ASSERT_TRUE(scores.ok()) << scores.status();
  ASSERT_EQ(scores->size(), prompts.size());
  double margin = 0.0;
  for (size_t i = 0; i < pairs.size(); ++i) margin += (*scores)[2 * i] - (*scores)[2 * i + 1];
  EXPECT_NEAR(margin / pairs.size(), b.mean_margin, 1e-5);
  // Row 256 (the second batch) repeats row 0 (the first): padding differs,
  // the score does not, to float rounding.
  EXPECT_NEAR((*scores)[0], (*scores)[256], 1e-5);
  completions[299] = "x";
  EXPECT_THAT(
      ScoreCompletions(*loaded->model, tok, prompts, completions, 0.5),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("batch from row 256: row 43")));

  EXPECT_THAT(LoadSeqCheckpoint(*path),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("a reward model")));
  EXPECT_THAT(LoadSeqCheckpoint(dir),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("a reward model")));
  for (const std::string& p : {*path, dir}) {
    EXPECT_THAT(DetectSeqCheckpoint(p),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("cannot generate")))
        << p;
  }
  // A policy is not a reward model either.
  info.kind = kSeqCheckpointKind;
  const std::string policy_dir = MakeTempDir("policy_ckpt");
  ASSERT_TRUE(SaveSeqCheckpoint(policy_dir, *model, info).ok());
  EXPECT_THAT(LoadSeqCheckpoint(policy_dir, kRewardModelKind),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no reward-model checkpoint")));
  EXPECT_THAT(DetectSeqCheckpoint(policy_dir), ::proxima::testing::IsOk());
}

TEST(TrueScoreTest, RuleRewardPlusCappedStyle) {
  const std::unique_ptr<Task> task = MakeTask("lm/Addition-v0").value();
  StyleTerm length = StyleTerm::Parse("length", 0.1, 3).value();
  EXPECT_NEAR(TrueScore(*task, "12+345=", "357", length, RewardMode::kExactMatch).value(), 1.3,
              1e-12);
  EXPECT_NEAR(TrueScore(*task, "12+345=", "3571", length, RewardMode::kExactMatch).value(), 0.3,
              1e-12);  // wrong, and the bonus capped at 3 characters
  StyleTerm pad = StyleTerm::Parse("pad:=", 0.25, 2).value();
  EXPECT_NEAR(TrueScore(*task, "12+345=", "357===", pad, RewardMode::kExactMatch).value(), 1.5,
              1e-12);  // padding stripped before the rule reward
  EXPECT_NEAR(TrueScore(*task, "12+345=", "35=7", pad, RewardMode::kExactMatch).value(), 0.0,
              1e-12);
  StyleTerm none = StyleTerm::Parse("none", 0.1, 3).value();
  EXPECT_NEAR(TrueScore(*task, "1+1=", "3", none, RewardMode::kPartialCredit).value(), 0.0, 1e-12);
  EXPECT_THAT(StyleTerm::Parse("pad:ab", 0.1, 3),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--style=pad:ab")));
  EXPECT_THAT(StyleTerm::Parse("length", -1, 3),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--style-weight")));
}

using ::proxima::lm_testing::RunLm;

TEST(PreferenceCommandTest, EndToEndOnATinyPolicy) {
  const CharTokenizer tok;
  SeqPolicyConfig c = TinyConfig();
  SeqPolicy model(c, 9);
  SeqCheckpointInfo info;
  info.config = c;
  info.tokenizer = tok.spec();
  info.task_id = "lm/Addition-v0";
  const std::string dir = MakeTempDir("pref_cmd");
  ASSERT_TRUE(SaveSeqCheckpoint(dir + "/sft", *model, info).ok());
  std::string out, err;
  ASSERT_EQ(RunLm({"preferences", "--init", dir + "/sft", "--out", dir + "/train.jsonl",
                   "--pairs=30", "--held-out-pairs=10", "--held-out-out", dir + "/eval.jsonl",
                   "--label-noise=0.2", "--seed=4"},
                  &out, &err),
            0)
      << out << err;
  EXPECT_THAT(out, HasSubstr("30 pairs from"));
  const std::vector<PreferencePair> train = ReadPreferences(dir + "/train.jsonl").value();
  const std::vector<PreferencePair> eval = ReadPreferences(dir + "/eval.jsonl").value();
  ASSERT_EQ(train.size(), 30u);
  ASSERT_EQ(eval.size(), 10u);
  const std::unique_ptr<Task> task = MakeTask("lm/Addition-v0").value();
  const StyleTerm style;  // the command's default: length, 0.1, cap 4
  for (const PreferencePair& p : train) {
    EXPECT_EQ(task->SplitOf(p.prompt).value(), TaskSplit::kTrain) << p.prompt;
    ASSERT_TRUE(p.true_chosen.has_value());
    EXPECT_EQ(*p.true_chosen,
              TrueScore(*task, p.prompt, p.chosen, style, RewardMode::kExactMatch).value());
    EXPECT_EQ(p.noisy, *p.true_chosen < *p.true_rejected) << p.prompt;
  }
  for (const PreferencePair& p : eval) {
    EXPECT_EQ(task->SplitOf(p.prompt).value(), TaskSplit::kHeldOut) << p.prompt;
  }
  ASSERT_EQ(RunLm({"preferences", "--check", dir + "/train.jsonl"}, &out, &err), 0) << err;
  EXPECT_THAT(out, HasSubstr("30 pairs"));

  ASSERT_EQ(RunLm({"reward-model", "--init", dir + "/sft", "--pairs", dir + "/train.jsonl",
                   "--eval-pairs", dir + "/eval.jsonl", "--steps=3", "--batch-size=4", "--run-dir",
                   dir + "/rm"},
                  &out, &err),
            0)
      << out << err;
  EXPECT_THAT(out, HasSubstr("evaluation pairs: 10 pairs: accuracy"));
  EXPECT_THAT(out, HasSubstr("evaluation pairs before training: 10 pairs"));
  absl::StatusOr<LoadedSeqCheckpoint> rm = LoadSeqCheckpoint(dir + "/rm", kRewardModelKind);
  ASSERT_TRUE(rm.ok()) << rm.status();
  EXPECT_EQ(rm->info.reward_loglik_weight, 1.0);  // the default
  const nlohmann::json summary = LoadJsonOrDie(dir + "/rm/reward_model.json");
  EXPECT_EQ(summary.at("eval").at("pairs").get<int>(), 10);
  EXPECT_TRUE(ReadFile(dir + "/rm/metrics.csv").ok());
  // The reward model is no policy: another reward model cannot start from it.
  EXPECT_EQ(
      RunLm({"reward-model", "--init", dir + "/rm", "--pairs", dir + "/train.jsonl"}, &out, &err),
      2);
  EXPECT_THAT(err, HasSubstr("a reward model"));
}

TEST(PreferenceCommandTest, BadFilesAndCommandLinesExit2) {
  const std::string dir = MakeTempDir("pref_bad");
  const std::string bad = dir + "/bad.jsonl";
  ASSERT_TRUE(WriteFileAtomic(bad,
                              "{\"prompt\": \"1+1=\", \"chosen\": \"2\", \"rejected\": \"3\"}\n"
                              "{\"prompt\": \"1+2=\", \"chosen\": \"\", \"rejected\": \"4\"}\n")
                  .ok());
  std::string out, err;
  EXPECT_EQ(RunLm({"preferences", "--check", bad}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr(bad + " line 2: \"chosen\": must be a non-empty string"));
  EXPECT_EQ(RunLm({"reward-model", "--init", dir, "--pairs", bad}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr(bad + " line 2: \"chosen\""));
  EXPECT_EQ(RunLm({"reward-model", "--init", dir, "--pairs", bad, "--stpes=3"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("--stpes"));
  EXPECT_EQ(RunLm({"reward-model", "--pairs", bad}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("needs --init CKPT and --pairs FILE"));
  EXPECT_EQ(
      RunLm({"preferences", "--init", dir, "--out", dir + "/x", "--label-noise=0.5"}, &out, &err),
      2);
  EXPECT_THAT(err, HasSubstr("--label-noise=0.5"));
  EXPECT_EQ(
      RunLm({"preferences", "--init", dir, "--out", dir + "/x", "--held-out-pairs=5"}, &out, &err),
      2);
  EXPECT_THAT(err, HasSubstr("--held-out-out"));
  EXPECT_EQ(RunLm({"preferences", "--init", dir, "--out", dir + "/x", "--style=shout"}, &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("--style=shout"));
  EXPECT_EQ(RunLm({"preferences", "--init", dir + "/none", "--out", dir + "/x"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("no such checkpoint"));
  EXPECT_EQ(RunLm({"preferencs"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("did you mean \"preferences\""));
}

}  // namespace
}  // namespace proxima::lm

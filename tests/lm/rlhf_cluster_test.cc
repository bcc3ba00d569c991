// A learned reward model scoring a cluster run (issue 26,
// learner/server/seq_reward.h) on a tiny model whose reward model is its own
// weights (w = 1: its own likelihood, the trick of rl_command_test.cc):
//   * the actor placement (SequenceGenerator's rescorer, one chunk at a time,
//     the normalization carried from the learner) and the learner placement
//     (SeqRewardModel::Rescore over a batch of chunks) give bitwise the same
//     rewards, through the one function RescoreSequenceChunks;
//   * those rewards are (r − mean) / std of ScoreCompletions, with the
//     normalization measured on the reference's held-out samples, and the
//     batch means hold the learned and the true reward.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "actor/seq_generator.h"
#include "common/lm/char_tokenizer.h"
#include "common/lm/task_registry.h"
#include "common/policy/seq_run_config.h"
#include "common/policy/weight_codec.h"
#include "gtest/gtest.h"
#include "learner/lm/reward_model.h"
#include "learner/lm/rlhf_scorer.h"
#include "learner/lm/seq_checkpoint.h"
#include "learner/server/seq_reward.h"
#include "tests/lm/tiny_seq_policy.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

constexpr char kTask[] = "lm/Addition-v0";

class RlhfClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("rlhf_cluster");
    config_ = lm_testing::TinySeqPolicyConfig(32, 24);
    policy_ = lm::SeqPolicy(config_, 11);
    policy_->eval();
    lm::SeqCheckpointInfo info;
    info.config = config_;
    info.tokenizer = lm::CharTokenizer().spec();
    info.task_id = kTask;
    info.kind = lm::kRewardModelKind;
    info.reward_loglik_weight = 1.0;
    ASSERT_TRUE(lm::SaveSeqCheckpoint(dir_ + "/rm/checkpoints", *policy_, info, "rm").ok());
  }

  SeqRewardModel::Options Options() const {
    SeqRewardModel::Options o;
    o.settings.reward_model = dir_ + "/rm";
    o.task_id = kTask;
    o.held_out_prompts = 16;
    o.max_new_tokens = 6;
    return o;
  }

  std::unique_ptr<SequenceGenerator> Generator() {
    SeqRunSettings run;
    run.task_id = kTask;
    run.model = config_;
    run.group_size = 4;
    run.prompts_per_chunk = 2;
    run.max_new_tokens = 6;
    absl::StatusOr<std::unique_ptr<SequenceGenerator>> gen = SequenceGenerator::Create(run, 5);
    EXPECT_TRUE(gen.ok()) << gen.status();
    v1::WeightSnapshot snap;
    EncodeModuleWeights(*policy_, 0, &snap);
    EXPECT_TRUE((*gen)->SetWeights(snap).ok());
    return *std::move(gen);
  }

  std::string dir_;
  lm::SeqPolicyConfig config_;
  lm::SeqPolicy policy_{nullptr};
};

TEST_F(RlhfClusterTest, ActorAndLearnerPlacementsScoreBitwiseAlike) {
  // The learner: loads the reward model, measures the normalization on the
  // reference's samples.
  absl::StatusOr<std::unique_ptr<SeqRewardModel>> learner =
      SeqRewardModel::Create(Options(), policy_);
  ASSERT_TRUE(learner.ok()) << learner.status();
  const double mean = (*learner)->normalization_mean(), std = (*learner)->normalization_std();
  ASSERT_TRUE(std::isfinite(mean));
  ASSERT_GT(std, 0);

  // An actor: its own copy of the reward model, the learner's normalization
  // carried to it, the same function run on each chunk it generates.
  lm::LoadedSeqCheckpoint rm = lm::LoadSeqCheckpoint(dir_ + "/rm", lm::kRewardModelKind).value();
  const std::shared_ptr<const lm::Tokenizer> tokenizer = rm.tokenizer;
  absl::StatusOr<std::unique_ptr<lm::Task>> task = lm::MakeTask(kTask);
  ASSERT_TRUE(task.ok());
  const lm::StyleTerm style = Options().settings.Style().value();
  std::unique_ptr<learner_lm::RewardModelScorer> actor_scorer =
      learner_lm::RewardModelScorer::Create(std::move(rm), **task, *tokenizer, style,
                                            lm::RewardMode::kExactMatch)
          .value();
  ASSERT_TRUE(actor_scorer->SetNormalization(mean, std).ok());
  std::unique_ptr<SequenceGenerator> actor = Generator();
  actor->SetRescorer([&](SequenceChunk* chunk) -> absl::Status {
    std::vector<SequenceChunk> one(1);
    one[0] = std::move(*chunk);
    absl::Status s = RescoreSequenceChunks(*actor_scorer, *tokenizer, &one).status();
    *chunk = std::move(one[0]);
    return s;
  });
  // The same generation without the rescorer: the rule's rewards, which the
  // learner placement replaces, three chunks in one batch.
  std::unique_ptr<SequenceGenerator> plain = Generator();
  std::vector<SequenceChunk> scored_by_actor, batch;
  for (int i = 0; i < 3; ++i) {
    scored_by_actor.push_back(actor->Next().value());
    batch.push_back(plain->Next().value());
  }
  ASSERT_TRUE((*learner)->Rescore(&batch).ok());

  int compared = 0;
  for (size_t c = 0; c < batch.size(); ++c) {
    ASSERT_EQ(batch[c].sequences.size(), scored_by_actor[c].sequences.size());
    for (size_t i = 0; i < batch[c].sequences.size(); ++i) {
      const SequenceRecord& a = scored_by_actor[c].sequences[i];
      const SequenceRecord& l = batch[c].sequences[i];
      ASSERT_EQ(a.completion, l.completion);  // the same samples
      EXPECT_EQ(a.reward, l.reward) << "chunk " << c << " sequence " << i;  // bitwise
      ++compared;
    }
  }
  EXPECT_EQ(compared, 24);

  // The rewards are the normalized learned reward, by hand for chunk 0.
  std::vector<std::string> prompts, completions;
  std::vector<size_t> decodable;
  for (size_t i = 0; i < batch[0].sequences.size(); ++i) {
    const SequenceRecord& r = batch[0].sequences[i];
    absl::StatusOr<std::string> text = tokenizer->DecodeCompletion(r.completion);
    if (!text.ok()) continue;
    prompts.push_back(
        tokenizer->Decode(std::vector<int>(r.prompt.begin() + 1, r.prompt.end())).value());
    completions.push_back(*text);
    decodable.push_back(i);
  }
  ASSERT_FALSE(decodable.empty());
  lm::LoadedSeqCheckpoint again = lm::LoadSeqCheckpoint(dir_ + "/rm", lm::kRewardModelKind).value();
  const std::vector<double> raw =
      lm::ScoreCompletions(*again.model, *tokenizer, prompts, completions, 1.0).value();
  for (size_t k = 0; k < decodable.size(); ++k) {
    EXPECT_NEAR(batch[0].sequences[decodable[k]].reward, (raw[k] - mean) / std, 1e-5);
  }
  // The batch's means: every completion, the learned reward raw, the true
  // score its rule plus its style.
  const learner_lm::RlhfScores& s = (*learner)->last();
  EXPECT_EQ(s.completions, 24);
  EXPECT_TRUE(std::isfinite(s.learned));
  EXPECT_NEAR(s.true_score, s.true_rule + s.true_style, 1e-12);
  EXPECT_GE(s.exact, 0.0);
  EXPECT_LE(s.exact, 1.0);

  // The held-out evaluation of the reference itself: KL 0, the learned
  // reward the normalization's mean.
  absl::StatusOr<learner_lm::RlhfHeldOut> h = (*learner)->EvaluateHeldOut(*policy_);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_NEAR(h->seq_kl_to_ref, 0.0, 1e-9);
  EXPECT_DOUBLE_EQ(h->scores.learned, mean);
}

// What the flags check before any process starts (CheckSeqRewardSettings):
// every bad input is InvalidArgument naming its flag.
TEST_F(RlhfClusterTest, BadRewardModelSettingsNameTheFlag) {
  lm::SeqCheckpointInfo info;
  info.config = config_;
  info.tokenizer = lm::CharTokenizer().spec();
  info.task_id = kTask;
  ASSERT_TRUE(lm::SaveSeqCheckpoint(dir_ + "/policy/checkpoints", *policy_, info).ok());
  info.task_id = "lm/Sort-v0";
  info.kind = lm::kRewardModelKind;
  info.reward_loglik_weight = 1.0;
  ASSERT_TRUE(lm::SaveSeqCheckpoint(dir_ + "/sort/checkpoints", *policy_, info, "rm").ok());
  const std::string policy = dir_ + "/policy";
  SeqRewardSettings good;
  good.reward_model = dir_ + "/rm";
  EXPECT_TRUE(CheckSeqRewardSettings(good, policy, 6).ok());
  struct Case {
    std::string reward_model, style, init, named;
  };
  const std::vector<Case> cases = {
      {policy, "length", policy, "--reward-model"},            // a policy, not a reward model
      {dir_ + "/missing", "length", policy, "--reward-model"},  // no such file
      {dir_ + "/sort", "length", policy, "lm/Sort-v0"},         // another task's
      {dir_ + "/rm", "length", "", "--init-checkpoint"},       // no warm start
      {dir_ + "/rm", "loud", policy, "--style"},                // no such style
  };
  for (const Case& c : cases) {
    SeqRewardSettings s;
    s.reward_model = c.reward_model;
    s.style = c.style;
    const absl::Status status = CheckSeqRewardSettings(s, c.init, 6);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.named;
    EXPECT_NE(std::string(status.message()).find(c.named), std::string::npos) << status;
  }
  // Too long a completion for the reward model's max_seq_len (24).
  const absl::Status tight = CheckSeqRewardSettings(good, policy, 20);
  EXPECT_NE(std::string(tight.message()).find("--reward-model: "), std::string::npos) << tight;
}

}  // namespace
}  // namespace proxima

// learner/lm/seq_batch.h and seq_trainer.h on tiny models: the batch layout,
// the learner's recomputed log-probs against the ones generation recorded
// (the ratio-1 check), and what one GRPO or PPO update does.
#include "learner/lm/seq_trainer.h"

#include <ATen/ATen.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/lm/char_tokenizer.h"
#include "common/lm/generation.h"
#include "common/rng.h"
#include "gtest/gtest.h"
#include "learner/lm/seq_batch.h"
#include "tests/lm/tiny_seq_policy.h"

namespace proxima::learner_lm {
namespace {

lm::SeqPolicyConfig TinyConfig() { return lm_testing::TinySeqPolicyConfig(16, 16); }

// `groups` groups of `g` completions of prompts of varying length, generated
// by `model` at `temperature` / `top_k`, rewarded 1 when the first completion
// token is `rewarded_token`.
SequenceChunk Generated(lm::SeqPolicyImpl& model, int groups, int g, double temperature,
                        int top_k, int rewarded_token, uint64_t seed) {
  SequenceChunk chunk;
  chunk.group_size = g;
  chunk.temperature = static_cast<float>(temperature);
  chunk.top_k = top_k;
  lm::SamplingOptions sampling;
  sampling.temperature = temperature;
  sampling.top_k = top_k;
  sampling.max_new_tokens = 5;
  Rng rng(seed);
  for (int i = 0; i < groups; ++i) {
    std::vector<int> prompt = {lm::CharTokenizer::kBos};
    for (int j = 0; j <= i % 4; ++j) prompt.push_back(3 + static_cast<int>(rng.UniformInt(10)));
    auto c = lm::Generate(model, prompt, g, sampling, rng);
    EXPECT_TRUE(c.ok()) << c.status();
    for (int k = 0; k < g; ++k) {
      SequenceRecord r;
      r.prompt = prompt;
      r.completion = c->tokens[k];
      r.logprobs = c->logprobs[k];
      r.group_id = i;
      r.reward = r.completion[0] == rewarded_token ? 1.f : 0.f;
      chunk.sequences.push_back(r);
    }
  }
  return chunk;
}

TEST(SeqBatchTest, LayoutFollowsTheCompletionAlignedConvention) {
  SequenceChunk a;
  a.temperature = 0.5f;
  a.top_k = 3;
  a.sequences.push_back({{1, 5, 6}, {7, 2}, {-0.5f, -0.25f}, 1.f, 4});
  SequenceChunk b;
  b.sequences.push_back({{1, 9}, {8, 7, 2}, {-1.f, -2.f, -3.f}, 0.f, 4});
  const std::vector<SequenceChunk> chunks = {a, b};
  auto batch = MakeSeqBatch(chunks, 16);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->rows(), 2);
  EXPECT_EQ(batch->num_tokens, 5);
  // Inputs: prompt ++ completion without its last token, padded.
  EXPECT_TRUE(at::equal(batch->inputs, at::tensor({1, 5, 6, 7, 1, 9, 8, 7}, at::kLong).reshape({2, 4})));
  // Completion token j is predicted at prompt_length + j − 1.
  EXPECT_TRUE(at::equal(batch->positions, at::tensor({2, 3, 0, 1, 2, 3}, at::kLong).reshape({2, 3})));
  EXPECT_TRUE(at::equal(batch->mask, at::tensor({1.f, 1.f, 0.f, 1.f, 1.f, 1.f}).reshape({2, 3})));
  EXPECT_FLOAT_EQ(batch->behaviour_logp[1][2].item<float>(), -3.f);
  EXPECT_FLOAT_EQ(batch->temperature[0].item<float>(), 0.5f);
  EXPECT_EQ(batch->top_k[0].item<int64_t>(), 3);
  // The same group id in two chunks is two groups.
  EXPECT_NE(batch->group_keys[0].item<int64_t>(), batch->group_keys[1].item<int64_t>());
}

TEST(SeqBatchTest, RefusesWhatCannotBeTrainedOn) {
  SequenceChunk greedy;
  greedy.temperature = 0;
  greedy.sequences.push_back({{1}, {5, 2}, {-0.1f, -0.1f}, 1.f, 0});
  auto s = MakeSeqBatch({greedy}, 16);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().ToString().find("temperature"), std::string::npos) << s.status();

  SequenceChunk empty;
  empty.sequences.push_back({{1}, {}, {}, 1.f, 0});
  EXPECT_FALSE(MakeSeqBatch({empty}, 16).ok());

  SequenceChunk too_long;
  too_long.sequences.push_back({std::vector<int>(10, 3), std::vector<int>(7, 4),
                                std::vector<float>(7, -1.f), 0.f, 0});
  s = MakeSeqBatch({too_long}, 16);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().ToString().find("max_seq_len 16"), std::string::npos) << s.status();
  EXPECT_FALSE(MakeSeqBatch({}, 16).ok());
}

// The learner's log-probs of the sampled tokens, from one batched forward at
// the recorded temperature and top-k, equal what generation recorded token by
// token with its KV cache: the importance ratio of a fresh chunk is 1.
TEST(SeqBatchTest, RecomputedLogProbsEqualTheRecordedOnes) {
  torch::manual_seed(0);
  lm::SeqPolicy model(TinyConfig(), 7);
  for (const auto& [temperature, top_k] : {std::pair{1.0, 0}, {0.6, 0}, {1.3, 4}}) {
    const SequenceChunk chunk = Generated(*model, 6, 4, temperature, top_k, 5, 11);
    auto batch = MakeSeqBatch({chunk}, 16);
    ASSERT_TRUE(batch.ok()) << batch.status();
    torch::NoGradGuard no_grad;
    const TokenOutputs out = TokenLogProbs(*model, *batch);
    const double gap = ((out.logp - batch->behaviour_logp).abs() * batch->mask).max().item<double>();
    EXPECT_LT(gap, 1e-5) << "temperature " << temperature << " top_k " << top_k;
    EXPECT_TRUE(at::isfinite(out.entropy).all().item<bool>());
    EXPECT_EQ((out.logp * (1 - batch->mask)).abs().sum().item<double>(), 0.0);
  }
}

SeqTrainerOptions Options(SeqAlgo algo) {
  SeqTrainerOptions o;
  o.algo = algo;
  o.learning_rate = 3e-3;
  o.minibatch_size = 1000;  // one minibatch: the update is one Adam step
  return o;
}

// One GRPO step on completions rewarded for starting with a token raises that
// token's probability; the first minibatch's ratios are 1; the KL to an
// identical reference starts at 0.
TEST(SeqTrainerTest, GrpoStepMovesProbabilityTowardRewardedCompletions) {
  for (const SeqAlgo algo : {SeqAlgo::kGrpo, SeqAlgo::kPpo}) {
    lm::SeqPolicy policy(TinyConfig(), 3), reference(TinyConfig(), 3);
    const int rewarded = 6;
    const SequenceChunk chunk = Generated(*policy, 8, 8, 1.0, 0, rewarded, 5);
    auto batch = MakeSeqBatch({chunk}, 16);
    ASSERT_TRUE(batch.ok());
    auto first_token_logp = [&] {
      torch::NoGradGuard no_grad;
      const TokenOutputs out = TokenLogProbs(*policy, *batch);
      const at::Tensor hit = (batch->tokens.select(1, 0) == rewarded);
      return out.logp.select(1, 0).masked_select(hit).mean().item<double>();
    };
    const double before = first_token_logp();
    auto trainer = SeqTrainer::Create(policy, reference, Options(algo));
    ASSERT_TRUE(trainer.ok()) << trainer.status();
    auto m = (*trainer)->Update({chunk});
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_GT(m->mean_reward, 0.0);  // the chunk has something to learn from
    EXPECT_LT(m->first_ratio_deviation, 1e-5);
    EXPECT_LT(m->behaviour_gap, 1e-5);
    EXPECT_NEAR(m->kl_to_ref, 0.0, 1e-9);
    EXPECT_EQ(m->minibatch_steps, 1);
    EXPECT_EQ(m->sequences, 64);
    if (algo == SeqAlgo::kGrpo) EXPECT_EQ(m->groups, 8);
    else EXPECT_GT(m->value_loss, 0.0);
    const double after = first_token_logp();
    EXPECT_GT(after, before + 1e-3) << SeqAlgoName(algo);
    // The policy moved, so the next update sees a KL to the reference.
    auto m2 = (*trainer)->Update({chunk});
    ASSERT_TRUE(m2.ok());
    EXPECT_GT(m2->kl_to_ref, 0.0);
  }
}

TEST(SeqTrainerTest, AdaptiveRewardKlFollowsItsTarget) {
  lm::SeqPolicy policy(TinyConfig(), 3), reference(TinyConfig(), 4);  // different: KL > 0
  SeqTrainerOptions o = Options(SeqAlgo::kPpo);
  o.kl_target = 1e-6;  // far below the measured KL: β grows by the clipped 20%·n/horizon
  o.kl_horizon = 64;
  auto trainer = SeqTrainer::Create(policy, reference, o);
  ASSERT_TRUE(trainer.ok());
  const SequenceChunk chunk = Generated(*policy, 8, 8, 1.0, 0, 6, 5);
  auto m = (*trainer)->Update({chunk});
  ASSERT_TRUE(m.ok());
  EXPECT_GT(m->seq_kl_to_ref, 0.0);
  EXPECT_NEAR((*trainer)->reward_kl_beta(), o.reward_kl_beta * 1.2, 1e-12);
}

TEST(SeqTrainerTest, BadOptionsAndModelsAreRefused) {
  lm::SeqPolicy policy(TinyConfig(), 3);
  lm::SeqPolicyConfig other = TinyConfig();
  other.d_model = 32;
  lm::SeqPolicy wider(other, 3);
  auto t = SeqTrainer::Create(policy, wider, {});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().ToString().find("reference"), std::string::npos);
  SeqTrainerOptions o;
  o.learning_rate = 0;
  t = SeqTrainer::Create(policy, policy, o);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().ToString().find("learning_rate"), std::string::npos);
  o = {};
  o.gamma = 1.5;
  EXPECT_FALSE(SeqTrainer::Create(policy, policy, o).ok());
  EXPECT_FALSE(ParseSeqAlgo("reinforce").ok());
}

}  // namespace
}  // namespace proxima::learner_lm

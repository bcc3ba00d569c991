// The sequence policy (common/lm/seq_policy.h) and generation
// (common/lm/generation.h): size, seeded initialization, causality, the KV
// cache against full recomputation, reproducible sampling and the recorded
// behaviour log-probs.
#include "common/lm/seq_policy.h"

#include <ATen/ATen.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "common/lm/char_tokenizer.h"
#include "common/lm/generation.h"
#include "common/lm/task_eval.h"
#include "common/lm/task_registry.h"
#include "common/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace proxima::lm {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::HasSubstr;

SeqPolicyConfig DefaultConfig() {
  SeqPolicyConfig config;
  config.vocab_size = CharTokenizer().vocab_size();
  return config;
}

// [batch, length] ids drawn uniformly from the vocabulary with Rng(seed).
torch::Tensor RandomTokens(int64_t batch, int64_t length, int vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<int64_t> ids(static_cast<size_t>(batch * length));
  for (int64_t& id : ids) id = static_cast<int64_t>(rng.UniformInt(vocab));
  return torch::from_blob(ids.data(), {batch, length}, torch::kLong).clone();
}

std::string ThrownMessage(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "(nothing thrown)";
}

TEST(SeqPolicyTest, DefaultSizeIsAFewHundredThousandParameters) {
  SeqPolicy model(DefaultConfig(), 1);
  // Embeddings 19·128 + 32·128, two blocks of 198272, final LayerNorm 256,
  // LM head 19·128 (no bias), value head 129.
  EXPECT_EQ(model->NumParameters(), 405889);
}

TEST(SeqPolicyTest, ConfigValidateNamesTheBadField) {
  SeqPolicyConfig config = DefaultConfig();
  config.d_model = 130;
  EXPECT_THAT(config.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("d_model = 130 is not divisible by num_heads = 4")));
  config = DefaultConfig();
  config.vocab_size = 0;
  EXPECT_THAT(config.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("vocab_size = 0")));
  config = DefaultConfig();
  config.num_layers = 0;
  EXPECT_THAT(ThrownMessage([&] { SeqPolicy model(config, 1); }), HasSubstr("num_layers = 0"));
}

TEST(SeqPolicyTest, InitializationIsSeeded) {
  SeqPolicy a(DefaultConfig(), 5);
  SeqPolicy b(DefaultConfig(), 5);
  SeqPolicy c(DefaultConfig(), 6);
  const auto pa = a->named_parameters();
  const auto pb = b->named_parameters();
  const auto pc = c->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  bool any_differs = false;
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].key(), pb[i].key());
    EXPECT_TRUE(torch::equal(pa[i].value(), pb[i].value())) << pa[i].key();
    any_differs = any_differs || !torch::equal(pa[i].value(), pc[i].value());
  }
  EXPECT_TRUE(any_differs);
  EXPECT_EQ(pa.front().key(), "token_embedding.weight");
  EXPECT_EQ(pa.back().key(), "value_head.bias");
}

TEST(SeqPolicyTest, OutputsHaveTheirShapesAndAreCausal) {
  SeqPolicy model(DefaultConfig(), 2);
  const torch::Tensor tokens = RandomTokens(3, 10, 19, 1);
  const SeqPolicyOutput out = model->forward(tokens);
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{3, 10, 19}));
  EXPECT_EQ(out.values.sizes(), (std::vector<int64_t>{3, 10}));
  EXPECT_TRUE(torch::isfinite(out.logits).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(out.values).all().item<bool>());

  // Changing the token at position 6 leaves positions 0-5 bit for bit alone.
  torch::Tensor changed = tokens.clone();
  changed.index_put_({torch::indexing::Slice(), 6}, (tokens.select(1, 6) + 1) % 19);
  const SeqPolicyOutput out2 = model->forward(changed);
  using torch::indexing::Slice;
  EXPECT_TRUE(torch::equal(out.logits.index({Slice(), Slice(0, 6)}),
                           out2.logits.index({Slice(), Slice(0, 6)})));
  EXPECT_TRUE(torch::equal(out.values.index({Slice(), Slice(0, 6)}),
                           out2.values.index({Slice(), Slice(0, 6)})));
  EXPECT_FALSE(torch::allclose(out.logits.index({Slice(), 6}), out2.logits.index({Slice(), 6})));
}

TEST(SeqPolicyTest, KvCacheEqualsFullRecomputation) {
  SeqPolicy model(DefaultConfig(), 3);
  torch::NoGradGuard no_grad;
  const int64_t length = model->config().max_seq_len;
  const torch::Tensor tokens = RandomTokens(3, length, 19, 2);
  const SeqPolicyOutput full = model->forward(tokens);

  // Prefill 5, then single tokens and chunks of 3 (a chunk after a prefix
  // exercises the shifted causal mask), up to max_seq_len.
  KvCache cache = model->NewCache(3);
  std::vector<torch::Tensor> logits;
  std::vector<torch::Tensor> values;
  const std::vector<int64_t> steps = {5, 1, 1, 3, 1, 4, 1, 1, 2, 1, 1, 3, 1, 1, 1, 1, 1, 3};
  int64_t at = 0;
  for (int64_t n : steps) {
    const SeqPolicyOutput part = model->ForwardCached(tokens.narrow(1, at, n), cache);
    logits.push_back(part.logits);
    values.push_back(part.values);
    at += n;
    EXPECT_EQ(cache.length, at);
  }
  ASSERT_EQ(at, length);
  const double logit_diff = (torch::cat(logits, 1) - full.logits).abs().max().item<double>();
  const double value_diff = (torch::cat(values, 1) - full.values).abs().max().item<double>();
  EXPECT_LE(logit_diff, 1e-5);
  EXPECT_LE(value_diff, 1e-5);
  // The logits are not trivially equal: they vary by position.
  EXPECT_GT(full.logits.std().item<double>(), 1e-3);
}

TEST(SeqPolicyTest, BadInputsThrowNamingTheLimit) {
  SeqPolicy model(DefaultConfig(), 4);
  torch::NoGradGuard no_grad;
  EXPECT_THAT(ThrownMessage([&] { model->forward(RandomTokens(1, 33, 19, 1)); }),
              HasSubstr("33 positions exceed max_seq_len 32"));
  EXPECT_THAT(ThrownMessage([&] {
                model->forward(torch::full({1, 4}, 19, torch::kLong));
              }),
              HasSubstr("outside the vocabulary [0, 19)"));
  KvCache cache = model->NewCache(2);
  EXPECT_THAT(ThrownMessage([&] { model->ForwardCached(RandomTokens(1, 4, 19, 1), cache); }),
              HasSubstr("a cache for 2 sequences given 1"));
  model->ForwardCached(RandomTokens(2, 30, 19, 1), cache);
  EXPECT_THAT(ThrownMessage([&] { model->ForwardCached(RandomTokens(2, 3, 19, 1), cache); }),
              HasSubstr("33 positions exceed max_seq_len 32"));
}

std::vector<int> AdditionPrompt() { return CharTokenizer().EncodePrompt("12+345=").value(); }

TEST(GenerationTest, SameSeedSameCompletionsWithOrWithoutTheCache) {
  SeqPolicy model(DefaultConfig(), 5);
  SamplingOptions options;
  options.max_new_tokens = 10;
  options.stop_token = -1;
  Rng r1(9);
  Rng r2(9);
  Rng r3(10);
  const Completions a = Generate(*model, AdditionPrompt(), 8, options, r1).value();
  const Completions b = Generate(*model, AdditionPrompt(), 8, options, r2).value();
  const Completions c = Generate(*model, AdditionPrompt(), 8, options, r3).value();
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.logprobs, b.logprobs);
  EXPECT_NE(a.tokens, c.tokens);
  ASSERT_EQ(a.tokens.size(), 8u);
  for (const auto& row : a.tokens) EXPECT_EQ(row.size(), 10u);

  options.use_cache = false;
  Rng r4(9);
  const Completions d = Generate(*model, AdditionPrompt(), 8, options, r4).value();
  EXPECT_EQ(a.tokens, d.tokens);
  for (size_t g = 0; g < a.logprobs.size(); ++g) {
    for (size_t t = 0; t < a.logprobs[g].size(); ++t) {
      EXPECT_NEAR(a.logprobs[g][t], d.logprobs[g][t], 1e-5) << g << "," << t;
    }
  }
}

TEST(GenerationTest, RecordedLogProbsAreTheTemperedModelsAtEachToken) {
  SeqPolicy model(DefaultConfig(), 6);
  SamplingOptions options;
  options.temperature = 0.7;
  options.max_new_tokens = 12;
  Rng rng(4);
  const std::vector<int> prompt = AdditionPrompt();
  const Completions out = Generate(*model, prompt, 6, options, rng).value();
  torch::NoGradGuard no_grad;
  for (size_t g = 0; g < out.tokens.size(); ++g) {
    std::vector<int64_t> seq(prompt.begin(), prompt.end());
    seq.insert(seq.end(), out.tokens[g].begin(), out.tokens[g].end());
    const torch::Tensor ids =
        torch::from_blob(seq.data(), {1, static_cast<int64_t>(seq.size())}, torch::kLong).clone();
    const torch::Tensor logp = torch::log_softmax(model->forward(ids).logits[0] / 0.7, -1);
    for (size_t t = 0; t < out.tokens[g].size(); ++t) {
      const int64_t pos = static_cast<int64_t>(prompt.size() + t) - 1;
      EXPECT_NEAR(out.logprobs[g][t], logp[pos][out.tokens[g][t]].item<float>(), 1e-5)
          << "sample " << g << " token " << t;
    }
  }
}

TEST(GenerationTest, TheStopTokenEndsASequenceAndIsRecorded) {
  SeqPolicy model(DefaultConfig(), 7);
  SamplingOptions options;
  options.max_new_tokens = 12;
  options.stop_token = 8;  // '5': near-uniform logits make it likely but not certain
  Rng rng(1);
  const Completions out = Generate(*model, AdditionPrompt(), 16, options, rng).value();
  int stopped = 0;
  for (size_t g = 0; g < out.tokens.size(); ++g) {
    const std::vector<int>& row = out.tokens[g];
    ASSERT_FALSE(row.empty());
    ASSERT_EQ(out.logprobs[g].size(), row.size());
    EXPECT_EQ(std::count(row.begin(), row.end(), 8), out.stopped[g] ? 1 : 0);
    EXPECT_EQ(out.stopped[g], row.back() == 8);
    if (!out.stopped[g]) {
      EXPECT_EQ(row.size(), 12u);
    }
    for (float lp : out.logprobs[g]) EXPECT_TRUE(std::isfinite(lp) && lp <= 0.0f);
    stopped += out.stopped[g] ? 1 : 0;
  }
  EXPECT_GT(stopped, 0);
  EXPECT_LT(stopped, 16);
}

TEST(GenerationTest, GreedyDecodingDrawsNothingAndRepeats) {
  SeqPolicy model(DefaultConfig(), 8);
  SamplingOptions options;
  options.temperature = 0.0;
  Rng rng(2);
  const Completions out = Generate(*model, AdditionPrompt(), 3, options, rng).value();
  EXPECT_EQ(out.tokens[0], out.tokens[1]);
  EXPECT_EQ(out.tokens[0], out.tokens[2]);
  Rng fresh(2);
  EXPECT_EQ(rng.NextU64(), fresh.NextU64());
}

TEST(GenerationTest, TopKSamplesOnlyTheKLargestRenormalized) {
  const float logits[4] = {0.0f, 1.0f, 2.0f, 3.0f};
  Rng rng(5);
  int threes = 0;
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) {
    float lp = 0.0f;
    const int id = SampleToken(logits, 4, 1.0, 2, rng, &lp);
    ASSERT_TRUE(id == 2 || id == 3) << id;
    const double expected = id == 3 ? -std::log1p(std::exp(-1.0)) : -std::log1p(std::exp(1.0));
    ASSERT_NEAR(lp, expected, 1e-6);
    threes += id == 3 ? 1 : 0;
  }
  // p(3) = e/(1+e) = 0.7311; 4 standard deviations of 20000 draws is 0.013.
  EXPECT_NEAR(threes / static_cast<double>(draws), 0.7311, 0.013);
}

TEST(GenerationTest, BadOptionsAndPromptsAreNamed) {
  SeqPolicy model(DefaultConfig(), 9);
  Rng rng(1);
  SamplingOptions options;
  options.temperature = -1;
  EXPECT_THAT(Generate(*model, AdditionPrompt(), 2, options, rng),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("temperature = -1")));
  options = SamplingOptions();
  options.top_k = 20;
  EXPECT_THAT(Generate(*model, AdditionPrompt(), 2, options, rng),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("top_k = 20")));
  options = SamplingOptions();
  options.max_new_tokens = 30;
  EXPECT_THAT(
      Generate(*model, AdditionPrompt(), 2, options, rng),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("8 tokens + max_new_tokens 30 exceed the model's max_seq_len 32")));
  options = SamplingOptions();
  EXPECT_THAT(
      Generate(*model, std::vector<int>{1, 40}, 2, options, rng),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("prompt token 40 at position 1")));
  EXPECT_THAT(Generate(*model, AdditionPrompt(), 0, options, rng),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("count = 0")));
}

// EvaluateTaskSampled scores every sampled completion; near temperature 0
// sampling is the argmax, so it reproduces EvaluateTask's greedy figures;
// the same seeds give the same result; bad settings are refused.
TEST(TaskEvalTest, SampledEvaluationCountsEveryCompletion) {
  torch::NoGradGuard no_grad;
  SeqPolicy model(DefaultConfig(), 5);
  model->eval();
  absl::StatusOr<std::unique_ptr<Task>> task = MakeTask("lm/Addition-v0");
  ASSERT_TRUE(task.ok()) << task.status();
  const CharTokenizer tok;
  absl::StatusOr<TaskEvalResult> greedy =
      EvaluateTask(*model, **task, tok, TaskSplit::kHeldOut, 20, 7);
  ASSERT_TRUE(greedy.ok()) << greedy.status();
  EXPECT_EQ(greedy->completions, 20);
  absl::StatusOr<TaskEvalResult> cold =
      EvaluateTaskSampled(*model, **task, tok, TaskSplit::kHeldOut, 20, 7, 1e-6, 3, 9);
  ASSERT_TRUE(cold.ok()) << cold.status();
  EXPECT_EQ(cold->prompts, 20);
  EXPECT_EQ(cold->completions, 60);
  EXPECT_EQ(cold->exact, 3 * greedy->exact);
  EXPECT_NEAR(cold->mean_partial_credit, greedy->mean_partial_credit, 1e-12);
  absl::StatusOr<TaskEvalResult> a =
      EvaluateTaskSampled(*model, **task, tok, TaskSplit::kHeldOut, 20, 7, 1.0, 3, 9);
  absl::StatusOr<TaskEvalResult> b =
      EvaluateTaskSampled(*model, **task, tok, TaskSplit::kHeldOut, 20, 7, 1.0, 3, 9);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->exact, b->exact);
  EXPECT_EQ(a->mean_partial_credit, b->mean_partial_credit);
  // A random model's samples differ from its argmax somewhere.
  EXPECT_NE(a->mean_partial_credit, greedy->mean_partial_credit);
  EXPECT_THAT(EvaluateTaskSampled(*model, **task, tok, TaskSplit::kHeldOut, 20, 7, 1.0, 0, 9),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("samples")));
  EXPECT_THAT(EvaluateTaskSampled(*model, **task, tok, TaskSplit::kHeldOut, 20, 7, 0.0, 2, 9),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("temperature")));
}

}  // namespace
}  // namespace proxima::lm

// learner/lm/dpo_loss.h: DpoLoss against the float64 NumPy references of
// tests/reference/lm/dpo_loss*.json (tests/reference/make_dpo_reference.py,
// gradients in closed form there, by autograd here), its errors, and the
// completion log-prob sum: equal to a per-sequence computation without
// padding, blind to prompt and padding logits, with the closed-form gradient.
#include "learner/lm/dpo_loss.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/lm/char_tokenizer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/lm/lm_reference_cases.h"
#include "tests/lm/tiny_seq_policy.h"
#include "tests/test_util.h"

namespace proxima::learner_lm {
namespace {

using ::proxima::lm_testing::ForEachLmCase;
using nlohmann::json;

at::Tensor Vec(const json& j, at::ScalarType dtype) {
  return at::tensor(j.get<std::vector<double>>(), at::kDouble).to(dtype);
}

double MaxDiff(const at::Tensor& got, const json& want) {
  return (got.detach().to(at::kDouble) - Vec(want, at::kDouble)).abs().max().item<double>();
}

TEST(DpoLossReferenceTest, EveryCaseInFloat64AndFloat32) {
  const int cases = ForEachLmCase("dpo_loss", [](const json& c, const std::string& label) {
    const json& in = c.at("inputs");
    const json& out = c.at("outputs");
    const double beta = in.at("beta").get<double>();
    for (const at::ScalarType dtype : {at::kDouble, at::kFloat}) {
      // Float64 must match the reference to rounding; float32 to its own
      // precision relative to the numbers' size.
      const bool f64 = dtype == at::kDouble;
      const char* keys[] = {"policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected"};
      std::vector<at::Tensor> x;
      for (const char* k : keys) x.push_back(Vec(in.at(k), dtype).requires_grad_(true));
      auto terms = DpoLoss(x[0], x[1], x[2], x[3], beta);
      ASSERT_TRUE(terms.ok()) << label << ": " << terms.status();
      terms->loss.backward();
      const double loss = out.at("loss").get<double>();
      const double tol = f64 ? 1e-10 : 1e-5 * std::max(1.0, std::abs(loss));
      EXPECT_NEAR(terms->loss.item<double>(), loss, tol) << label;
      for (const char* k : {"chosen_reward", "rejected_reward", "reward_margin"}) {
        const at::Tensor got = std::string(k) == "chosen_reward" ? terms->chosen_reward
                               : std::string(k) == "rejected_reward" ? terms->rejected_reward
                                                                      : terms->reward_margin;
        const double want = out.at(k).get<double>();
        EXPECT_NEAR(got.item<double>(), want, f64 ? 1e-10 : 1e-5 * std::max(1.0, std::abs(want)))
            << label << " " << k;
      }
      EXPECT_NEAR(terms->accuracy.item<double>(), out.at("accuracy").get<double>(),
                  f64 ? 1e-15 : 1e-7)
          << label;
      for (size_t i = 0; i < 4; ++i) {
        EXPECT_LE(MaxDiff(x[i].grad(), out.at(std::string("grad_") + keys[i])),
                  f64 ? 1e-12 : 1e-6)
            << label << " d loss / d " << keys[i];
      }
      EXPECT_FALSE(terms->accuracy.requires_grad());
      EXPECT_FALSE(terms->reward_margin.requires_grad());
    }
  });
  EXPECT_GE(cases, 4) << "no dpo_loss*.json";
}

TEST(DpoLossTest, RefusesBadInputsByName) {
  const at::Tensor a = at::full({3}, -2.0, at::kDouble);
  const at::Tensor four = at::full({4}, -2.0, at::kDouble);
  auto msg = [](const absl::StatusOr<DpoTerms>& t) {
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(t.status().message());
  };
  EXPECT_NE(msg(DpoLoss(a, a, a, four, 0.1)).find("ref_rejected"), std::string::npos);
  EXPECT_NE(msg(DpoLoss(a, a.view({3, 1}), a, a, 0.1)).find("policy_rejected"), std::string::npos);
  EXPECT_NE(msg(DpoLoss(at::zeros({0}, at::kDouble), at::zeros({0}, at::kDouble),
                        at::zeros({0}, at::kDouble), at::zeros({0}, at::kDouble), 0.1))
                .find("non-empty"),
            std::string::npos);
  at::Tensor nan = a.clone();
  nan[1] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(msg(DpoLoss(a, a, nan, a, 0.1)).find("ref_chosen holds a non-finite"),
            std::string::npos);
  at::Tensor inf = a.clone();
  inf[0] = -std::numeric_limits<double>::infinity();
  EXPECT_NE(msg(DpoLoss(inf, a, a, a, 0.1)).find("policy_chosen"), std::string::npos);
  EXPECT_NE(msg(DpoLoss(a, a, a, a, 0.0)).find("beta = 0"), std::string::npos);
  EXPECT_NE(msg(DpoLoss(a, a, a, a, std::nan(""))).find("beta"), std::string::npos);
  EXPECT_NE(msg(DpoLoss(a, a, a, at::full({3}, 1, at::kLong), 0.1)).find("ref_rejected"),
            std::string::npos);
}

lm::SeqPolicyConfig TinyConfig() { return lm_testing::TinySeqPolicyConfig(16, 12); }

// Three rows of different prompt and completion lengths.
std::vector<TokenizedCompletion> Rows() {
  const int eos = lm::Tokenizer::kEos, bos = lm::Tokenizer::kBos;
  return {{{bos, 4, 5, 15}, {6, 7, eos}},
          {{bos, 8, 15}, {9, eos}},
          {{bos, 4, 4, 4, 4, 15}, {3, 3, 3, 3, eos}}};
}

TEST(CompletionLogProbsTest, EqualsEachSequenceScoredAloneWithoutPadding) {
  lm::SeqPolicy model(TinyConfig(), 7);
  const std::vector<TokenizedCompletion> rows = Rows();
  auto batch = MakeCompletionBatch(rows, TinyConfig().max_seq_len);
  ASSERT_TRUE(batch.ok()) << batch.status();
  const at::Tensor got = CompletionLogProbs(*model, *batch);
  ASSERT_EQ(got.sizes(), (at::IntArrayRef{3}));
  // The same as the learner's per-token log-probs at temperature 1, summed.
  const TokenOutputs tokens = TokenLogProbs(*model, *batch);
  EXPECT_LE((got - (tokens.logp * batch->mask).sum(1)).abs().max().item<double>(), 1e-5);
  for (size_t b = 0; b < rows.size(); ++b) {
    std::vector<int64_t> ids(rows[b].prompt.begin(), rows[b].prompt.end());
    ids.insert(ids.end(), rows[b].completion.begin(), rows[b].completion.end() - 1);
    const at::Tensor lsm = at::log_softmax(
        model->forward(at::tensor(ids, at::kLong).unsqueeze(0)).logits[0], -1);
    double want = 0;
    const size_t p = rows[b].prompt.size();
    for (size_t j = 0; j < rows[b].completion.size(); ++j) {
      want += lsm[static_cast<int64_t>(p + j - 1)][rows[b].completion[j]].item<double>();
    }
    EXPECT_NEAR(got[static_cast<int64_t>(b)].item<double>(), want, 1e-5) << "row " << b;
    EXPECT_LT(want, 0);
  }
}

TEST(CompletionLogProbsTest, OnlyCompletionLogitsMatterAndTheGradientIsOneHotMinusSoftmax) {
  const std::vector<TokenizedCompletion> rows = Rows();
  auto batch = MakeCompletionBatch(rows, TinyConfig().max_seq_len);
  ASSERT_TRUE(batch.ok()) << batch.status();
  const int64_t B = batch->rows(), L = batch->inputs.size(1), V = TinyConfig().vocab_size;
  at::manual_seed(3);
  const at::Tensor logits = (3 * at::randn({B, L, V}, at::kDouble)).requires_grad_(true);
  const at::Tensor out = CompletionLogProbsFromLogits(logits, *batch);
  out.sum().backward();
  const at::Tensor grad = logits.grad();
  const at::Tensor softmax = at::softmax(logits.detach(), -1);
  at::Tensor scored = at::zeros({B, L}, at::kBool);  // positions predicting a completion token
  for (int64_t b = 0; b < B; ++b) {
    const int64_t p = static_cast<int64_t>(rows[b].prompt.size());
    for (size_t j = 0; j < rows[b].completion.size(); ++j) {
      const int64_t pos = p + static_cast<int64_t>(j) - 1;
      scored[b][pos] = true;
      at::Tensor want = -softmax[b][pos];
      want[rows[b].completion[j]] += 1;
      EXPECT_LE((grad[b][pos] - want).abs().max().item<double>(), 1e-12)
          << "row " << b << " completion token " << j;
    }
  }
  // Prompt-token and padding logits: exactly zero gradient, and changing
  // them changes nothing, bit for bit.
  const at::Tensor unscored = scored.logical_not().unsqueeze(-1).expand({B, L, V});
  EXPECT_EQ(grad.masked_select(unscored).abs().max().item<double>(), 0.0);
  const at::Tensor moved =
      logits.detach() + at::where(unscored, 50 * at::randn({B, L, V}, at::kDouble),
                                  at::zeros({}, at::kDouble));
  EXPECT_TRUE(at::equal(CompletionLogProbsFromLogits(moved, *batch), out.detach()));
  // A completion logit does move it.
  const at::Tensor nudged = logits.detach().clone();
  nudged[0][static_cast<int64_t>(rows[0].prompt.size())][0] += 1.0;
  EXPECT_NE(CompletionLogProbsFromLogits(nudged, *batch)[0].item<double>(), out[0].item<double>());
}

TEST(CompletionLogProbsTest, BatchRefusesEmptyAndOverlongRows) {
  const int max_len = TinyConfig().max_seq_len;
  std::vector<TokenizedCompletion> rows = Rows();
  rows[1].completion.clear();
  EXPECT_EQ(MakeCompletionBatch(rows, max_len).status().code(),
            absl::StatusCode::kInvalidArgument);
  rows = Rows();
  rows[2].completion.assign(static_cast<size_t>(max_len), 3);
  auto too_long = MakeCompletionBatch(rows, max_len);
  EXPECT_EQ(too_long.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(too_long.status().message()).find("max_seq_len"), std::string::npos);
}

}  // namespace
}  // namespace proxima::learner_lm

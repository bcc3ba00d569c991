// learner/lm/seq_loss.h against the float64 NumPy references of
// tests/reference/lm/ (tests/reference/make_lm_reference.py; every file of
// each prefix there and under $PROXIMA_GOLDEN_DIR/lm, when that exists), with
// gradients through autograd; plus the degenerate groups, the controller and
// the errors.
#include "learner/lm/seq_loss.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "common/file_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/lm/lm_reference_cases.h"
#include "tests/test_util.h"

namespace proxima::learner_lm {
namespace {

using ::proxima::lm_testing::ForEachLmCase;
using nlohmann::json;

at::Tensor Vec(const json& j) {
  return at::tensor(j.get<std::vector<double>>(), at::kDouble);
}
at::Tensor Mat(const json& in, const char* key) {
  return Vec(in.at(key)).reshape({in.at("rows").get<int64_t>(), in.at("cols").get<int64_t>()});
}

void ExpectClose(const at::Tensor& got, const json& want, double tol, const std::string& what) {
  const at::Tensor w = Vec(want).reshape(got.sizes());
  const double diff = (got.detach().to(at::kDouble) - w).abs().max().item<double>();
  EXPECT_LE(diff, tol) << what;
}
void ExpectScalar(const at::Tensor& got, const json& want, double tol, const std::string& what) {
  EXPECT_NEAR(got.item<double>(), want.get<double>(), tol) << what;
}
// Each named scalar against the reference output of that name, to 1e-12.
void ExpectScalars(const json& out, const std::string& label,
                   std::initializer_list<std::pair<const char*, at::Tensor>> got) {
  for (const auto& [key, value] : got) ExpectScalar(value, out.at(key), 1e-12, label + " " + key);
}

TEST(SeqLossReferenceTest, EveryGrpoCase) {
  const int n = ForEachLmCase("grpo_loss", [](const json& c, const std::string& label) {
    const json& in = c.at("inputs");
    const json& out = c.at("outputs");
    auto groups = at::tensor(in.at("group_ids").get<std::vector<int64_t>>(), at::kLong);
    auto adv = GroupRelativeAdvantages(Vec(in.at("rewards")), groups,
                                       in.at("scale_by_std").get<bool>(), in.at("eps").get<double>());
    ASSERT_TRUE(adv.ok()) << label << ": " << adv.status();
    ExpectClose(adv->advantages, out.at("advantages"), 1e-12, label + " advantages");
    EXPECT_EQ(adv->num_groups, out.at("num_groups").get<int64_t>()) << label;
    EXPECT_EQ(adv->degenerate_groups, out.at("degenerate_groups").get<int64_t>()) << label;

    GrpoOptions o;
    o.clip_eps_low = in.at("clip_eps_low").get<double>();
    o.clip_eps_high = in.at("clip_eps_high").get<double>();
    o.kl_beta = in.at("kl_beta").get<double>();
    o.aggregation = *ParseLossAggregation(in.at("aggregation").get<std::string>());
    at::Tensor logp = Mat(in, "logp").requires_grad_(true);
    auto terms = GrpoLoss(logp, Mat(in, "behaviour_logp"), Mat(in, "ref_logp"), Mat(in, "mask"),
                          adv->advantages, o);
    ASSERT_TRUE(terms.ok()) << label << ": " << terms.status();
    ExpectScalars(out, label,
                  {{"total", terms->total}, {"policy_loss", terms->policy_loss},
                   {"kl", terms->kl}, {"clip_fraction", terms->clip_fraction},
                   {"approx_kl", terms->approx_kl}});
    terms->total.backward();
    ExpectClose(logp.grad(), out.at("grad_logp"), 1e-12, label + " grad_logp");

    // The trainer runs in float32: the same case within float rounding.
    at::Tensor logp32 = Mat(in, "logp").to(at::kFloat).requires_grad_(true);
    auto t32 = GrpoLoss(logp32, Mat(in, "behaviour_logp").to(at::kFloat),
                        Mat(in, "ref_logp").to(at::kFloat), Mat(in, "mask").to(at::kFloat),
                        adv->advantages.to(at::kFloat), o);
    ASSERT_TRUE(t32.ok()) << label;
    ExpectScalar(t32->total, out.at("total"), 1e-5, label + " float32 total");
  });
  EXPECT_GE(n, 4);
}

TEST(SeqLossReferenceTest, EverySequencePpoCase) {
  const int n = ForEachLmCase("seq_ppo", [](const json& c, const std::string& label) {
    const json& in = c.at("inputs");
    const json& out = c.at("outputs");
    const at::Tensor mask = Mat(in, "mask");
    auto rewards = KlShapedRewards(Mat(in, "prepass_logp"), Mat(in, "ref_logp"), mask,
                                   Vec(in.at("task_rewards")), in.at("kl_beta").get<double>());
    ASSERT_TRUE(rewards.ok()) << label << ": " << rewards.status();
    ExpectClose(*rewards, out.at("rewards"), 1e-12, label + " rewards");
    const at::Tensor old_values = Mat(in, "old_values");
    auto targets = TokenGae(*rewards, old_values, mask, in.at("gamma").get<double>(),
                            in.at("lam").get<double>());
    ASSERT_TRUE(targets.ok()) << label << ": " << targets.status();
    ExpectClose(targets->advantages, out.at("advantages"), 1e-12, label + " advantages");
    ExpectClose(targets->returns, out.at("returns"), 1e-12, label + " returns");

    SeqPpoOptions o;
    o.clip_eps = in.at("clip_eps").get<double>();
    o.clip_value_loss = in.at("clip_value_loss").get<bool>();
    o.value_clip_eps = in.at("value_clip_eps").get<double>();
    o.vf_coef = in.at("vf_coef").get<double>();
    o.normalize_advantages = in.at("normalize_advantages").get<bool>();
    at::Tensor logp = Mat(in, "logp").requires_grad_(true);
    at::Tensor new_values = Mat(in, "new_values").requires_grad_(true);
    auto terms = SeqPpoLoss(logp, Mat(in, "behaviour_logp"), mask, targets->advantages,
                            new_values, old_values, targets->returns, o);
    ASSERT_TRUE(terms.ok()) << label << ": " << terms.status();
    ExpectScalars(out, label,
                  {{"total", terms->total}, {"policy_loss", terms->policy_loss},
                   {"value_loss", terms->value_loss}, {"clip_fraction", terms->clip_fraction},
                   {"approx_kl", terms->approx_kl}});
    terms->total.backward();
    ExpectClose(logp.grad(), out.at("grad_logp"), 1e-12, label + " grad_logp");
    ExpectClose(new_values.grad(), out.at("grad_new_values"), 1e-12, label + " grad_new_values");
  });
  EXPECT_GE(n, 4);
}

TEST(GroupAdvantagesTest, DegenerateGroupsGetZeroAndCountedWithoutNan) {
  // Group 7: all equal (every completion right). Group 8: one member. Group 9:
  // all wrong. Group 3: a real spread.
  const at::Tensor rewards = at::tensor({1.0, 1.0, 0.5, 0.0, 0.0, 1.0, 1.0, 0.0}, at::kDouble);
  const at::Tensor groups = at::tensor({7, 7, 8, 9, 9, 3, 7, 3}, at::kLong);
  auto adv = GroupRelativeAdvantages(rewards, groups);
  ASSERT_TRUE(adv.ok()) << adv.status();
  EXPECT_EQ(adv->num_groups, 4);
  EXPECT_EQ(adv->degenerate_groups, 3);
  const auto a = adv->advantages;
  EXPECT_FALSE(a.isnan().any().item<bool>());
  for (int i : {0, 1, 2, 3, 4, 6}) EXPECT_EQ(a[i].item<double>(), 0.0) << i;
  // Group 3 = {1, 0}: mean 0.5, unbiased std √0.5.
  EXPECT_NEAR(a[5].item<double>(), 0.5 / (std::sqrt(0.5) + 1e-4), 1e-12);
  EXPECT_NEAR(a[7].item<double>(), -0.5 / (std::sqrt(0.5) + 1e-4), 1e-12);

  // An all-degenerate batch: the loss is the KL term alone, finite.
  const at::Tensor logp = at::full({8, 3}, -1.0, at::kDouble).requires_grad_(true);
  auto terms = GrpoLoss(logp, logp.detach(), at::full({8, 3}, -1.2, at::kDouble),
                        at::ones({8, 3}, at::kDouble), at::zeros({8}, at::kDouble), {});
  ASSERT_TRUE(terms.ok()) << terms.status();
  EXPECT_EQ(terms->policy_loss.item<double>(), 0.0);
  EXPECT_NEAR(terms->total.item<double>(), 0.04 * (std::exp(-0.2) + 0.2 - 1), 1e-12);
}

TEST(GrpoLossTest, RatioIsOneWhenPolicyIsBehaviour) {
  const at::Tensor logp = at::log_softmax(at::randn({4, 6, 5}, at::kDouble), -1)
                              .select(2, 0)
                              .requires_grad_(true);
  const at::Tensor mask = at::ones({4, 6}, at::kDouble);
  GrpoOptions o;
  o.kl_beta = 0;
  auto terms =
      GrpoLoss(logp, logp.detach(), logp.detach(), mask, at::tensor({1.0, -1.0, 0.5, 0.0}), o);
  ASSERT_TRUE(terms.ok());
  EXPECT_EQ(terms->clip_fraction.item<double>(), 0.0);
  EXPECT_NEAR(terms->approx_kl.item<double>(), 0.0, 1e-15);
  EXPECT_NEAR(terms->kl.item<double>(), 0.0, 1e-15);
  // ratio 1: the loss is −mean(A) over tokens = −(1 − 1 + 0.5 + 0)·6/24.
  EXPECT_NEAR(terms->total.item<double>(), -0.125, 1e-12);
}

TEST(SeqLossTest, BadInputsNameWhatIsWrong) {
  const at::Tensor x = at::zeros({2, 3}, at::kDouble);
  const at::Tensor ones = at::ones({2, 3}, at::kDouble);
  auto bad_shape = GrpoLoss(x, at::zeros({2, 4}, at::kDouble), x, ones, at::zeros({2}), {});
  ASSERT_FALSE(bad_shape.ok());
  EXPECT_NE(bad_shape.status().ToString().find("behaviour_logp"), std::string::npos)
      << bad_shape.status();
  const at::Tensor holes = at::tensor({1.0, 0.0, 1.0, 1.0, 1.0, 1.0}, at::kDouble).reshape({2, 3});
  auto not_prefix = TokenGae(x, x, holes, 1.0, 0.95);
  ASSERT_FALSE(not_prefix.ok());
  EXPECT_NE(not_prefix.status().ToString().find("prefix"), std::string::npos);
  auto empty = KlShapedRewards(x, x, at::zeros({2, 3}, at::kDouble), at::zeros({2}), 0.1);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().ToString().find("no real token"), std::string::npos);
  auto nan_reward = GroupRelativeAdvantages(at::tensor({1.0, NAN}, at::kDouble),
                                            at::tensor({0, 0}, at::kLong));
  ASSERT_FALSE(nan_reward.ok());
  EXPECT_NE(nan_reward.status().ToString().find("reward 1"), std::string::npos);
  EXPECT_FALSE(ParseLossAggregation("mean").ok());
  EXPECT_FALSE(TokenGae(x, x, ones, 1.5, 0.9).ok());
  SeqPpoOptions o;
  o.clip_eps = 0;
  EXPECT_FALSE(SeqPpoLoss(x, x, ones, x, x, x, x, o).ok());
}

TEST(AdaptKlCoefficientTest, ProportionalAndClipped) {
  // Inside the band: proportional to the relative error, scaled by n/horizon.
  EXPECT_NEAR(AdaptKlCoefficient(0.1, 6.6, 6.0, 256, 10000), 0.1 * (1 + 0.1 * 256 / 1e4), 1e-15);
  EXPECT_NEAR(AdaptKlCoefficient(0.1, 5.4, 6.0, 256, 10000), 0.1 * (1 - 0.1 * 256 / 1e4), 1e-15);
  // Far above or below target: the error is clipped to ±0.2.
  EXPECT_NEAR(AdaptKlCoefficient(0.1, 60, 6.0, 1000, 1000), 0.12, 1e-15);
  EXPECT_NEAR(AdaptKlCoefficient(0.1, 0, 6.0, 1000, 1000), 0.08, 1e-15);
}

}  // namespace
}  // namespace proxima::learner_lm

// The supervised warm start (learner/lm/sft.h) and `proxima lm`
// (learner/lm/lm_command.h), on models small enough to train in a second.
#include "learner/lm/sft.h"

#include <ATen/ATen.h>

#include <sstream>
#include <string>
#include <vector>

#include "common/lm/task_registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/lm/lm_command.h"
#include "tests/lm/tiny_seq_policy.h"
#include "tests/test_util.h"

namespace proxima::lm {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::HasSubstr;

std::vector<int64_t> Row(const at::Tensor& t, int64_t row) {
  const at::Tensor r = t[row].to(at::kLong).contiguous();
  return std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
}

TEST(SftBatchTest, TargetsAreTheAnswerAndEosAfterThePrompt) {
  const CharTokenizer tok;
  const SftBatch batch = MakeSftBatch({{"1+2=", "3"}, {"12+345=", "357"}}, tok).value();
  // The longer sequence: <bos> 12+345= 357 <eos> is 12 tokens, so 11 steps.
  ASSERT_EQ(batch.inputs.sizes(), (std::vector<int64_t>{2, 11}));
  ASSERT_EQ(batch.targets.sizes(), batch.inputs.sizes());
  ASSERT_EQ(batch.mask.sizes(), batch.inputs.sizes());
  const int one = 4, plus = 13, two = 5, eq = 16, three = 6;
  EXPECT_EQ(Row(batch.inputs, 0),
            (std::vector<int64_t>{CharTokenizer::kBos, one, plus, two, eq, three, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Row(batch.targets, 0),
            (std::vector<int64_t>{one, plus, two, eq, three, CharTokenizer::kEos, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Row(batch.mask, 0), (std::vector<int64_t>{0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Row(batch.mask, 1), (std::vector<int64_t>{0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1}));
  EXPECT_EQ(Row(batch.targets, 1).back(), CharTokenizer::kEos);

  EXPECT_THAT(MakeSftBatch({{"1+2=", "x"}}, tok),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'x'")));
  EXPECT_THAT(MakeSftBatch({}, tok),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no examples")));
}

TEST(SftOptionsTest, ValidateNamesTheBadField) {
  SftOptions o;
  o.learning_rate = 0;
  EXPECT_THAT(o.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("learning_rate = 0")));
  o = SftOptions();
  o.warmup_steps = o.steps + 1;
  EXPECT_THAT(o.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("warmup_steps")));
}

SeqPolicyConfig TinyConfig() { return lm_testing::TinySeqPolicyConfig(32); }

// A short seeded run on the reverse task: the loss on the answer tokens falls
// well below its start (ln 19 ≈ 2.94 for a fresh model) and below what
// predicting digits blindly gives (ln 10 ≈ 2.3), the evaluation counts its
// prompts, and a second run with the same seeds is identical.
TEST(SftTest, ShortRunLowersTheLossAndIsReproducible) {
  const CharTokenizer tok;
  const std::unique_ptr<Task> task = MakeTask("lm/Reverse-v0").value();
  SftOptions o;
  o.steps = 150;
  o.batch_size = 32;
  o.learning_rate = 3e-3;
  o.warmup_steps = 10;
  o.eval_every = 0;
  o.eval_prompts = 50;
  o.seed = 3;
  std::vector<SftProgress> seen;
  SeqPolicy model(TinyConfig(), 1);
  const SftResult r =
      RunSft(*model, *task, tok, o, [&](const SftProgress& p) { seen.push_back(p); }).value();
  EXPECT_EQ(r.steps, 150);
  EXPECT_EQ(r.held_out.prompts, 50);
  EXPECT_GE(r.held_out.accuracy, 0.0);
  EXPECT_LE(r.held_out.accuracy, 1.0);
  ASSERT_EQ(seen.size(), 2u);  // step 100, and the last step with its evaluation
  EXPECT_EQ(seen[0].step, 100);
  EXPECT_FALSE(seen[0].held_out.has_value());
  ASSERT_TRUE(seen[1].held_out.has_value());
  // 0.89 when written (2 threads); a model that learned nothing stays near
  // ln 10 ≈ 2.3 on the digits.
  EXPECT_LT(r.final_loss, 1.5) << "the answer tokens' loss did not fall from ~2.9";

  SeqPolicy again(TinyConfig(), 1);
  const SftResult r2 = RunSft(*again, *task, tok, o, nullptr).value();
  EXPECT_EQ(r2.final_loss, r.final_loss);
  EXPECT_EQ(r2.held_out.exact, r.held_out.exact);
}

TEST(SftTest, RefusesAModelTooShortForTheTask) {
  const CharTokenizer tok;
  const std::unique_ptr<Task> task = MakeTask("lm/Addition-v0").value();
  SeqPolicyConfig c = TinyConfig();
  c.max_seq_len = 10;
  SeqPolicy model(c, 1);
  EXPECT_THAT(RunSft(*model, *task, tok, SftOptions(), nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("up to 14 tokens, more than the model's max_seq_len 10")));
}

int RunLm(std::vector<std::string> args, std::string* out, std::string* err) {
  args.insert(args.begin(), "lm");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  std::ostringstream o;
  std::ostringstream e;
  const int rc = proxima::RunLmCommand(static_cast<int>(argv.size()), argv.data(), o, e);
  *out = o.str();
  *err = e.str();
  return rc;
}

TEST(LmCommandTest, SftRunsAndBadCommandLinesExit2) {
  std::string out, err;
  EXPECT_EQ(RunLm({"sft", "--task=lm/Sort-v0", "--steps", "20", "--warmup=2", "--eval-prompts",
                   "10", "--layers=1", "--width=32", "--heads=2", "--batch-size=8"},
                  &out, &err),
            0)
      << err;
  EXPECT_THAT(out, HasSubstr("proxima lm sft: lm/Sort-v0"));
  EXPECT_THAT(out, HasSubstr("done: 20 steps"));
  EXPECT_THAT(out, HasSubstr("held-out exact match"));

  EXPECT_EQ(RunLm({"sft", "--step=5"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("unknown flag --step; did you mean --steps?"));
  EXPECT_EQ(RunLm({"sft", "--steps=five"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("--steps=five is not a valid number"));
  EXPECT_EQ(RunLm({"sft", "--task=lm/Add-v0"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("unknown task id"));
  EXPECT_EQ(RunLm({"sft", "--width=30", "--heads=4"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("not divisible by num_heads"));
  EXPECT_EQ(RunLm({"sfd"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("did you mean \"sft\""));
  EXPECT_EQ(RunLm({"tasks"}, &out, &err), 0);
  EXPECT_THAT(out, HasSubstr("lm/Addition-v0"));
  EXPECT_THAT(out, HasSubstr("lm/Reverse-v0"));
}

}  // namespace
}  // namespace proxima::lm

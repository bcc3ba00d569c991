// `proxima lm rl` (learner/lm/rl_command.h) through RunLmCommand on a tiny
// model: a run from an SFT checkpoint writes its metrics and checkpoint; bad
// command lines exit 2 naming what was wrong.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/lm/lm_command.h"
#include "learner/lm/seq_checkpoint.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::testing::HasSubstr;

int RunLm(std::vector<std::string> args, std::string* out, std::string* err) {
  args.insert(args.begin(), "lm");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  std::ostringstream o, e;
  const int rc = RunLmCommand(static_cast<int>(argv.size()), argv.data(), o, e);
  *out = o.str();
  *err = e.str();
  return rc;
}

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

}  // namespace
}  // namespace proxima

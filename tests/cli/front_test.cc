// `proxima` loads no LibTorch and hands train/eval/export/bench to
// `proxima-torch` (learner/cli/proxima_main.cc): what the user sees is
// the same either way — usage, per-command help, error prefixes, exit
// status — and a `proxima` without its `proxima-torch` says so.
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::CommandResult;
using ::proxima::testing::RunCommand;

TEST(FrontTest, ProximaNeedsNoLibTorchButProximaTorchDoes) {
  const CommandResult front = RunCommand("ldd " + BinPath("proxima"));
  ASSERT_EQ(front.exit_code, 0) << front.output;
  EXPECT_NE(front.output.find("libgrpc++"), std::string::npos) << front.output;
  EXPECT_EQ(front.output.find("libtorch"), std::string::npos) << front.output;
  EXPECT_EQ(front.output.find("libc10"), std::string::npos) << front.output;
  const CommandResult torch = RunCommand("ldd " + BinPath("proxima-torch"));
  ASSERT_EQ(torch.exit_code, 0) << torch.output;
  EXPECT_NE(torch.output.find("libtorch"), std::string::npos) << torch.output;
}

TEST(FrontTest, UsageAndHelpOfEveryKindOfCommand) {
  CommandResult r = RunCommand(BinPath("proxima") + " --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("usage: proxima <command> [flags]"), std::string::npos) << r.output;
  r = RunCommand(BinPath("proxima"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("usage: proxima <command> [flags]"), std::string::npos) << r.output;
  // Served here.
  r = RunCommand(BinPath("proxima") + " status --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("usage: proxima status [flags]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--learner"), std::string::npos) << r.output;
  // Handed to proxima-torch, with --env's preset in train's help.
  r = RunCommand(BinPath("proxima") + " train --env Acrobot-v1 --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("usage: proxima train"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Acrobot-v1"), std::string::npos) << r.output;
  r = RunCommand(BinPath("proxima") + " export --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("usage: proxima export"), std::string::npos) << r.output;
  // `lm` (its own flags) too.
  r = RunCommand(BinPath("proxima") + " lm tasks");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("lm/Addition-v0"), std::string::npos) << r.output;
  r = RunCommand(BinPath("proxima") + " lm sft --stesp 5");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--steps"), std::string::npos) << r.output;
}

TEST(FrontTest, ErrorsNameTheCommandOnBothSides) {
  // A usage error of a command proxima-torch runs: its name and status 2.
  CommandResult r = RunCommand(BinPath("proxima") + " train --env CartPole-v0 --print-config");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("proxima train:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("CartPole-v1"), std::string::npos) << r.output;  // did you mean
  // One that `proxima` runs itself.
  r = RunCommand(BinPath("proxima") + " status");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("proxima status:"), std::string::npos) << r.output;
  r = RunCommand(BinPath("proxima") + " trian");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("unknown command 'trian'"), std::string::npos) << r.output;
}

TEST(FrontTest, AProximaWithoutItsProximaTorchSaysSo) {
  const std::string dir = MakeTempDir("front_test");
  const std::string copy = dir + "/proxima";
  std::filesystem::copy_file(BinPath("proxima"), copy);
  for (const std::string& args : {" eval --checkpoint " + dir + "/none",
                                  " train --in-process --run-dir " + dir + "/run"}) {
    const CommandResult r = RunCommand(copy + args);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(dir + "/proxima-torch"), std::string::npos) << r.output;
  }
  // The commands it runs itself still work.
  EXPECT_EQ(RunCommand(copy + " env list").exit_code, 0);
}

}  // namespace
}  // namespace proxima

// Helpers the sequence-policy tests share to run `proxima lm ...`:
//   RunLm       in this process, through RunLmCommand (learner/lm/lm_command.h),
//               with its stdout and stderr captured; returns the exit status;
//   TinySftRun  the `proxima` binary's `lm sft` on a tiny model (1 layer,
//               width 16, 20 steps, seed 3) into a new temporary run
//               directory, whose newest checkpoint is then a warm start.
#ifndef PROXIMA_TESTS_LM_LM_TEST_COMMANDS_H_
#define PROXIMA_TESTS_LM_LM_TEST_COMMANDS_H_

#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "learner/lm/lm_command.h"
#include "tests/test_util.h"

namespace proxima::lm_testing {

inline int RunLm(std::vector<std::string> args, std::string* out, std::string* err) {
  args.insert(args.begin(), "lm");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  std::ostringstream o, e;
  const int rc = RunLmCommand(static_cast<int>(argv.size()), argv.data(), o, e);
  *out = o.str();
  *err = e.str();
  return rc;
}

inline std::string TinySftRun(const std::string& prefix) {
  const std::string dir = MakeTempDir(prefix);
  const CommandResult r = RunCommand(
      BinPath("proxima") +
      " lm sft --steps 20 --warmup 5 --layers 1 --width 16 --heads 2 --seed 3 --run-dir " + dir);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return dir;
}

}  // namespace proxima::lm_testing

#endif  // PROXIMA_TESTS_LM_LM_TEST_COMMANDS_H_

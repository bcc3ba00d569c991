// The cli tests' short `proxima train` run into a fresh run directory:
// TrainIntoNewDir(prefix, flags) runs `proxima train FLAGS --run-dir DIR`,
// DIR being "run" under a new temporary directory named PREFIX..., and
// returns DIR with the command's exit code and output.
#ifndef PROXIMA_TESTS_LEARNER_TRAIN_RUN_H_
#define PROXIMA_TESTS_LEARNER_TRAIN_RUN_H_

#include <string>

#include "tests/test_util.h"

namespace proxima {

struct TrainRun {
  std::string dir;
  int exit_code = -1;
  std::string output;
};

inline TrainRun TrainIntoNewDir(const std::string& prefix, const std::string& flags) {
  TrainRun run;
  run.dir = MakeTempDir(prefix) + "/run";
  const CommandResult r =
      RunCommand(BinPath("proxima") + " train " + flags + " --run-dir " + run.dir);
  run.exit_code = r.exit_code;
  run.output = r.output;
  return run;
}

}  // namespace proxima

#endif  // PROXIMA_TESTS_LEARNER_TRAIN_RUN_H_

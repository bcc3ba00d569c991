// Child processes of `proxima bench`: the real executables, started without
// a shell with their output in a log file, and reaped with wait4() so that
// their rusage (peak RSS) is their own. Shared by the process suites and the
// gRPC suites (bench.h).
#ifndef PROXIMA_LEARNER_BENCH_BENCH_PROCESS_H_
#define PROXIMA_LEARNER_BENCH_BENCH_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace proxima::bench {

struct Child {
  pid_t pid = -1;
  std::chrono::steady_clock::time_point started;
};

struct Finished {
  int wait_status = 0;
  double wall_seconds = 0;    // from start to exit
  int64_t max_rss_bytes = 0;  // peak resident set (ru_maxrss)
};

// `binary args...` with stdout and stderr appended to `log_path`; SIGKILLed
// if the calling thread ends first.
absl::StatusOr<Child> StartChild(const std::string& binary, const std::vector<std::string>& args,
                                 const std::string& log_path);

// Waits for `c` to exit, SIGKILLing it once `timeout_seconds` have passed
// since it started.
Finished ReapChild(const Child& c, double timeout_seconds);

// SIGTERM, then ReapChild with `grace` from now.
Finished StopChild(const Child& c, absl::Duration grace);

// The address a learner started with `--listen 127.0.0.1:0 --run-dir
// run_dir` wrote to run_dir/learner.addr. Fails when `learner` exits first
// (not reaped) or `timeout` passes.
absl::StatusOr<std::string> WaitForLearnerAddress(const std::string& run_dir,
                                                  const Child& learner, absl::Duration timeout);

}  // namespace proxima::bench

#endif  // PROXIMA_LEARNER_BENCH_BENCH_PROCESS_H_

// The learner the gRPC suites of `proxima bench` (bench.h) run against: a
// real proxima-learner subprocess (`FLAGS --listen 127.0.0.1:0 --run-dir DIR
// --quiet`, its output in DIR/learner.log, its address read from
// DIR/learner.addr), and what the suites read about it from outside: its
// CPU time and memory (/proc/PID) and its Monitor status.
//
// Start() blocks until the learner has written its address (or fails with
// the log's last lines). Not thread-safe; the suites use one from one thread.
#ifndef PROXIMA_LEARNER_CLI_BENCH_LEARNER_PROCESS_H_
#define PROXIMA_LEARNER_CLI_BENCH_LEARNER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "learner/cli/bench/bench.h"
#include "learner/cli/bench/bench_process.h"
#include "nlohmann/json.hpp"
#include "proxima/v1/monitor_service.pb.h"

namespace proxima::bench {

// Deadline of the suites' unary calls (Register, Pause, GetStatus).
inline constexpr absl::Duration kUnaryDeadline = absl::Seconds(10);

class LearnerProcess {
 public:
  // Removes `run_dir` (a previous bench run's), starts the learner with
  // `flags` plus the listen/run-dir/quiet flags and waits for its address.
  static absl::StatusOr<std::unique_ptr<LearnerProcess>> Start(const BenchOptions& options,
                                                               const std::string& run_dir,
                                                               std::vector<std::string> flags);

  ~LearnerProcess() { Stop(); }

  // SIGTERM, SIGKILL after a grace period (the learner finishes its update
  // and checkpoints), reap. Idempotent. Close this process's channels to the
  // learner first: the learner's gRPC Server::Shutdown waits (up to a
  // quarter of its --grace-period) for connected channels to go away, idle
  // ones included.
  void Stop();

  pid_t pid() const { return child_.pid; }
  const std::string& address() const { return address_; }

  // Admin.Pause: the trainer stops taking batches; the queue only fills.
  absl::Status Pause(absl::string_view reason) const;
  // Monitor.GetStatus.
  absl::StatusOr<v1::LearnerStatus> GetStatus() const;

  // `what` and `cause`, the log's path and its last lines.
  absl::Status Error(absl::string_view what, const absl::Status& cause) const;

 private:
  LearnerProcess() = default;

  Child child_;
  std::string log_path_, address_;
};

// utime + stime of `pid` in seconds (/proc/PID/stat); NaN if unreadable.
double ProcessCpuSeconds(pid_t pid);

// A "Vm...:" line of /proc/PID/status ("VmRSS:  1234 kB") in bytes; null if
// absent.
nlohmann::json ProcessMemoryBytes(pid_t pid, absl::string_view key);

// A metric value: the number, or null when it could not be measured.
nlohmann::json Number(double v);

}  // namespace proxima::bench

#endif  // PROXIMA_LEARNER_CLI_BENCH_LEARNER_PROCESS_H_

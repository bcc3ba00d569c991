// LocalLearner: the proxima-learner child of `proxima train`'s local
// cluster (local_cluster.h), from start to its address and its log.
//
//  - Start: appends "==> proxima train: BINARY ARGS" to the log, then starts
//    the learner (common/subprocess.h) in its own process group with
//    SIGTERM as its parent-death signal (so it checkpoints when the launcher
//    dies), stderr in the log and stdout on a pipe.
//  - ReadAddress: the listening-line handshake (common/listening_line.h) on
//    that pipe; every line up to and including it is copied to the log.
//  - StartPump/StopPump: a thread that copies the rest of its stdout to the
//    log; the pipe must keep draining or the learner would block on it.
// Signalling and reaping the process are the launcher's. Used from one
// thread (the launcher's); takes no locks.
#ifndef PROXIMA_LEARNER_CLI_LOCAL_LEARNER_H_
#define PROXIMA_LEARNER_CLI_LOCAL_LEARNER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/line_reader.h"

namespace proxima {

class LocalLearner {
 public:
  LocalLearner() = default;
  // Stops the pump and closes the pipe and the log; the process is left alone.
  ~LocalLearner();
  LocalLearner(const LocalLearner&) = delete;
  LocalLearner& operator=(const LocalLearner&) = delete;

  absl::Status Start(const std::string& binary, const std::vector<std::string>& args,
                     const std::string& log_path);
  pid_t pid() const { return pid_; }

  // The learner's address from its listening line. Blocks until that line,
  // `deadline` (DeadlineExceeded), the end of its stdout (Unavailable: it
  // exited first), or `wake_fd` turning readable (Cancelled; call again to
  // go on waiting).
  absl::StatusOr<std::string> ReadAddress(absl::Time deadline, int wake_fd);

  void StartPump();
  // After the learner has exited: copies what is left and ends the thread.
  // Does not wait for end-of-file, which a process the learner left behind
  // holding its stdout could postpone forever.
  void StopPump();

 private:
  pid_t pid_ = -1;
  int out_ = -1;  // read end of the learner's stdout pipe
  int log_ = -1;
  std::unique_ptr<LineReader> reader_;
  std::thread pump_;
  int pump_stop_[2] = {-1, -1};  // pipe: written once to end the pump
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_LOCAL_LEARNER_H_

// Child processes and signals for `proxima train`'s local cluster
// (local_cluster.h): start a program without a shell, tied to the launcher's
// life, and turn SIGINT/SIGTERM/SIGCHLD into bytes on a pipe that a poll()
// loop can wait on together with everything else.
#ifndef PROXIMA_LEARNER_CLI_SUBPROCESS_H_
#define PROXIMA_LEARNER_CLI_SUBPROCESS_H_

#include <sys/types.h>

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace proxima {

// Opens `path` for appending, creating it if needed (close-on-exec). Append,
// so that a resumed run or a restarted process keeps the earlier output.
absl::StatusOr<int> OpenAppend(const std::string& path);

// Writes all of `data` to `fd`; best effort (stops at the first error).
void WriteAll(int fd, absl::string_view data);

// fork + exec of `path args...` (no shell): stdin from /dev/null, stdout and
// stderr onto the given descriptors, in a process group of its own (so a
// terminal's Ctrl-C reaches only the launcher, which stops children in
// order), and `parent_death_signal` delivered to it when the calling thread
// ends — call this from a thread that lives as long as the children should
// (the main thread). Handlers installed by SignalPipe are reset in the
// child. Only async-signal-safe calls happen between fork and exec, since
// other threads (gRPC's) may exist.
absl::StatusOr<pid_t> SpawnChild(const std::string& path, const std::vector<std::string>& args,
                                 int stdout_fd, int stderr_fd, int parent_death_signal);

// "exited with status 3", "was killed by signal 9".
std::string DescribeWaitStatus(int wait_status);
// The exit status a shell would report: the code, or 128 + the signal.
int ExitCodeOf(int wait_status);

// While alive, SIGINT, SIGTERM and SIGCHLD are caught and their numbers
// written to a pipe (the "self-pipe trick"). Handlers rather than a blocked
// mask and a signalfd: threads exist before main (the BLAS pool), and a
// signal blocked in ours but not in theirs would be delivered there — where
// SIGINT's default action ends the process. One instance at a time.
class SignalPipe {
 public:
  static absl::StatusOr<std::unique_ptr<SignalPipe>> Install();
  ~SignalPipe();  // restores the previous handlers
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;

  // Readable when a signal is pending (for poll()).
  int fd() const { return read_fd_; }
  // The next caught signal, or 0 if `timeout` passes first.
  int Next(absl::Duration timeout);

 private:
  SignalPipe() = default;
  int read_fd_ = -1;
  struct sigaction old_actions_[3] = {};
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_SUBPROCESS_H_

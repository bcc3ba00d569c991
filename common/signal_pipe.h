// SignalPipe: SIGINT, SIGTERM and SIGCHLD turned into bytes on a pipe that a
// poll() loop can wait on together with everything else (the "self-pipe
// trick") — how `proxima train` supervises its children (local_cluster.h).
//
// Handlers rather than a blocked mask and a signalfd: threads exist before
// main (the BLAS pool), and a signal blocked in ours but not in theirs would
// be delivered there — where SIGINT's default action ends the process. One
// instance at a time per process; children started with SpawnChild
// (subprocess.h) get the default handlers back. Takes no locks.
#ifndef PROXIMA_COMMON_SIGNAL_PIPE_H_
#define PROXIMA_COMMON_SIGNAL_PIPE_H_

#include <csignal>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace proxima {

class SignalPipe {
 public:
  // Installs the handlers; FailedPrecondition while another SignalPipe lives.
  static absl::StatusOr<std::unique_ptr<SignalPipe>> Install();
  ~SignalPipe();  // restores the previous handlers
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;

  // Readable when a signal is pending (for poll()).
  int fd() const { return read_fd_; }
  // The next caught signal, or 0 if `timeout` passes first. Blocks up to
  // `timeout`.
  int Next(absl::Duration timeout);

 private:
  SignalPipe() = default;
  int read_fd_ = -1;
  struct sigaction old_actions_[3] = {};
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_SIGNAL_PIPE_H_

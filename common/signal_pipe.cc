#include "common/signal_pipe.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace proxima {
namespace {

constexpr int kHandledSignals[] = {SIGINT, SIGTERM, SIGCHLD};

// Write end of the SignalPipe: handlers cannot capture, so it is global.
int g_signal_pipe = -1;

void OnSignal(int signo) {
  const int saved = errno;
  const unsigned char byte = static_cast<unsigned char>(signo);
  (void)!::write(g_signal_pipe, &byte, 1);  // full pipe: a wake-up is pending anyway
  errno = saved;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SignalPipe>> SignalPipe::Install() {
  if (g_signal_pipe >= 0) return absl::FailedPreconditionError("a SignalPipe is already installed");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  std::unique_ptr<SignalPipe> pipe(new SignalPipe());
  pipe->read_fd_ = fds[0];
  g_signal_pipe = fds[1];
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: other threads' blocking calls should not fail with EINTR.
  action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  for (int i = 0; i < 3; ++i) sigaction(kHandledSignals[i], &action, &pipe->old_actions_[i]);
  return pipe;
}

SignalPipe::~SignalPipe() {
  for (int i = 0; i < 3; ++i) sigaction(kHandledSignals[i], &old_actions_[i], nullptr);
  ::close(g_signal_pipe);
  g_signal_pipe = -1;
  ::close(read_fd_);
}

int SignalPipe::Next(absl::Duration timeout) {
  pollfd p{read_fd_, POLLIN, 0};
  const int ms = timeout == absl::InfiniteDuration()
                     ? -1
                     : static_cast<int>(std::clamp<int64_t>(
                           absl::ToInt64Milliseconds(absl::Ceil(timeout, absl::Milliseconds(1))),
                           0, 1 << 30));
  if (::poll(&p, 1, ms) <= 0) return 0;
  unsigned char byte = 0;
  if (::read(read_fd_, &byte, 1) != 1) return 0;
  return byte;
}

}  // namespace proxima

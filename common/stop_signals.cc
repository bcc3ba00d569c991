#include "common/stop_signals.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace proxima {
namespace {

int g_pipe[2] = {-1, -1};

void OnStopSignal(int sig) {
  const int saved = errno;
  const unsigned char byte = static_cast<unsigned char>(sig);
  // Nothing useful can be done if the pipe is full: a signal is pending anyway.
  [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &byte, 1);
  errno = saved;
}

sigset_t StopSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

absl::Status InstallStopSignals() {
  if (g_pipe[0] >= 0) return absl::FailedPreconditionError("stop signals already installed");
  if (::pipe(g_pipe) != 0) {
    return absl::InternalError(absl::StrCat("pipe for stop signals: ", strerror(errno)));
  }
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: the waiting thread's read() must return EINTR. Under
  // ThreadSanitizer (clang 14) read() is not a "blocking call", so the
  // handler is deferred until the thread leaves the interceptor; a restarted
  // read() would never leave it.
  action.sa_flags = 0;
  if (sigaction(SIGTERM, &action, nullptr) != 0 || sigaction(SIGINT, &action, nullptr) != 0) {
    return absl::InternalError(absl::StrCat("sigaction: ", strerror(errno)));
  }
  const sigset_t set = StopSet();
  const int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (rc != 0) return absl::InternalError(absl::StrCat("pthread_sigmask: ", strerror(rc)));
  return absl::OkStatus();
}

int WaitForStopSignal() {
  const sigset_t set = StopSet();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  unsigned char sig = 0;
  for (;;) {
    const ssize_t n = ::read(g_pipe[0], &sig, 1);
    if (n == 1) return sig;
    if (n < 0 && errno == EINTR) continue;
    return 0;  // pipe closed or broken: treat as woken
  }
}

void WakeStopSignalWaiter() {
  const unsigned char zero = 0;
  [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &zero, 1);
}

}  // namespace proxima

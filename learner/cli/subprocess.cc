#include "learner/cli/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
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

absl::Status ErrnoError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<int> OpenAppend(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(absl::StrCat("cannot open ", path));
  return fd;
}

void WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

absl::StatusOr<pid_t> SpawnChild(const std::string& path, const std::vector<std::string>& args,
                                 int stdout_fd, int stderr_fd, int parent_death_signal) {
  // Everything the child needs is prepared here: after fork it may not
  // allocate.
  std::vector<std::string> storage;
  storage.push_back(path);
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) return ErrnoError("cannot open /dev/null");
  const pid_t parent = ::getpid();
  // All signals stay blocked across fork, so that the child cannot run our
  // handler (and write into our self-pipe) before it has reset it.
  sigset_t all, saved_mask;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved_mask);
  const pid_t pid = ::fork();
  if (pid == 0) {
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int signo : kHandledSignals) sigaction(signo, &dfl, nullptr);
    sigaction(SIGPIPE, &dfl, nullptr);  // an inherited SIG_IGN would survive exec
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::setpgid(0, 0);
    // If the parent died before prctl took effect, no signal would ever come.
    if (::prctl(PR_SET_PDEATHSIG, parent_death_signal) != 0 || ::getppid() != parent) {
      ::_exit(127);
    }
    if (::dup2(devnull, 0) < 0 || ::dup2(stdout_fd, 1) < 0 || ::dup2(stderr_fd, 2) < 0) {
      ::_exit(127);
    }
    ::execv(argv[0], argv.data());
    static const char kMsg[] = "proxima: exec failed\n";
    (void)!::write(2, kMsg, sizeof(kMsg) - 1);
    ::_exit(127);
  }
  pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
  ::close(devnull);
  if (pid < 0) return ErrnoError("fork");
  return pid;
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return absl::StrCat("exited with status ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return absl::StrCat("was killed by signal ", WTERMSIG(wait_status));
  return "stopped";
}

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

absl::StatusOr<std::unique_ptr<SignalPipe>> SignalPipe::Install() {
  if (g_signal_pipe >= 0) return absl::FailedPreconditionError("a SignalPipe is already installed");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoError("pipe");
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

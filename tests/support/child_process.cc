#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/listening_line.h"
#include "common/subprocess.h"
#include "gtest/gtest.h"
#include "tests/support/poll.h"

namespace proxima::testing {

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path) {
  int fds[2];
  if (argv.empty() || ::pipe2(fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "cannot start a child process: " << (argv.empty() ? "no argv" : "pipe failed");
    return;
  }
  int log_fd = -1;
  if (!log_path.empty()) {
    absl::StatusOr<int> log = OpenAppend(log_path);
    if (log.ok()) log_fd = *log;
  }
  SpawnOptions spawn;
  spawn.stdout_fd = fds[1];
  if (log_fd >= 0) spawn.stderr_fd = log_fd;
  spawn.parent_death_signal = SIGKILL;
  absl::StatusOr<pid_t> pid =
      SpawnChild(argv[0], std::vector<std::string>(argv.begin() + 1, argv.end()), spawn);
  ::close(fds[1]);
  if (log_fd >= 0) ::close(log_fd);
  out_fd_ = fds[0];
  reader_ = LineReader(out_fd_);
  if (!pid.ok()) {
    ADD_FAILURE() << "cannot start " << argv[0] << ": " << pid.status();
    return;
  }
  pid_ = *pid;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && running()) {
    ::kill(pid_, SIGKILL);
    Wait(10);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
}

std::string ChildProcess::ReadLine(double timeout_seconds) {
  if (out_fd_ < 0) return "";
  absl::StatusOr<std::string> line =
      reader_.ReadLine(absl::Now() + absl::Seconds(timeout_seconds));
  return line.ok() ? *line : std::string();
}

absl::StatusOr<std::string> ChildProcess::ReadListeningAddress(absl::string_view program,
                                                               double timeout_seconds) {
  return ParseListeningLine(program, ReadLine(timeout_seconds));
}

void ChildProcess::Signal(int sig) {
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

bool ChildProcess::running() {
  if (reaped_ || pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    status_ = ExitCodeOf(status);
    return false;
  }
  return true;
}

int ChildProcess::Wait(double timeout_seconds) {
  if (!PollUntil([this] { return !running(); }, absl::Seconds(timeout_seconds),
                 absl::Milliseconds(10))) {
    return -1;
  }
  return status_;
}

CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe failed: " << command;
    return r;
  }
  SpawnOptions spawn;
  spawn.stdout_fd = fds[1];
  absl::StatusOr<pid_t> pid = SpawnChild("/bin/sh", {"-c", command + " 2>&1"}, spawn);
  ::close(fds[1]);
  if (!pid.ok()) {
    ::close(fds[0]);
    ADD_FAILURE() << "cannot run " << command << ": " << pid.status();
    return r;
  }
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    r.output.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  absl::StatusOr<int> status = WaitForExit(*pid);
  if (status.ok() && WIFEXITED(*status)) r.exit_code = WEXITSTATUS(*status);
  return r;
}

}  // namespace proxima::testing

#include "learner/cli/bench/bench_process.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/subprocess.h"

namespace proxima::bench {

using Clock = std::chrono::steady_clock;

absl::StatusOr<Child> StartChild(const std::string& binary, const std::vector<std::string>& args,
                                 const std::string& log_path) {
  absl::StatusOr<int> log = OpenAppend(log_path);
  if (!log.ok()) return log.status();
  Child c;
  c.started = Clock::now();
  SpawnOptions spawn;
  spawn.stdout_fd = *log;
  spawn.stderr_fd = *log;
  spawn.own_process_group = true;
  spawn.parent_death_signal = SIGKILL;
  absl::StatusOr<pid_t> pid = SpawnChild(binary, args, spawn);
  ::close(*log);
  if (!pid.ok()) return pid.status();
  c.pid = *pid;
  return c;
}

Finished ReapChild(const Child& c, double timeout_seconds) {
  Finished f;
  struct rusage usage = {};
  const auto deadline = c.started + std::chrono::duration<double>(timeout_seconds);
  bool killed = false;
  for (;;) {
    const pid_t r = ::wait4(c.pid, &f.wait_status, WNOHANG, &usage);
    if (r == c.pid || (r < 0 && errno != EINTR)) break;
    if (!killed && Clock::now() > deadline) {
      ::kill(c.pid, SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  f.wall_seconds = std::chrono::duration<double>(Clock::now() - c.started).count();
  f.max_rss_bytes = static_cast<int64_t>(usage.ru_maxrss) * 1024;  // KiB on Linux
  return f;
}

Finished StopChild(const Child& c, absl::Duration grace) {
  ::kill(c.pid, SIGTERM);
  const double elapsed = std::chrono::duration<double>(Clock::now() - c.started).count();
  return ReapChild(c, elapsed + absl::ToDoubleSeconds(grace));
}

absl::StatusOr<std::string> WaitForLearnerAddress(const std::string& run_dir,
                                                  const Child& learner, absl::Duration timeout) {
  const std::string path = run_dir + "/learner.addr";
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    absl::StatusOr<std::string> a = ReadFile(path);  // written atomically
    if (a.ok() && !absl::StripAsciiWhitespace(*a).empty()) {
      return std::string(absl::StripAsciiWhitespace(*a));
    }
    // Exited already? (WNOWAIT: leave it to be reaped, rusage and all.)
    siginfo_t info = {};
    if (::waitid(P_PID, learner.pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == learner.pid) {
      return absl::UnavailableError("the learner exited before writing its address");
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("no ", path, " within ", absl::FormatDuration(timeout)));
}

}  // namespace proxima::bench

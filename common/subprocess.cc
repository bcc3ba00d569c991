#include "common/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace proxima {
namespace {

absl::Status ErrnoError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<pid_t> SpawnChild(const std::string& path, const std::vector<std::string>& args,
                                 const SpawnOptions& options) {
  // Everything the child needs is prepared here: after fork it may not
  // allocate.
  std::vector<std::string> storage;
  storage.push_back(path);
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  int devnull = -1;
  if (options.stdin_fd < 0) {
    devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) return ErrnoError("cannot open /dev/null");
  }
  const int stdin_fd = options.stdin_fd < 0 ? devnull : options.stdin_fd;
  const pid_t parent = ::getpid();
  // All signals stay blocked across fork, so that the child cannot run a
  // handler of ours (and, say, write into a self-pipe) before it has reset it.
  sigset_t all, saved_mask;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved_mask);
  const pid_t pid = ::fork();
  if (pid == 0) {
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    // SIGPIPE too: an inherited SIG_IGN would survive exec.
    for (int signo : {SIGINT, SIGTERM, SIGCHLD, SIGPIPE}) sigaction(signo, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (options.own_process_group) ::setpgid(0, 0);
    // If the parent died before prctl took effect, no signal would ever come.
    if (options.parent_death_signal != 0 &&
        (::prctl(PR_SET_PDEATHSIG, options.parent_death_signal) != 0 ||
         ::getppid() != parent)) {
      ::_exit(127);
    }
    if (::dup2(stdin_fd, 0) < 0 || ::dup2(options.stdout_fd, 1) < 0 ||
        ::dup2(options.stderr_fd, 2) < 0) {
      ::_exit(127);
    }
    ::execv(argv[0], argv.data());
    static const char kMsg[] = "proxima: exec failed\n";
    (void)!::write(2, kMsg, sizeof(kMsg) - 1);
    ::_exit(127);
  }
  pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
  if (devnull >= 0) ::close(devnull);
  if (pid < 0) return ErrnoError("fork");
  return pid;
}

absl::StatusOr<int> WaitForExit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoError("waitpid");
  }
  return status;
}

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

absl::StatusOr<std::string> ExecutableDir() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot read /proc/self/exe: ", ec.message()));
  return exe.parent_path().string();
}

absl::Status ExecBeside(const std::string& name, const std::vector<std::string>& argv) {
  absl::StatusOr<std::string> dir = ExecutableDir();
  if (!dir.ok()) return dir.status();
  const std::string path = *dir + "/" + name;
  std::vector<char*> c_argv;
  for (const std::string& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  ::execv(path.c_str(), c_argv.data());
  return absl::FailedPreconditionError(
      absl::StrCat("cannot run ", path, " (", std::strerror(errno), "); build it with the others"));
}

}  // namespace proxima

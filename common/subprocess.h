// Child processes: the one place that starts a program (fork + exec, no
// shell) for `proxima train`'s local cluster, `proxima plot`'s gnuplot,
// `proxima bench`'s process suites and the tests' ChildProcess
// (tests/support/child_process.h), and that describes how one ended; and
// where an executable finds its siblings (ExecutableDir) or hands its
// command line over to one (ExecBeside: `proxima` runs the commands that
// need LibTorch in `proxima-torch`).
//
// Torch- and gRPC-free; nothing here takes a lock. SpawnChild returns once
// the child exists (it does not wait for exec); WaitForExit blocks until the
// child has ended.
#ifndef PROXIMA_COMMON_SUBPROCESS_H_
#define PROXIMA_COMMON_SUBPROCESS_H_

#include <sys/types.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace proxima {

// Where a child's standard streams go and how it is tied to its parent.
struct SpawnOptions {
  // Descriptors that become the child's stdin/stdout/stderr; stdin_fd -1
  // means /dev/null. The defaults share this process's stdout and stderr.
  int stdin_fd = -1;
  int stdout_fd = STDOUT_FILENO;
  int stderr_fd = STDERR_FILENO;
  // A process group of its own, so that a terminal's Ctrl-C reaches only the
  // launcher, which then stops its children in order.
  bool own_process_group = false;
  // Delivered to the child when the *thread* that spawned it ends (Linux
  // PR_SET_PDEATHSIG); 0: none. Spawn from a thread that lives as long as
  // the child should (the main thread).
  int parent_death_signal = 0;
};

// Starts `path args...` (path is run as given: no PATH search, no shell)
// and returns its pid. In the child, SIGINT, SIGTERM, SIGCHLD and SIGPIPE
// are reset to their default actions and the signal mask is cleared, so
// handlers of the parent (SignalPipe, signal_pipe.h) never run there. Only
// async-signal-safe calls happen between fork and exec, since other threads
// (gRPC's) may exist. If exec fails the child writes "proxima: exec failed"
// to its stderr and exits with status 127.
absl::StatusOr<pid_t> SpawnChild(const std::string& path, const std::vector<std::string>& args,
                                 const SpawnOptions& options);

// Blocks until `pid` (a child of this process) has ended and returns its
// wait status; retries on EINTR.
absl::StatusOr<int> WaitForExit(pid_t pid);

// Opens `path` for appending, creating it if needed (close-on-exec). Append,
// so that a resumed run or a restarted process keeps the earlier output.
absl::StatusOr<int> OpenAppend(const std::string& path);

// Writes all of `data` to `fd`; best effort (stops at the first error).
void WriteAll(int fd, absl::string_view data);

// "exited with status 3", "was killed by signal 9".
std::string DescribeWaitStatus(int wait_status);
// The exit status a shell would report: the code, or 128 + the signal.
int ExitCodeOf(int wait_status);

// The folder of the running executable (/proc/self/exe): where the other
// executables and share/ are found.
absl::StatusOr<std::string> ExecutableDir();

// Replaces this process with the executable `name` of ExecutableDir(),
// given `argv` as its argv (argv[0] included, so it names itself as this
// process did). Returns only on failure: FailedPrecondition naming the path.
absl::Status ExecBeside(const std::string& name, const std::vector<std::string>& argv);

}  // namespace proxima

#endif  // PROXIMA_COMMON_SUBPROCESS_H_

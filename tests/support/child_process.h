// Child processes for tests: a program started without a shell whose stdout
// the test reads line by line (e.g. a server's "listening on" line,
// common/listening_line.h), and a shell command run to completion with its
// output captured. Both start their process through common/subprocess.h's
// SpawnChild, with stdin from /dev/null.
//
// Calls block for at most the timeout they are given (RunCommand: until the
// command ends). A failure to start adds a gtest failure. Not thread-safe;
// takes no locks.
#ifndef PROXIMA_TESTS_SUPPORT_CHILD_PROCESS_H_
#define PROXIMA_TESTS_SUPPORT_CHILD_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/line_reader.h"

namespace proxima::testing {

// `argv[0] argv[1...]` with stdout on a pipe; stderr, and stdout once the
// caller stops reading, go to `log_path` when given (appended), else to the
// test's stderr. The child gets SIGKILL if the test thread that started it
// ends, and on destruction if still running.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv, const std::string& log_path = "");
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int pid() const { return pid_; }
  // Next line of the child's stdout (without '\n'); empty at EOF or after
  // `timeout_seconds`.
  std::string ReadLine(double timeout_seconds = 60);
  // The address in the child's next stdout line, which must be PROGRAM's
  // listening line (common/listening_line.h); else NotFound naming the line
  // (empty after EOF or `timeout_seconds`).
  absl::StatusOr<std::string> ReadListeningAddress(absl::string_view program,
                                                   double timeout_seconds = 60);
  void Signal(int sig);
  // Waits up to `timeout_seconds` (polling, tests/support/poll.h); returns
  // the exit status, 128+signal if killed, or -1 on timeout.
  int Wait(double timeout_seconds = 60);
  bool running();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  LineReader reader_{-1};
  int status_ = -1;
  bool reaped_ = false;
};

// Runs `command 2>&1` through /bin/sh with its stdout captured; exit_code
// is its exit status, or -1 if it did not exit normally.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunCommand(const std::string& command);

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_SUPPORT_CHILD_PROCESS_H_

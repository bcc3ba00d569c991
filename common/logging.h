// The one way Proxima's libraries and binaries write diagnostic lines to
// stderr. main names the program once, SetProcessName("proxima-learner"),
// and library code logs "<process>: <message>" without knowing which binary
// it runs in, so no library hard-codes a binary name:
//
//   int main() {
//     proxima::SetProcessName("proxima-learner");
//     ...
//   }
//   proxima::LogInfo(absl::StrCat("run directory ", dir));
//   // stderr: "proxima-learner: run directory runs/x\n"
//
// Every call writes its whole text with one write(2) to file descriptor 2
// while holding a process-wide lock, so lines of concurrent threads never
// interleave, and a line of at most PIPE_BUF (4096) bytes is atomic also
// against other processes writing to the same pipe. The calls are
// thread-safe and block only for that write (or the sink, see below); they
// bypass stdio, so nothing is left in a buffer when the process is killed.
//
// The severity does not change the text (users and tests read these lines
// as they are); it says at the call site what the line is and reaches a sink
// installed for tests. Torch- and gRPC-free, like all of proxima::common.
#ifndef PROXIMA_COMMON_LOGGING_H_
#define PROXIMA_COMMON_LOGGING_H_

#include <functional>
#include <string>

#include "absl/strings/string_view.h"

namespace proxima {

enum class LogSeverity { kInfo, kWarning, kError };

// Sets the prefix of every later line. Call once, at the top of main, before
// any thread logs. Until then the prefix is "proxima".
void SetProcessName(absl::string_view name);

// The name set by SetProcessName(), for lines that place it themselves
// (after a timestamp, with an actor name in brackets).
std::string ProcessName();

// Writes "<process>: <message>\n".
void LogInfo(absl::string_view message);
void LogWarning(absl::string_view message);
void LogError(absl::string_view message);

// Writes `text` exactly as given, with no prefix and no newline added: for
// progress lines that redraw themselves with '\r', and for lines whose text
// callers and tests know without a process prefix ("checkpoint: skipping
// ...", "failpoint ...").
void LogRaw(absl::string_view text);

// Receives each call's whole text (prefix and newline included). It runs
// under the logging lock, so it must not log itself.
using LogSink = std::function<void(LogSeverity severity, absl::string_view text)>;

// Sends every later line to `sink` instead of stderr; an empty sink restores
// stderr. For tests.
void SetLogSinkForTesting(LogSink sink);

}  // namespace proxima

#endif  // PROXIMA_COMMON_LOGGING_H_

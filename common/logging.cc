#include "common/logging.h"

#include <errno.h>
#include <unistd.h>

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace proxima {
namespace {

struct LogState {
  absl::Mutex mu;
  std::string process_name ABSL_GUARDED_BY(mu) = "proxima";
  LogSink sink ABSL_GUARDED_BY(mu);
};

// Never destroyed: threads may still log while the process exits.
LogState& State() {
  static LogState* const state = new LogState;
  return *state;
}

// The whole text in one write(2) when the kernel takes it; the rest of a
// short write follows at once.
void WriteStderr(absl::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // stderr closed or broken: nothing to report it to
    text.remove_prefix(static_cast<size_t>(n));
  }
}

// Under one lock, so SetProcessName() never races a line half-built.
void Emit(LogSeverity severity, absl::string_view message, bool with_prefix) {
  LogState& state = State();
  absl::MutexLock lock(&state.mu);
  const std::string prefixed =
      with_prefix ? absl::StrCat(state.process_name, ": ", message, "\n") : std::string();
  const absl::string_view text = with_prefix ? absl::string_view(prefixed) : message;
  if (state.sink) {
    state.sink(severity, text);
  } else {
    WriteStderr(text);
  }
}

}  // namespace

void SetProcessName(absl::string_view name) {
  LogState& state = State();
  absl::MutexLock lock(&state.mu);
  state.process_name = std::string(name);
}

std::string ProcessName() {
  LogState& state = State();
  absl::MutexLock lock(&state.mu);
  return state.process_name;
}

void LogInfo(absl::string_view message) { Emit(LogSeverity::kInfo, message, true); }
void LogWarning(absl::string_view message) { Emit(LogSeverity::kWarning, message, true); }
void LogError(absl::string_view message) { Emit(LogSeverity::kError, message, true); }

void LogRaw(absl::string_view text) { Emit(LogSeverity::kInfo, text, false); }

void SetLogSinkForTesting(LogSink sink) {
  LogState& state = State();
  absl::MutexLock lock(&state.mu);
  state.sink = std::move(sink);
}

}  // namespace proxima

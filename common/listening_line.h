// The address handshake between a server process and whoever started it:
// once serving, the server prints one stdout line
//
//   PROGRAM: listening on HOST:PORT
//
// (proxima-learner, and deploy/python/proxima_env_server.py as
// proxima-env-server), and the parent reads the bound address from it —
// `--listen 127.0.0.1:0` then needs no free-port guessing. This file is the
// one place that writes and parses that line; `proxima train`'s local
// cluster, the bench and the tests all use it. Takes no locks.
#ifndef PROXIMA_COMMON_LISTENING_LINE_H_
#define PROXIMA_COMMON_LISTENING_LINE_H_

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/line_reader.h"

namespace proxima {

inline constexpr absl::string_view kLearnerProgram = "proxima-learner";
inline constexpr absl::string_view kEnvServerProgram = "proxima-env-server";

// "PROGRAM: listening on ADDRESS" (no newline).
std::string FormatListeningLine(absl::string_view program, absl::string_view address);

// "PROGRAM: listening on HOST:PORT" (surrounding whitespace ignored) →
// "HOST:PORT"; NotFound for any other line, or an empty address.
absl::StatusOr<std::string> ParseListeningLine(absl::string_view program,
                                               absl::string_view line);

// Reads lines from `reader` until PROGRAM's listening line and returns its
// address; each line before it is passed to `other_line`. Blocks until then
// or until `deadline`; errors are LineReader::ReadLine's (OutOfRange: the
// output ended first, DeadlineExceeded, Cancelled when `wake_fd` became
// readable — call again to go on waiting).
absl::StatusOr<std::string> WaitForListeningLine(
    LineReader& reader, absl::string_view program, absl::Time deadline,
    absl::FunctionRef<void(absl::string_view line)> other_line, int wake_fd = -1);

}  // namespace proxima

#endif  // PROXIMA_COMMON_LISTENING_LINE_H_

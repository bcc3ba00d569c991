// LineReader: lines from a pipe or socket, each read bounded by a deadline —
// how a parent reads a child's stdout (a server's "listening on" line,
// listening_line.h) without blocking forever on a child that hangs.
//
// Not thread-safe (one reader per descriptor); takes no locks. ReadLine
// blocks in poll() until a line, end of file, the deadline or a wake-up.
#ifndef PROXIMA_COMMON_LINE_READER_H_
#define PROXIMA_COMMON_LINE_READER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace proxima {

class LineReader {
 public:
  // Reads `fd`, which the caller keeps open (and closes) for as long as this
  // is used.
  explicit LineReader(int fd) : fd_(fd) {}

  // The next complete line, without its '\n'. OutOfRange at end of file (or
  // on a read error), DeadlineExceeded once `deadline` passes, Cancelled
  // when `wake_fd` (if >= 0) becomes readable first — nothing is read from
  // wake_fd, and a later call carries on where this one stopped.
  absl::StatusOr<std::string> ReadLine(absl::Time deadline, int wake_fd = -1);

  // Bytes read past the last returned line (a partial line at end of file,
  // or output that followed); clears them.
  std::string TakeBuffered();

 private:
  int fd_;
  std::string buffer_;
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_LINE_READER_H_

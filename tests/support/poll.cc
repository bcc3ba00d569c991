#include "tests/support/poll.h"

#include "absl/time/clock.h"

namespace proxima::testing {

bool PollUntil(absl::FunctionRef<bool()> pred, absl::Duration timeout, absl::Duration interval) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const bool expired = absl::Now() >= deadline;
    if (pred()) return true;
    if (expired) return false;
    absl::SleepFor(interval);
  }
}

}  // namespace proxima::testing

// Bounded polling for tests that wait for an observable condition (a status
// counter, a log line) that has no notification to block on.
//
// PollUntil only ever answers "did the condition hold before the deadline":
// the deadline is a generous upper bound, never the thing under test, so a
// slow machine makes a test wait longer, not fail differently.
#ifndef PROXIMA_TESTS_SUPPORT_POLL_H_
#define PROXIMA_TESTS_SUPPORT_POLL_H_

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"

namespace proxima::testing {

// Calls `pred` every `interval` until it returns true (returns true) or
// `timeout` has passed (returns false). `pred` is always called at least once
// after the deadline has passed, so a condition that became true during the
// last sleep is still seen. Blocks the calling thread; takes no locks.
bool PollUntil(absl::FunctionRef<bool()> pred, absl::Duration timeout,
               absl::Duration interval = absl::Milliseconds(5));

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_SUPPORT_POLL_H_

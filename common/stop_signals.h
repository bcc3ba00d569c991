// SIGTERM/SIGINT for the long-running binaries (proxima-learner,
// proxima-actor): a handler that only writes the signal number to a pipe,
// and one thread of the program's own that reads it and starts the shutdown
// (which a signal handler could not do itself).
//
//   int main() {
//     if (!proxima::InstallStopSignals().ok()) ...   // before any thread starts
//     ... start servers, clients (their threads inherit the blocked mask) ...
//     std::thread waiter([] { int sig = proxima::WaitForStopSignal(); ... });
//     ...
//     proxima::WakeStopSignalWaiter();  // WaitForStopSignal() returns 0
//   }
//
// InstallStopSignals() also blocks both signals in the calling thread, so
// every thread started after it (gRPC's pollers and executors, ours) inherits
// the block and the kernel delivers a stop signal to the waiting thread,
// which sits in read() with them unblocked. Without that, a signal could land
// on a thread parked inside a library's futex wait; under ThreadSanitizer,
// which runs a handler only once the receiving thread next enters
// instrumented code, the handler then never ran and SIGTERM did nothing.
// Threads that libraries start before main (OpenBLAS's pool) keep the
// signals unblocked; they wait in pthread_cond_wait, where the handler runs
// at once, and the handler writes to the same pipe.
#ifndef PROXIMA_COMMON_STOP_SIGNALS_H_
#define PROXIMA_COMMON_STOP_SIGNALS_H_

#include "absl/status/status.h"

namespace proxima {

// Creates the pipe, installs the handler for SIGTERM and SIGINT and blocks
// both in the calling thread. Call once, from main, before starting threads.
absl::Status InstallStopSignals();

// Unblocks SIGTERM and SIGINT in the calling thread and waits for one of
// them (or for WakeStopSignalWaiter()). Returns the signal number, or 0 when
// woken. May be called again to wait for a second signal.
int WaitForStopSignal();

// Makes a pending or later WaitForStopSignal() return 0.
void WakeStopSignalWaiter();

}  // namespace proxima

#endif  // PROXIMA_COMMON_STOP_SIGNALS_H_

// common/stop_signals: SIGTERM sent to the process reaches the one thread in
// WaitForStopSignal(), and WakeStopSignalWaiter() releases it with 0.
#include "common/stop_signals.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "gtest/gtest.h"

namespace proxima {
namespace {

bool Blocked(int signo) {
  sigset_t current;
  pthread_sigmask(SIG_BLOCK, nullptr, &current);
  return sigismember(&current, signo) == 1;
}

TEST(StopSignalsTest, ProcessSignalReachesTheWaiterAndWakeReleasesIt) {
  ASSERT_TRUE(InstallStopSignals().ok());
  EXPECT_EQ(InstallStopSignals().code(), absl::StatusCode::kFailedPrecondition);
  // Blocked in the installing thread, hence in every thread it starts.
  EXPECT_TRUE(Blocked(SIGTERM));
  EXPECT_TRUE(Blocked(SIGINT));
  std::atomic<bool> inherited{false};
  std::thread([&] { inherited = Blocked(SIGTERM) && Blocked(SIGINT); }).join();
  EXPECT_TRUE(inherited);

  std::atomic<int> got{-1};
  std::atomic<bool> unblocked_in_waiter{false};
  std::thread waiter([&] {
    got = WaitForStopSignal();
    unblocked_in_waiter = !Blocked(SIGTERM);
  });
  // Process-directed, as from `kill` or `timeout -s TERM`. Without the
  // handler the default action would end the test binary.
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  waiter.join();
  EXPECT_EQ(got, SIGTERM);
  EXPECT_TRUE(unblocked_in_waiter);

  // A second signal is read by a second wait (the actor's "second signal
  // exits at once").
  std::thread second([&] { got = WaitForStopSignal(); });
  ASSERT_EQ(::kill(::getpid(), SIGINT), 0);
  second.join();
  EXPECT_EQ(got, SIGINT);

  std::thread woken([&] { got = WaitForStopSignal(); });
  WakeStopSignalWaiter();
  woken.join();
  EXPECT_EQ(got, 0);

  const sigset_t both = [] {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGINT);
    return s;
  }();
  pthread_sigmask(SIG_UNBLOCK, &both, nullptr);
}

}  // namespace
}  // namespace proxima

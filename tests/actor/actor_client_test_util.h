// What the ActorClient tests share: an ActorClient running on its own thread
// with its log captured (ActorThread), options pointing at a FakeLearner, the
// chunks a FakeLearner accepted in one session, and the time limits of the
// waits (no assert depends on how fast the machine is).
#ifndef PROXIMA_TESTS_ACTOR_ACTOR_CLIENT_TEST_UTIL_H_
#define PROXIMA_TESTS_ACTOR_ACTOR_CLIENT_TEST_UTIL_H_

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "actor/actor_client.h"
#include "gtest/gtest.h"
#include "tests/support/fake_learner.h"

namespace proxima::testing {

using Received = FakeLearner::Received;

// Timing in these tests: no assert depends on how fast the machine is. Waits
// are for events (a chunk arrived, a line was logged) with generous deadlines;
// where a test shows that the actor does NOT wait out a timeout, that timeout
// is set far above kJoinLimit, so only the behaviour under test can make
// Run() return in time.
constexpr absl::Duration kJoinLimit = absl::Seconds(30);
constexpr absl::Duration kLongerThanTheTest = absl::Minutes(2);
// Bound of each wait for an event (PollUntil).
constexpr absl::Duration kEventLimit = absl::Seconds(30);

// Runs an ActorClient on its own thread.
class ActorThread {
 public:
  explicit ActorThread(ActorClient::Options options) : client_(Quiet(std::move(options))) {
    thread_ = std::thread([this] {
      status_ = client_.Run();
      done_.Notify();
    });
  }
  ~ActorThread() {
    client_.Stop();
    if (thread_.joinable()) thread_.join();
  }

  // Stops the actor and waits for Run() to return; fails after `limit`
  // (then still joins: Run() returns when its own timeouts expire).
  absl::Status StopAndJoin(absl::Duration limit = kJoinLimit) {
    client_.Stop();
    EXPECT_TRUE(done_.WaitForNotificationWithTimeout(limit))
        << "Run() did not return within " << limit << " of Stop()";
    thread_.join();
    return status_;
  }
  absl::Status Join(absl::Duration limit) {
    EXPECT_TRUE(done_.WaitForNotificationWithTimeout(limit)) << "Run() did not return";
    thread_.join();
    return status_;
  }

  ActorClient& client() { return client_; }
  bool Returned() const { return done_.HasBeenNotified(); }
  std::vector<std::string> log() const {
    std::lock_guard<std::mutex> lock(*log_mu_);
    return *log_;
  }
  bool Logged(absl::string_view part) const {
    for (const std::string& line : log()) {
      if (absl::StrContains(line, part)) return true;
    }
    return false;
  }

 private:
  ActorClient::Options Quiet(ActorClient::Options o) {
    o.log = [mu = log_mu_, log = log_](absl::string_view line) {
      std::lock_guard<std::mutex> lock(*mu);
      log->emplace_back(line);
      std::fprintf(stderr, "  [actor] %s\n", std::string(line).c_str());
    };
    o.log_interval = absl::Milliseconds(300);
    return o;
  }

  std::shared_ptr<std::mutex> log_mu_ = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<std::string>> log_ = std::make_shared<std::vector<std::string>>();
  ActorClient client_;
  std::thread thread_;
  absl::Notification done_;
  absl::Status status_;
};

inline ActorClient::Options OptionsFor(const FakeLearner& learner,
                                       const std::string& name = "a0") {
  ActorClient::Options o;
  o.learner_address = learner.address();
  o.name = name;
  return o;
}

// As OptionsFor, with shutdown timeouts no test waits out: Run() can return
// within kJoinLimit of Stop() only if the final ack came (or the actor saw
// it never will) and, with nothing left unacknowledged, the learner ended
// the half-closed stream.
inline ActorClient::Options NoShutdownTimeouts(const FakeLearner& learner) {
  ActorClient::Options o = OptionsFor(learner);
  o.final_ack_timeout = kLongerThanTheTest;
  o.close_grace = kLongerThanTheTest;
  return o;
}

// Chunks the learner accepted (or will count), in arrival order.
// Pointers into `all`, which must outlive them (hence no temporaries).
std::vector<const v1::TrajectoryChunk*> Accepted(std::vector<Received>&& all,
                                                 uint64_t session) = delete;
inline std::vector<const v1::TrajectoryChunk*> Accepted(const std::vector<Received>& all,
                                                        uint64_t session) {
  std::vector<const v1::TrajectoryChunk*> out;
  for (const Received& r : all) {
    if (r.session == session && r.outcome == v1::CHUNK_OUTCOME_ACCEPTED) out.push_back(&r.chunk);
  }
  return out;
}

using View = FakeLearner::View;

// Waits until the learner has accepted at least n chunks (FakeLearner::WaitFor).
inline auto CountAccepted(size_t n) {
  return [n](const View& v) {
    size_t k = 0;
    for (const Received& r : v.received) k += r.outcome == v1::CHUNK_OUTCOME_ACCEPTED;
    return k >= n;
  };
}

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_ACTOR_ACTOR_CLIENT_TEST_UTIL_H_

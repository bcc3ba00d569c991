// Helpers for the fault-injection suites (tests/faults/): the real
// proxima-learner and proxima-actor processes on loopback, their status over
// gRPC, process memory, log scanning, and a TCP relay that can break or
// silence a connection.
#ifndef PROXIMA_TESTS_FAULTS_FAULT_UTIL_H_
#define PROXIMA_TESTS_FAULTS_FAULT_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "proxima/v1/admin_service.grpc.pb.h"
#include "proxima/v1/monitor_service.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/learner_status.h"
#include "tests/support/poll.h"
#include "tests/test_util.h"

namespace proxima::faults {

using Clock = std::chrono::steady_clock;
double SecondsSince(Clock::time_point t);

// Learner flags every fault test uses: CartPole, loopback, port `listen`,
// a short keepalive (so that dead peers are found in seconds), an unbounded
// step budget. `extra` is appended.
std::vector<std::string> LearnerArgs(const std::string& run_dir, const std::string& listen,
                                     const std::vector<std::string>& extra = {});

// Starts the learner (optionally with PROXIMA_FAILPOINT set, via /usr/bin/env)
// with stderr in RUN_DIR/learner.log; returns it once it printed its address.
struct Learner {
  std::unique_ptr<ChildProcess> process;
  std::string address;
};
Learner StartLearner(const std::vector<std::string>& args, const std::string& log_path,
                     const std::string& failpoint = "");

std::unique_ptr<ChildProcess> StartActor(const std::string& address, const std::string& name,
                                         const std::string& log_dir, int num_envs = 2);
// One actor per name, each logging to LOG_DIR/NAME.log.
std::vector<std::unique_ptr<ChildProcess>> StartActors(const std::string& address,
                                                       const std::vector<std::string>& names,
                                                       const std::string& log_dir,
                                                       int num_envs = 2);

// Monitor + Admin client for one learner address.
class LearnerClient {
 public:
  explicit LearnerClient(const std::string& address);
  std::optional<v1::LearnerStatus> Status(double timeout_seconds = 2);
  // Polls every 50 ms (PollUntil) until `pred` holds (true) or `timeout`
  // passes (false); *last gets the newest status seen.
  template <typename Pred>
  bool WaitFor(Pred pred, double timeout, v1::LearnerStatus* last = nullptr) {
    return testing::PollUntil(
        [&] {
          std::optional<v1::LearnerStatus> st = Status();
          if (st && last != nullptr) *last = *st;
          return st && pred(*st);
        },
        absl::Seconds(timeout), absl::Milliseconds(50));
  }
  bool Pause();
  bool Resume();

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Monitor::Stub> monitor_;
  std::unique_ptr<v1::Admin::Stub> admin_;
};

using ::proxima::testing::Dropped;    // tests/support/learner_status.h
using ::proxima::testing::FindActor;  // tests/support/learner_status.h
// "" when received == trained + Σ dropped + queued (chunks and transitions),
// else a description of the mismatch.
std::string AccountingError(const v1::LearnerStatus& st);
std::string DropSummary(const v1::LearnerStatus& st);

// Every named actor has a live session that delivered chunks since `since`
// (per-name chunk counts of an earlier status; absent names: any chunk).
bool AllStreaming(const v1::LearnerStatus& st, const std::vector<std::string>& names,
                  const std::map<std::string, uint64_t>& since = {});
std::map<std::string, uint64_t> ChunksByName(const v1::LearnerStatus& st);

// VmRSS of a process in bytes (0 if unreadable).
int64_t RssBytes(int pid);

std::string ReadWholeFile(const std::string& path);
int CountOccurrences(const std::string& text, const std::string& needle);

// The actor's exit line "... K chunk(s) in session S, A acked in all
// sessions (X accepted, Y duplicate)".
struct ActorExit {
  bool found = false;
  uint64_t chunks_in_session = 0;
  uint64_t session_id = 0;
  uint64_t acked = 0, accepted = 0, duplicates = 0;
};
ActorExit ParseActorExit(const std::string& log);

// A TCP relay on 127.0.0.1:0 in front of `target` (HOST:PORT), one thread.
//   kForward: bytes flow both ways.
//   kHoldDownstream: client → target flows; target → client is not read
//     (the target's answers, acks and pings included, pile up unread).
//   kSilent: nothing is read or written either way; sockets stay open and
//     new connections are accepted (and connected upstream) but also silent.
// BreakAll() closes every connection pair at once.
class TcpRelay {
 public:
  enum class Mode { kForward, kHoldDownstream, kSilent };
  explicit TcpRelay(const std::string& target);
  ~TcpRelay();
  std::string address() const { return address_; }
  void SetMode(Mode m);
  void BreakAll();
  int connections_accepted() const { return accepted_.load(); }

 private:
  struct Pipe;
  void Loop();
  void Wake();
  std::string target_host_;
  int target_port_ = 0;
  std::string address_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<Mode> mode_{Mode::kForward};
  std::atomic<bool> break_{false};
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

}  // namespace proxima::faults

#endif  // PROXIMA_TESTS_FAULTS_FAULT_UTIL_H_

// Peers that stop answering without closing anything: a learner frozen with
// SIGSTOP, and a TCP relay that keeps both sockets open but stops forwarding.
// Keepalive must find both on the side that is still alive, streams must
// recover once the peer is back (no stuck stream handler: the learner still
// shuts down cleanly within its grace period), client and server keepalive
// settings must agree (no GOAWAY too_many_pings), and a chunk resent after a
// broken stream is acknowledged DUPLICATE and never trained twice.
#include <signal.h>

#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/faults/fault_util.h"
#include "tests/faults/loopback_run.h"

namespace proxima::faults {
namespace {

void ExpectNoPingComplaints(const std::string& dir, const std::vector<std::string>& logs) {
  for (const std::string& name : logs) {
    const std::string log = ReadWholeFile(dir + "/" + name);
    EXPECT_EQ(log.find("too_many_pings"), std::string::npos) << name << ":\n" << log;
    EXPECT_EQ(log.find("ENHANCE_YOUR_CALM"), std::string::npos) << name;
  }
}

// Silences the relay (sockets stay open, nothing is forwarded) until the
// learner reports r0 disconnected, a fatal failure after 15 s; *seconds gets
// how long that took. The relay then forwards again.
void SilenceUntilR0Dropped(TcpRelay& relay, LearnerClient& client, v1::LearnerStatus* st,
                           double* seconds) {
  relay.SetMode(TcpRelay::Mode::kSilent);
  const Clock::time_point silent = Clock::now();
  ASSERT_TRUE(client.WaitFor(
      [&](const v1::LearnerStatus& s) {
        const v1::ActorInfo* a = FindActor(s, "r0");
        return a != nullptr && a->state() == v1::ACTOR_STATE_DISCONNECTED;
      },
      15, st))
      << st->DebugString();
  *seconds = SecondsSince(silent);
  relay.SetMode(TcpRelay::Mode::kForward);
}

// Waits (30 s at most) until r0 and d0 both deliver chunks again after *st.
void WaitR0AndD0StreamingAgain(LearnerClient& client, v1::LearnerStatus* st) {
  const std::map<std::string, uint64_t> before = ChunksByName(*st);
  ASSERT_TRUE(client.WaitFor(
      [&](const v1::LearnerStatus& s) { return AllStreaming(s, {"r0", "d0"}, before); }, 30, st))
      << st->DebugString();
}

TEST(KeepaliveTest, FrozenLearnerIsDetectedByActorsWhichRecoverAfterSigcont) {
  const std::string dir = MakeTempDir("faults_stop");
  const std::vector<std::string> names = {"s0", "s1"};
  LoopbackRun run;
  ASSERT_NO_FATAL_FAILURE(StartLoopbackLearner(dir, {"--grace-period", "10"}, &run));
  LearnerClient& client = *run.client;
  v1::LearnerStatus st;
  ASSERT_NO_FATAL_FAILURE(StartStreamingActors(
      dir, names, &run, &st, [](const v1::LearnerStatus& s) { return s.policy_version() >= 3; }));

  // Frozen for 20 s: the process holds its sockets but answers nothing.
  run.learner.process->Signal(SIGSTOP);
  const Clock::time_point stopped = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(20));  // the fault's duration
  // Both actors found out by keepalive (their streams broke, they retry).
  for (const std::string& n : names) {
    const std::string log = ReadWholeFile(dir + "/" + n + ".log");
    EXPECT_NE(log.find("stream broken"), std::string::npos) << n << ":\n" << log;
  }
  run.learner.process->Signal(SIGCONT);
  const Clock::time_point resumed = Clock::now();
  const std::map<std::string, uint64_t> before = ChunksByName(st);
  const uint64_t v_before = st.policy_version();
  ASSERT_TRUE(client.WaitFor(
      [&](const v1::LearnerStatus& s) {
        return AllStreaming(s, names, before) && s.policy_version() > v_before + 2 &&
               s.actors_connected() == names.size();
      },
      30, &st))
      << st.DebugString();
  const double recovery = SecondsSince(resumed);
  EXPECT_EQ(AccountingError(st), "") << DropSummary(st);
  for (auto& a : run.actors) a->Signal(SIGTERM);
  for (auto& a : run.actors) EXPECT_EQ(a->Wait(30), 0);
  // No handler is stuck: the server drains every call within the grace period.
  const Clock::time_point term = Clock::now();
  run.learner.process->Signal(SIGTERM);
  EXPECT_EQ(run.learner.process->Wait(15), 0) << ReadWholeFile(dir + "/learner.log");
  std::printf("SIGSTOP %.1f s; all actors streaming again %.2f s after SIGCONT; exit %.2f s after "
              "SIGTERM; %s\n",
              std::chrono::duration<double>(resumed - stopped).count(), recovery,
              SecondsSince(term), DropSummary(st).c_str());
  ExpectNoPingComplaints(dir, {"learner.log", "s0.log", "s1.log"});
}

TEST(KeepaliveTest, SilentPeerIsDroppedAndResentChunksAreDuplicates) {
  const std::string dir = MakeTempDir("faults_relay");
  LoopbackRun run;
  ASSERT_NO_FATAL_FAILURE(StartLoopbackLearner(dir, {"--grace-period", "10"}, &run));
  LearnerClient& client = *run.client;
  TcpRelay relay(run.learner.address);
  // r0 reaches the learner through the relay; d0 directly, so the learner
  // keeps training (and publishing) while r0 is cut off.
  auto r0 = StartActor(relay.address(), "r0", dir);
  auto d0 = StartActor(run.learner.address, "d0", dir);
  v1::LearnerStatus st;
  ASSERT_TRUE(client.WaitFor(
      [&](const v1::LearnerStatus& s) { return AllStreaming(s, {"r0", "d0"}); }, 60, &st))
      << st.DebugString();
  const uint64_t r0_session = FindActor(st, "r0")->session_id();

  // 1. Acks get lost: the learner processes r0's chunks but its answers stay
  // in the relay; then the connection breaks. r0 resends its unacknowledged
  // chunks on a new stream of the same session: DUPLICATE.
  relay.SetMode(TcpRelay::Mode::kHoldDownstream);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the fault's duration
  relay.BreakAll();
  relay.SetMode(TcpRelay::Mode::kForward);
  const std::map<std::string, uint64_t> before = ChunksByName(st);
  ASSERT_TRUE(client.WaitFor(
      [&](const v1::LearnerStatus& s) {
        return s.chunks_duplicate() > 0 && AllStreaming(s, {"r0"}, before);
      },
      30, &st))
      << st.DebugString();
  EXPECT_EQ(FindActor(st, "r0")->session_id(), r0_session);  // same session, resent
  const uint64_t duplicates = st.chunks_duplicate();

  // 2. Silent peer: the relay stops forwarding, sockets stay open. The
  // learner's keepalive (1 s, 2 s timeout) must drop r0's streams.
  double detect_busy = 0;
  ASSERT_NO_FATAL_FAILURE(SilenceUntilR0Dropped(relay, client, &st, &detect_busy));
  ASSERT_NO_FATAL_FAILURE(WaitR0AndD0StreamingAgain(client, &st));

  // 3. The same while training is paused: no acks, no weights, no data at
  // all on r0's connection for several keepalive periods (the actor's window
  // is full, its stream held by backpressure), then silence. Pings without
  // data must still go out and be enforced on both sides.
  ASSERT_TRUE(client.Pause());
  std::this_thread::sleep_for(std::chrono::seconds(5));  // idle connections
  double detect_idle = 0;
  ASSERT_NO_FATAL_FAILURE(SilenceUntilR0Dropped(relay, client, &st, &detect_idle));
  ASSERT_TRUE(client.Resume());
  ASSERT_NO_FATAL_FAILURE(WaitR0AndD0StreamingAgain(client, &st));
  const std::string r0_log = ReadWholeFile(dir + "/r0.log");
  EXPECT_NE(r0_log.find("stream broken"), std::string::npos) << r0_log;

  // 4. Exactly once: r0's session never changed, and the learner processed
  // exactly the distinct chunks r0 sent — the resends were not counted again.
  r0->Signal(SIGTERM);
  d0->Signal(SIGTERM);
  EXPECT_EQ(r0->Wait(30), 0);
  EXPECT_EQ(d0->Wait(30), 0);
  ASSERT_TRUE(client.WaitFor(
      [&](const v1::LearnerStatus& s) { return s.actors_connected() == 0; }, 10, &st));
  const ActorExit e = ParseActorExit(ReadWholeFile(dir + "/r0.log"));
  ASSERT_TRUE(e.found);
  EXPECT_EQ(e.session_id, r0_session);
  EXPECT_GT(e.duplicates, 0u);
  EXPECT_EQ(FindActor(st, "r0")->chunks(), e.chunks_in_session);
  EXPECT_EQ(AccountingError(st), "") << DropSummary(st);
  const Clock::time_point term = Clock::now();
  run.learner.process->Signal(SIGTERM);
  EXPECT_EQ(run.learner.process->Wait(15), 0) << ReadWholeFile(dir + "/learner.log");
  std::printf("relay: %llu duplicate chunk(s) after lost acks; silent peer dropped by the learner "
              "after %.2f s (training) and %.2f s (paused, idle); r0 sent %llu chunks, learner "
              "processed %llu; exit %.2f s after SIGTERM; %s\n",
              static_cast<unsigned long long>(duplicates), detect_busy, detect_idle,
              static_cast<unsigned long long>(e.chunks_in_session),
              static_cast<unsigned long long>(FindActor(st, "r0")->chunks()), SecondsSince(term),
              DropSummary(st).c_str());
  ExpectNoPingComplaints(dir, {"learner.log", "r0.log", "d0.log"});
}

}  // namespace
}  // namespace proxima::faults

// The learner dies with SIGKILL — in the middle of an update, and between
// writing a checkpoint's temporary file and renaming it — and is restarted
// with --resume on the same address. Proves: only complete checkpoints are
// loaded (a temp file and a torn ckpt-*.pt are skipped), the version and
// counters continue from the checkpoint, actors reconnect by themselves
// within 15 s, and no chunk is trained twice (per session, the learner's
// count of processed chunks equals the number of distinct chunks the actor
// sent; sessions of the dead learner are not resumed).
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "tests/faults/fault_util.h"

namespace proxima::faults {
namespace {

namespace fs = std::filesystem;

std::string CkptName(uint64_t version) {
  return absl::StrFormat("ckpt-%012d.pt", version);
}

// How long the actors may take to stream to a restarted learner, seconds.
// An actor's two streams retry with a backoff of up to 5 s
// (ChannelHints.reconnect_backoff_max), and a retry can also meet gRPC's own
// reconnect timer (same cap) or, on a loaded machine, a connection attempt
// that times out; once a stream reaches the new learner the session is
// unknown there, and the registration that follows goes through at once on
// the now-connected channel (1-2 ms in the actors' logs). On an idle machine
// it takes 2-7 s; on this 2-core box beside other builds 1.8-8.0 s over 8
// restarts (2026-12-07), and CI's run beside the sanitizer build saw 10.3 s.
// Capping gRPC's reconnect timer at 1 s did not lower the worst case there
// (6.5-8.7 s), so 15 s stays: two backoff maxima and some slack.
constexpr double kReconnectBound = 15.0;

// Seconds from `start` until every actor in `names` streams to the learner
// at `client` (a session of this learner that delivered chunks); -1 on
// timeout.
double WaitAllStreaming(LearnerClient& client, const std::vector<std::string>& names,
                        Clock::time_point start, double timeout, v1::LearnerStatus* st) {
  if (!client.WaitFor([&](const v1::LearnerStatus& s) { return AllStreaming(s, names); }, timeout,
                      st)) {
    return -1;
  }
  return SecondsSince(start);
}

TEST(LearnerCrashTest, KilledMidUpdateAndMidCheckpointResumesFromLastCompleteCheckpoint) {
  const std::string dir = MakeTempDir("faults_crash");
  const std::string ckpts = dir + "/checkpoints";
  const std::vector<std::string> names = {"a0", "a1", "a2", "a3"};

  // --- 1. Learner 1 dies (SIGKILL) right after its 20th PPO update changed
  // the model: the new version exists only in its memory. Each update is
  // delayed 150 ms so that all four actors have registered before that (the
  // fused engine trains 20 updates from the first actor alone in ~0.2 s, and
  // the test is about actors that reconnect).
  std::vector<std::string> l1_args =
      LearnerArgs(dir, "127.0.0.1:0",
                  {"--checkpoint-every-updates", "4", "--checkpoint-every-seconds", "0",
                   "--keep-checkpoints", "10"});
  l1_args.insert(l1_args.begin(), "PROXIMA_DELAYPOINT=learner.update:150");
  Learner l1 = StartLearner(l1_args, dir + "/learner1.log", "learner.update_applied:20");
  ASSERT_FALSE(l1.address.empty());
  const std::string address = l1.address;
  std::vector<std::unique_ptr<ChildProcess>> actors = StartActors(address, names, dir);
  ASSERT_EQ(l1.process->Wait(120), 128 + SIGKILL) << ReadWholeFile(dir + "/learner1.log");
  EXPECT_NE(ReadWholeFile(dir + "/learner1.log").find("failpoint learner.update_applied"),
            std::string::npos);
  for (uint64_t v : {4, 8, 12, 16}) EXPECT_TRUE(fs::exists(ckpts + "/" + CkptName(v))) << v;
  EXPECT_FALSE(fs::exists(ckpts + "/" + CkptName(20)));

  // --- 2. Learner 2 resumes on the same address from ckpt 16, checkpoints
  // every 6 s, and dies between writing its second checkpoint's temp file and
  // the rename.
  Clock::time_point t2 = Clock::now();
  Learner l2 = StartLearner(
      LearnerArgs(dir, address,
                  {"--resume", dir, "--checkpoint-every-updates", "0",
                   "--checkpoint-every-seconds", "6", "--keep-checkpoints", "10"}),
      dir + "/learner2.log", "checkpoint.before_rename:2");
  ASSERT_EQ(l2.address, address);
  const double l2_startup = SecondsSince(t2);
  t2 = Clock::now();  // from "listening"
  EXPECT_NE(ReadWholeFile(dir + "/learner2.log")
                .find(absl::StrCat(CkptName(16), " at version 16")),
            std::string::npos)
      << ReadWholeFile(dir + "/learner2.log");
  LearnerClient c2(address);
  v1::LearnerStatus st;
  const double reconnect2 = WaitAllStreaming(c2, names, t2, 30, &st);
  ASSERT_GE(reconnect2, 0) << st.DebugString();
  EXPECT_LE(reconnect2, kReconnectBound);
  EXPECT_GE(st.policy_version(), 16u);
  EXPECT_GE(st.updates(), 16u);  // counters continue from the checkpoint
  // Actor ids survive the restart (the name → id map is in the checkpoint).
  for (size_t i = 0; i < names.size(); ++i) {
    const v1::ActorInfo* a = FindActor(st, names[i]);
    ASSERT_NE(a, nullptr);
    EXPECT_LT(a->actor_id(), 4u);
  }
  ASSERT_EQ(l2.process->Wait(60), 128 + SIGKILL) << ReadWholeFile(dir + "/learner2.log");
  EXPECT_NE(ReadWholeFile(dir + "/learner2.log").find("failpoint checkpoint.before_rename"),
            std::string::npos);
  // Exactly one temp file, for a version above every complete checkpoint.
  uint64_t newest_complete = 0;
  std::string tmp;
  for (const auto& e : fs::directory_iterator(ckpts)) {
    const std::string name = e.path().filename().string();
    uint64_t v = 0;
    if (std::sscanf(name.c_str(), "ckpt-%12lu.pt", &v) == 1) {
      if (name.size() == CkptName(0).size()) newest_complete = std::max(newest_complete, v);
      if (name.find(".tmp") != std::string::npos) tmp = name;
    }
  }
  ASSERT_FALSE(tmp.empty()) << "no temp file left by the kill";
  ASSERT_GT(newest_complete, 16u) << "learner 2 wrote no complete checkpoint";
  uint64_t tmp_version = 0;
  std::sscanf(tmp.c_str(), "ckpt-%12lu.pt", &tmp_version);
  EXPECT_GT(tmp_version, newest_complete);
  EXPECT_GT(fs::file_size(ckpts + "/" + tmp), 0u);
  // A torn checkpoint under a real name and a newer version (as a non-atomic
  // writer or a disk fault would leave): half of the newest complete one.
  const std::string torn = ckpts + "/" + CkptName(newest_complete + 1000);
  {
    const std::string bytes = ReadWholeFile(ckpts + "/" + CkptName(newest_complete));
    std::ofstream out(torn, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }

  // --- 3. Learner 3 resumes: skips the torn file and the temp file, loads the
  // newest complete checkpoint.
  Clock::time_point t3 = Clock::now();
  Learner l3 = StartLearner(LearnerArgs(dir, address, {"--resume", dir}),
                            dir + "/learner3.log");
  ASSERT_EQ(l3.address, address);
  t3 = Clock::now();
  const std::string log3 = ReadWholeFile(dir + "/learner3.log");
  EXPECT_NE(log3.find(absl::StrCat("skipping ")), std::string::npos) << log3;
  EXPECT_NE(log3.find(CkptName(newest_complete + 1000)), std::string::npos) << log3;
  EXPECT_NE(log3.find(absl::StrCat(CkptName(newest_complete), " at version ", newest_complete)),
            std::string::npos)
      << log3;
  LearnerClient c3(address);
  const double reconnect3 = WaitAllStreaming(c3, names, t3, 30, &st);
  ASSERT_GE(reconnect3, 0) << st.DebugString();
  EXPECT_LE(reconnect3, kReconnectBound);
  EXPECT_GE(st.policy_version(), newest_complete);
  const uint64_t v3 = st.policy_version();
  ASSERT_TRUE(c3.WaitFor([&](const v1::LearnerStatus& s) { return s.policy_version() >= v3 + 5; },
                         30, &st));

  // Every actor streamed to learner 2 (checked above), lost that session to
  // its kill and registered again with learner 3. (An actor may have missed
  // learner 1, which can reach its 20th update before the last actor starts.)
  for (const std::string& n : names) {
    const std::string log = ReadWholeFile(dir + "/" + n + ".log");
    EXPECT_GE(CountOccurrences(log, "registered with"), 2) << n << ":\n" << log;
    EXPECT_GE(CountOccurrences(log, "session lost"), 1) << n;
  }

  // --- 4. No chunk trained twice: the actors stop (final chunk, all acked);
  // for each actor's last session, the chunks the learner processed equal the
  // distinct chunks the actor sent.
  for (auto& a : actors) a->Signal(SIGTERM);
  for (auto& a : actors) EXPECT_EQ(a->Wait(30), 0);
  ASSERT_TRUE(c3.WaitFor(
      [&](const v1::LearnerStatus& s) { return s.actors_connected() == 0; }, 10, &st));
  for (const std::string& n : names) {
    const ActorExit e = ParseActorExit(ReadWholeFile(dir + "/" + n + ".log"));
    ASSERT_TRUE(e.found) << n;
    const v1::ActorInfo* a = FindActor(st, n);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->session_id(), e.session_id) << n;
    EXPECT_EQ(a->chunks(), e.chunks_in_session) << n;
    EXPECT_EQ(a->state(), v1::ACTOR_STATE_FINISHED) << n;
  }
  EXPECT_EQ(AccountingError(st), "") << DropSummary(st);
  l3.process->Signal(SIGTERM);
  EXPECT_EQ(l3.process->Wait(30), 0);
  // Its final checkpoint removed the temp file learner 2's kill left.
  EXPECT_FALSE(fs::exists(ckpts + "/" + tmp)) << tmp;
  std::printf(
      "learner 2 start-up %.2f s; actors streaming to learner 2 %.2f s and to learner 3 %.2f s "
      "after 'listening'; resumed versions 16 and %llu; learner 3: %s\n",
      l2_startup, reconnect2, reconnect3, static_cast<unsigned long long>(newest_complete),
      DropSummary(st).c_str());
}

}  // namespace
}  // namespace proxima::faults

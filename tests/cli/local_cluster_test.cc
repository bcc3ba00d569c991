// The local-cluster supervisor (learner/cli/local_cluster.h) with stand-in
// learner and actor programs: small shell scripts that record their
// arguments and signals in the run directory. They meet through a FIFO (each
// actor writes its name; the learner reads one line per actor), so nothing
// here waits by sleeping. The fake learner "listens" on 127.0.0.1:1, where
// nothing answers; the progress poll just fails quietly.
#include "learner/cli/local_cluster.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/listening_line.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// FAKE_LEARNER: finish (exit $FAKE_EXIT once every actor checked in),
// interrupt (SIGTERM its parent — the launcher — once every actor checked in,
// then wait for SIGTERM), wait (wait for SIGTERM), fail (exit 2 at once).
constexpr char kFakeLearner[] = R"(#!/bin/sh
run=""; prev=""
for a in "$@"; do [ "$prev" = "--run-dir" ] && run="$a"; prev="$a"; done
printf '%s\n' "$@" > "$run/learner.args"
if [ "$FAKE_LEARNER" = fail ]; then echo "boom: bad config" >&2; exit 2; fi
stop() {
  : > "$run/learner.term"
  kill "$sp" 2>/dev/null
  echo '{"env": "Fake-v0", "total_env_steps": 7}' > "$run/summary.json"
  exit 0
}
trap stop TERM
# Started before the address is printed, so before any SIGTERM can come.
sleep 600 & sp=$!
exec 3<>"$run/fifo"
echo "a banner line"
echo "proxima-learner: listening on 127.0.0.1:1"
if [ "$FAKE_LEARNER" != wait ]; then
  i=0
  while [ "$i" -lt "$FAKE_ACTORS" ]; do read -r name <&3; i=$((i + 1)); done
fi
if [ "$FAKE_LEARNER" = finish ]; then
  kill "$sp"
  echo '{"env": "Fake-v0", "total_env_steps": 7}' > "$run/summary.json"
  exit "${FAKE_EXIT:-0}"
fi
[ "$FAKE_LEARNER" = interrupt ] && kill -TERM "$PPID"
wait "$sp"
)";

// FAKE_ACTOR: ok, flaky (the first run of each actor exits 1), usage (exit 2).
// On SIGTERM it records whether the learner had already been told to stop.
constexpr char kFakeActor[] = R"(#!/bin/sh
name=""; prev=""
for a in "$@"; do [ "$prev" = "--name" ] && name="$a"; prev="$a"; done
run="$FAKE_RUN"
printf '%s\n' "$@" > "$run/$name.args"
[ "$FAKE_ACTOR" = usage ] && exit 2
if [ "$FAKE_ACTOR" = flaky ] && [ ! -e "$run/$name.failed" ]; then
  : > "$run/$name.failed"; exit 1
fi
stop() {
  if [ -e "$run/learner.term" ]; then echo after; else echo before; fi >> "$run/$name.term"
  kill "$sp" 2>/dev/null
  exit 0
}
trap stop TERM
sleep 600 & sp=$!
echo "$name" > "$run/fifo"
wait "$sp"
)";

class LocalClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("local_cluster");
    run_ = dir_ + "/run";
    ASSERT_TRUE(MakeDirs(run_).ok());
    ASSERT_EQ(::mkfifo((run_ + "/fifo").c_str(), 0600), 0);
    WriteScript(dir_ + "/fake-learner", kFakeLearner);
    WriteScript(dir_ + "/fake-actor", kFakeActor);
    options_.env_id = "Fake-v0";
    options_.total_steps = 1000;
    options_.num_envs = 8;
    options_.actors = 2;
    options_.run_dir = run_;
    options_.quiet = true;
    options_.learner_flags = {"--total-steps=1000", "--ent-coef=0.02"};
    options_.learner_binary = dir_ + "/fake-learner";
    options_.actor_binary = dir_ + "/fake-actor";
    options_.learner_grace = absl::Seconds(20);
    options_.actor_grace = absl::Seconds(5);
    ::setenv("FAKE_RUN", run_.c_str(), 1);
    ::setenv("FAKE_ACTORS", "2", 1);
    ::setenv("FAKE_ACTOR", "ok", 1);
    ::setenv("FAKE_EXIT", "0", 1);
  }

  static void WriteScript(const std::string& path, const char* text) {
    std::ofstream(path) << text;
    ASSERT_EQ(::chmod(path.c_str(), 0755), 0);
  }

  std::vector<std::string> Lines(const std::string& name) const {
    absl::StatusOr<std::string> text = ReadFile(run_ + "/" + name);
    if (!text.ok()) return {};
    return absl::StrSplit(*text, '\n', absl::SkipEmpty());
  }
  bool Exists(const std::string& name) const {
    return std::filesystem::exists(run_ + "/" + name);
  }

  std::string dir_, run_;
  LocalClusterOptions options_;
};

TEST_F(LocalClusterTest, LearnerGetsForwardedFlagsAndActorsTheirShare) {
  ::setenv("FAKE_LEARNER", "finish", 1);
  EXPECT_EQ(RunLocalCluster(options_), 0);
  EXPECT_THAT(Lines("learner.args"),
              ElementsAre("--min-actors", "2", "--total-steps=1000", "--ent-coef=0.02",
                          "--listen", "127.0.0.1:0",
                          "--run-dir", run_, "--quiet"));
  EXPECT_THAT(Lines("actor-0.args"), ElementsAre("--learner", "127.0.0.1:1", "--name", "actor-0",
                                                 "--num-envs", "4"));
  EXPECT_THAT(Lines("actor-1.args"), ElementsAre("--learner", "127.0.0.1:1", "--name", "actor-1",
                                                 "--num-envs", "4"));
  // The learner finished by itself; the actors were then asked to stop.
  EXPECT_FALSE(Exists("learner.term"));
  EXPECT_THAT(Lines("actor-0.term"), ElementsAre("before"));
  EXPECT_THAT(Lines("actor-1.term"), ElementsAre("before"));
  // Lines before the address line and after it land in the learner's log.
  absl::StatusOr<std::string> log = ReadFile(run_ + "/logs/learner.log");
  ASSERT_TRUE(log.ok());
  EXPECT_THAT(*log, HasSubstr("a banner line\nproxima-learner: listening on 127.0.0.1:1\n"));
  EXPECT_TRUE(std::filesystem::exists(run_ + "/logs/actor-0.log"));
}

TEST_F(LocalClusterTest, ExitStatusIsTheLearners) {
  ::setenv("FAKE_LEARNER", "finish", 1);
  ::setenv("FAKE_EXIT", "3", 1);
  EXPECT_EQ(RunLocalCluster(options_), 3);
}

TEST_F(LocalClusterTest, FailedActorIsRestarted) {
  ::setenv("FAKE_LEARNER", "finish", 1);
  ::setenv("FAKE_ACTOR", "flaky", 1);
  // The learner only finishes once both actors checked in, which each does
  // only on its second run.
  EXPECT_EQ(RunLocalCluster(options_), 0);
  EXPECT_TRUE(Exists("actor-0.failed"));
  EXPECT_TRUE(Exists("actor-1.failed"));
  absl::StatusOr<std::string> log = ReadFile(run_ + "/logs/actor-0.log");
  ASSERT_TRUE(log.ok());
  // The launcher writes one "==>" header per start.
  const std::vector<std::string> starts = absl::StrSplit(*log, "==> proxima train:");
  EXPECT_EQ(starts.size(), 3u) << *log;
}

TEST_F(LocalClusterTest, InterruptStopsTheLearnerFirstThenTheActors) {
  ::setenv("FAKE_LEARNER", "interrupt", 1);
  EXPECT_EQ(RunLocalCluster(options_), 0);
  EXPECT_TRUE(Exists("learner.term"));
  EXPECT_THAT(Lines("actor-0.term"), ElementsAre("after"));
  EXPECT_THAT(Lines("actor-1.term"), ElementsAre("after"));
}

TEST_F(LocalClusterTest, ActorsThatCannotStartEndTheRun) {
  ::setenv("FAKE_LEARNER", "wait", 1);
  ::setenv("FAKE_ACTOR", "usage", 1);
  EXPECT_EQ(RunLocalCluster(options_), 1);
  EXPECT_TRUE(Exists("learner.term"));
  EXPECT_FALSE(Exists("actor-0.failed"));
}

TEST_F(LocalClusterTest, LearnerThatFailsToStartGivesItsStatus) {
  ::setenv("FAKE_LEARNER", "fail", 1);
  EXPECT_EQ(RunLocalCluster(options_), 2);
  absl::StatusOr<std::string> log = ReadFile(run_ + "/logs/learner.log");
  ASSERT_TRUE(log.ok());
  EXPECT_THAT(*log, HasSubstr("boom: bad config"));
  EXPECT_FALSE(Exists("actor-0.args"));
}

TEST_F(LocalClusterTest, MissingBinaryIsAClearError) {
  options_.learner_binary = dir_ + "/no-such-learner";
  EXPECT_EQ(RunLocalCluster(options_), 1);
}

// `proxima train --engine E` reaches the actors as their inference engine
// (as the in-process trainer follows it); auto, the actor's own default, and
// one thread add nothing.
TEST(LocalClusterHelpersTest, ActorArgsCarryThreadsAndEngine) {
  LocalClusterOptions o;
  o.num_envs = 8;
  o.actors = 2;
  EXPECT_THAT(ActorArgs(o, "127.0.0.1:9", "actor-1"),
              ElementsAre("--learner", "127.0.0.1:9", "--name", "actor-1", "--num-envs", "4"));
  o.actor_engine = "auto";
  EXPECT_EQ(ActorArgs(o, "127.0.0.1:9", "actor-1").size(), 6u);
  o.actor_engine = "torch";
  o.actor_threads = 2;
  EXPECT_THAT(ActorArgs(o, "127.0.0.1:9", "actor-0"),
              ElementsAre("--learner", "127.0.0.1:9", "--name", "actor-0", "--num-envs", "4",
                          "--threads", "2", "--engine", "torch"));
}

TEST(LocalClusterHelpersTest, ActorShareAndListeningLine) {
  EXPECT_EQ(ActorNumEnvs(8, 2), 4);
  EXPECT_EQ(ActorNumEnvs(7, 2), 3);
  EXPECT_EQ(ActorNumEnvs(1, 4), 1);
  auto addr =
      ParseListeningLine(kLearnerProgram, "proxima-learner: listening on 127.0.0.1:4567\n");
  ASSERT_TRUE(addr.ok());
  EXPECT_EQ(*addr, "127.0.0.1:4567");
  EXPECT_FALSE(ParseListeningLine(kLearnerProgram, "proxima-learner: starting").ok());
  EXPECT_FALSE(ParseListeningLine(kLearnerProgram, "proxima-learner: listening on ").ok());
}

}  // namespace
}  // namespace proxima

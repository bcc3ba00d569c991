// `proxima` against the real binaries: the learner commands on a running
// proxima-learner (started on port 0, its address read from its first stdout
// line), and `proxima train` as a local cluster of proxima-learner and
// proxima-actor processes — a short run, an interrupted run, and a launcher
// killed outright (its children must not outlive it).
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/listening_line.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/child_process.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Proxima() { return BinPath("proxima"); }

// One learner, no actors, shared by the learner-command tests: nothing
// trains, so its counters stay put while we look.
class LearnerCommandsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    run_dir_ = new std::string(MakeTempDir("cli_learner"));
    learner_ = new ChildProcess(
        {BinPath("proxima-learner"), "--env", "CartPole-v1", "--listen", "127.0.0.1:0",
         "--run-dir", *run_dir_, "--quiet", "--total-steps", "50000000"},
        *run_dir_ + "/learner.log");
    const absl::StatusOr<std::string> address =
        learner_->ReadListeningAddress(kLearnerProgram, 120);
    address_ = new std::string(address.ok() ? *address : std::string());
  }
  static void TearDownTestSuite() {
    learner_->Signal(SIGTERM);
    EXPECT_EQ(learner_->Wait(120), 0) << "the learner should stop cleanly on SIGTERM";
    delete learner_;
    delete address_;
    delete run_dir_;
  }
  void SetUp() override {
    ASSERT_FALSE(address_->empty()) << "no address from the learner; see " << *run_dir_
                                    << "/learner.log";
  }
  static CommandResult Cli(const std::string& args) {
    return RunCommand(absl::StrCat(Proxima(), " ", args, " --learner ", *address_));
  }

  static std::string* run_dir_;
  static std::string* address_;
  static ChildProcess* learner_;
};
std::string* LearnerCommandsTest::run_dir_ = nullptr;
std::string* LearnerCommandsTest::address_ = nullptr;
ChildProcess* LearnerCommandsTest::learner_ = nullptr;

TEST_F(LearnerCommandsTest, StatusJsonDescribesTheRun) {
  CommandResult r = Cli("status --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["env_id"], "CartPole-v1");
  EXPECT_EQ(j["serving_state"], "SERVING_STATE_SERVING");
  EXPECT_EQ(j["mode"], "TRAINING_MODE_ASYNC");
  EXPECT_TRUE(j["hyperparameters"].contains("learning_rate")) << j.dump(2);
  EXPECT_EQ(j["actors_connected"], 0);
  EXPECT_EQ(std::filesystem::canonical(j["run_dir"].get<std::string>()),
            std::filesystem::canonical(*run_dir_));
}

TEST_F(LearnerCommandsTest, StatusTextAndActors) {
  CommandResult r = Cli("status");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("policy version"));
  EXPECT_THAT(r.output, ::testing::ContainsRegex("queue +0 / [0-9]+ transitions"));
  EXPECT_THAT(r.output, HasSubstr("learning_rate="));
  EXPECT_THAT(r.output, Not(HasSubstr("last update")));  // none yet
  CommandResult a = Cli("actors");
  ASSERT_EQ(a.exit_code, 0) << a.output;
  EXPECT_THAT(a.output, HasSubstr("0 actors"));
}

TEST_F(LearnerCommandsTest, RunDirStandsInForTheAddress) {
  CommandResult r = RunCommand(Proxima() + " health --run-dir " + *run_dir_);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "SERVING\n");
}

TEST_F(LearnerCommandsTest, PauseAndResume) {
  CommandResult p = Cli("pause");
  ASSERT_EQ(p.exit_code, 0) << p.output;
  EXPECT_THAT(p.output, HasSubstr("paused at policy version"));
  CommandResult s = Cli("status --json");
  ASSERT_EQ(s.exit_code, 0) << s.output;
  EXPECT_EQ(nlohmann::json::parse(s.output)["paused"], true);
  CommandResult again = Cli("pause");
  EXPECT_THAT(again.output, HasSubstr("already paused"));
  CommandResult r = Cli("resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("resumed at policy version"));
  EXPECT_EQ(nlohmann::json::parse(Cli("status --json").output)["paused"], false);
}

TEST_F(LearnerCommandsTest, SetAppliesValidValuesAndRefusesBadOnes) {
  CommandResult ok = Cli("set ent-coef=0.02");
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_THAT(ok.output, HasSubstr("ent_coef = 0.02"));
  const nlohmann::json j = nlohmann::json::parse(Cli("status --json").output);
  EXPECT_EQ(j["hyperparameters"]["ent_coef"], "0.02") << j["hyperparameters"].dump();

  CommandResult unknown = Cli("set no_such_key=1");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_THAT(unknown.output, HasSubstr("proxima set: no_such_key:"));
  CommandResult invalid = Cli("set clip-coef=-1 learning_rate=0.001");
  EXPECT_EQ(invalid.exit_code, 2) << invalid.output;
  EXPECT_THAT(invalid.output, HasSubstr("proxima set: clip_coef:"));
  // All or nothing: the valid key in the refused request was not applied.
  const nlohmann::json after = nlohmann::json::parse(Cli("status --json").output);
  EXPECT_EQ(after["hyperparameters"]["learning_rate"], j["hyperparameters"]["learning_rate"]);
  CommandResult malformed = Cli("set learning_rate");
  EXPECT_EQ(malformed.exit_code, 2) << malformed.output;
}

TEST_F(LearnerCommandsTest, CheckpointWritesAFile) {
  CommandResult r = Cli("checkpoint --tag smoke --timeout 60");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("checkpoint written: "));
  std::string path = r.output.substr(r.output.find(": ") + 2);
  path = path.substr(0, path.find(" (version"));
  EXPECT_TRUE(std::filesystem::exists(path)) << path;
  EXPECT_TRUE(absl::EndsWith(path, "-smoke.pt")) << path;  // the tag names the file
  CommandResult bad = Cli("checkpoint --tag 'a/b'");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_THAT(bad.output, HasSubstr("checkpoint tag 'a/b' must be"));
}

TEST(LearnerCommandsBadInputTest, MissingAddressIsAUsageError) {
  CommandResult r = RunCommand(Proxima() + " status");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--learner HOST:PORT"));
  CommandResult t = RunCommand(Proxima() + " status --learner 127.0.0.1:1 --timeout 0");
  EXPECT_EQ(t.exit_code, 2) << t.output;
}

// `set` with no KEY=VALUE is `set` used wrongly, not an unknown command.
TEST(LearnerCommandsBadInputTest, SetWithoutAssignmentsNamesWhatIsMissing) {
  CommandResult r = RunCommand(Proxima() + " set --learner 127.0.0.1:1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("proxima set: error: set needs at least one KEY=VALUE"));
  EXPECT_THAT(r.output, Not(HasSubstr("unknown command")));
}

// Children of `parent` (from /proc/PID/stat: "pid (comm) state ppid ...").
std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    absl::StatusOr<std::string> stat = ReadFile(entry.path().string() + "/stat");
    if (!stat.ok()) continue;
    const size_t paren = stat->rfind(')');  // comm may contain spaces
    if (paren == std::string::npos) continue;
    const std::vector<std::string> fields =
        absl::StrSplit(stat->substr(paren + 2), ' ', absl::SkipEmpty());
    pid_t ppid = 0;
    if (fields.size() > 1 && absl::SimpleAtoi(fields[1], &ppid) && ppid == parent) {
      pids.push_back(pid);
    }
  }
  return pids;
}

// `proxima train` with stdout and stderr on one pipe (the shell execs, so the
// pid is the launcher's), read until the launcher reports the learner (a
// line it prints unless --quiet).
struct Launch {
  std::unique_ptr<ChildProcess> process;
  std::string address;
  std::string output;
};

Launch StartTrain(const std::string& dir, const std::string& flags) {
  Launch l;
  l.process = std::make_unique<ChildProcess>(std::vector<std::string>{
      "/bin/sh", "-c",
      absl::StrCat("exec ", Proxima(), " train --env CartPole-v1 --actors 2 --run-dir ", dir,
                   " ", flags, " 2>&1")});
  constexpr char kMarker[] = "proxima train: learner at ";
  for (std::string line = l.process->ReadLine(120);; line = l.process->ReadLine(120)) {
    l.output += line + "\n";
    if (absl::StartsWith(line, kMarker)) {
      l.address = line.substr(sizeof(kMarker) - 1);
      l.address = l.address.substr(0, l.address.find(','));
      break;
    }
    if (line.empty()) break;  // EOF or timeout
  }
  return l;
}

std::string Drain(ChildProcess& p) {
  std::string out;
  for (std::string line = p.ReadLine(300); !line.empty(); line = p.ReadLine(300)) {
    out += line + "\n";
  }
  return out;
}

TEST(TrainTest, ShortRunWritesSummaryAndLogs) {
  const std::string dir = MakeTempDir("cli_train");
  CommandResult r = RunCommand(absl::StrCat(Proxima(),
                                            " train --env CartPole-v1 --actors 2 --seed 2 "
                                            "--mode sync --total-steps 4096 --quiet --run-dir ",
                                            dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("run directory: " + dir));
  EXPECT_THAT(r.output, HasSubstr("\"total_env_steps\""));
  // Printed with 5 significant digits, for reading (summary.json keeps all).
  EXPECT_THAT(r.output, Not(::testing::ContainsRegex("[0-9]\\.[0-9]{10}"))) << r.output;
  const nlohmann::json s = LoadJsonOrDie(dir + "/summary.json");
  EXPECT_GE(s["total_env_steps"].get<int64_t>(), 4096);
  // Sync mode's first round waits for both actors (the launcher passes
  // --min-actors 2), so both registered even in so short a run.
  EXPECT_EQ(s["actors"], 2);
  EXPECT_EQ(s["mode"], "sync");
  for (const char* f : {"/logs/learner.log", "/logs/actor-0.log", "/logs/actor-1.log",
                        "/config.json", "/metrics.csv", "/learner.addr"}) {
    EXPECT_TRUE(std::filesystem::exists(dir + f)) << f;
  }
  // CartPole's preset has 4 env columns: 2 per actor.
  absl::StatusOr<std::string> actor_log = ReadFile(dir + "/logs/actor-1.log");
  ASSERT_TRUE(actor_log.ok());
  EXPECT_THAT(*actor_log, HasSubstr("--name actor-1 --num-envs 2"));
}

TEST(TrainTest, BadFlagsExitTwoBeforeAnythingStarts) {
  const std::string dir = MakeTempDir("cli_badflags");
  for (const char* flags : {"--gamma 2", "--actors 0", "--mode lockstep", "--no-such-flag"}) {
    CommandResult r = RunCommand(absl::StrCat(Proxima(), " train --env CartPole-v1 --quiet ",
                                              flags, " --run-dir ", dir));
    EXPECT_EQ(r.exit_code, 2) << flags << "\n" << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/logs"));
}

// A flagfile may mix launcher flags (--actors) with learner flags; only the
// learner's reach the learner (which would reject --actors).
TEST(TrainTest, FlagfileMixesLauncherAndLearnerFlags) {
  const std::string dir = MakeTempDir("cli_flagfile");
  ASSERT_TRUE(WriteFileAtomic(dir + "/run.flags",
                              "# one actor, sync\n--actors=1\n--mode=sync\n--total-steps=2048\n")
                  .ok());
  CommandResult r = RunCommand(absl::StrCat(Proxima(), " train --env CartPole-v1 --quiet --flagfile ",
                                            dir, "/run.flags --run-dir ", dir, "/run"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json s = LoadJsonOrDie(dir + "/run/summary.json");
  EXPECT_EQ(s["actors"], 1);
  EXPECT_EQ(s["mode"], "sync");
  EXPECT_FALSE(std::filesystem::exists(dir + "/run/logs/actor-1.log"));
  // One actor runs all of CartPole's 4 env columns.
  absl::StatusOr<std::string> actor_log = ReadFile(dir + "/run/logs/actor-0.log");
  ASSERT_TRUE(actor_log.ok());
  EXPECT_THAT(*actor_log, HasSubstr("--num-envs 4"));
}

TEST(TrainTest, InterruptCheckpointsAndStopsEveryProcess) {
  const std::string dir = MakeTempDir("cli_interrupt");
  Launch l = StartTrain(dir, "--seed 4 --total-steps 50000000");
  ASSERT_FALSE(l.address.empty()) << l.output;
  // Training is under way: two updates arrive on a watch.
  CommandResult w = RunCommand(Proxima() + " watch --json --count 2 --run-dir " + dir);
  ASSERT_EQ(w.exit_code, 0) << w.output;
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(w.output, '\n', absl::SkipEmpty())).size(),
            2u)
      << w.output;
  const std::vector<pid_t> children = ChildrenOf(l.process->pid());
  EXPECT_EQ(children.size(), 3u);  // the learner and two actors

  l.process->Signal(SIGINT);
  const std::string rest = Drain(*l.process);
  EXPECT_EQ(l.process->Wait(120), 0) << rest;
  EXPECT_THAT(rest, HasSubstr("run directory: " + dir));
  absl::StatusOr<std::string> log = ReadFile(dir + "/logs/learner.log");
  ASSERT_TRUE(log.ok());
  EXPECT_THAT(*log, HasSubstr("SIGTERM"));
  EXPECT_FALSE(std::filesystem::is_empty(dir + "/checkpoints"));
  // The launcher reaped every child before exiting.
  for (pid_t p : children) EXPECT_NE(::kill(p, 0), 0) << "pid " << p << " outlived the launcher";
}

TEST(TrainTest, ChildrenDoNotOutliveAKilledLauncher) {
  const std::string dir = MakeTempDir("cli_killed");
  Launch l = StartTrain(dir, "--seed 5 --total-steps 50000000");
  ASSERT_FALSE(l.address.empty()) << l.output;
  const std::vector<pid_t> children = ChildrenOf(l.process->pid());
  ASSERT_EQ(children.size(), 3u);  // the learner and two actors
  std::vector<int> pidfds;
  for (pid_t p : children) {
    // Via syscall(): bookworm's <sys/pidfd.h> lacks extern "C".
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, p, 0));
    if (fd >= 0) pidfds.push_back(fd);
  }
  l.process->Signal(SIGKILL);
  EXPECT_EQ(l.process->Wait(30), 128 + SIGKILL);
  // A pidfd becomes readable when its process ends: wait for each (the
  // learner gets SIGTERM and may checkpoint first), bounded.
  for (int fd : pidfds) {
    pollfd p{fd, POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 60000), 1) << "a child outlived the launcher";
    ::close(fd);
  }
}

}  // namespace
}  // namespace proxima

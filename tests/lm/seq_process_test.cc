// A sequence run as users start it (docs/sequence-policies.md "Actors
// generating"): `proxima lm sft` writes a tiny checkpoint, a real
// `proxima-learner --env lm/Addition-v0 --init-checkpoint` process serves it,
// two real `proxima-actor` processes register (protocol revision 2), generate
// and stream sequence chunks; the learner's Monitor.GetStatus must show
// chunks accepted, none rejected, and its recomputed log-probs within 1e-4
// of the actors' (same weights). Then SIGTERM stops every process with
// status 0. With --algo grpo the learner trains and the actor follows its
// versions. Bad learner command lines exit 2 naming the flag. `proxima
// train --env lm/...` runs the same as a local cluster to a stop, writes its
// run directory and resumes from it.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <algorithm>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/listening_line.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proxima/v1/monitor_service.grpc.pb.h"
#include "tests/lm/lm_test_commands.h"
#include "tests/support/child_process.h"
#include "tests/support/learner_status.h"
#include "tests/support/poll.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::testing::HasSubstr;

std::optional<v1::LearnerStatus> GetStatus(v1::Monitor::Stub* stub) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  v1::GetStatusRequest req;
  v1::LearnerStatus st;
  if (!stub->GetStatus(&ctx, req, &st).ok()) return std::nullopt;
  return st;
}

// The tiny SFT run's directory (its newest checkpoint is the start).
std::string TinySftRun() { return lm_testing::TinySftRun("seq_process_sft"); }

TEST(SeqProcessTest, LearnerAndActorProcessesGenerateAcceptAndStopCleanly) {
  const std::string sft = TinySftRun();
  const std::string dir = MakeTempDir("seq_process");
  ChildProcess learner({BinPath("proxima-learner"), "--env", "lm/Addition-v0",
                        "--init-checkpoint", sft, "--listen", "127.0.0.1:0", "--group-size", "2",
                        "--prompts-per-chunk", "2", "--temperature", "0.8", "--top-k", "8",
                        "--max-new-tokens", "5"},
                       dir + "/learner.log");
  const absl::StatusOr<std::string> address = learner.ReadListeningAddress(kLearnerProgram, 60);
  ASSERT_TRUE(address.ok()) << address.status();
  std::vector<std::unique_ptr<ChildProcess>> actors;
  for (const std::string name : {"gen-a", "gen-b"}) {
    actors.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{BinPath("proxima-actor"), "--learner", *address, "--name", name},
        dir + "/" + name + ".log"));
  }
  auto stub =
      v1::Monitor::NewStub(grpc::CreateChannel(*address, grpc::InsecureChannelCredentials()));
  constexpr uint64_t kChunks = 20;
  v1::LearnerStatus last;
  const bool enough = testing::PollUntil(
      [&] {
        std::optional<v1::LearnerStatus> st = GetStatus(stub.get());
        if (st) last = *st;
        return st && st->sequences().chunks() >= kChunks && st->actors_connected() == 2;
      },
      absl::Seconds(20), absl::Milliseconds(50));
  ASSERT_TRUE(enough) << last.ShortDebugString();
  const v1::SequenceStatus& s = last.sequences();
  EXPECT_TRUE(s.rejected().empty()) << s.ShortDebugString();
  EXPECT_EQ(testing::DroppedTotal(last), 0u);
  EXPECT_EQ(s.sequences(), s.chunks() * 4);  // 2 prompts x 2 completions
  EXPECT_GT(s.tokens(), 0u);
  // The learner recomputes each completion with the weights it published,
  // at the temperature and top-k the chunk records: the ratio-1 check.
  EXPECT_LT(s.max_abs_log_prob_gap(), 1e-4);

  for (auto& a : actors) a->Signal(SIGTERM);
  for (auto& a : actors) EXPECT_EQ(a->Wait(20), 0);
  learner.Signal(SIGTERM);
  EXPECT_EQ(learner.Wait(20), 0);
}

// --algo grpo: the learner trains on every 2 chunks and publishes each new
// version to the actor process, which generates with it (its chunks' policy
// lag stays within --lm-max-policy-lag, so none is dropped for lag).
TEST(SeqProcessTest, TrainingLearnerPublishesVersionsTheActorGeneratesWith) {
  const std::string sft = TinySftRun();
  const std::string dir = MakeTempDir("seq_process_train");
  ChildProcess learner({BinPath("proxima-learner"), "--env", "lm/Addition-v0",
                        "--init-checkpoint", sft, "--listen", "127.0.0.1:0", "--group-size", "4",
                        "--prompts-per-chunk", "2", "--max-new-tokens", "5", "--algo", "grpo",
                        "--chunks-per-update", "2", "--lm-learning-rate", "1e-3",
                        "--lm-max-policy-lag", "8"},
                       dir + "/learner.log");
  const absl::StatusOr<std::string> address = learner.ReadListeningAddress(kLearnerProgram, 60);
  ASSERT_TRUE(address.ok()) << address.status();
  ChildProcess actor({BinPath("proxima-actor"), "--learner", *address, "--name", "gen"},
                     dir + "/actor.log");
  auto stub =
      v1::Monitor::NewStub(grpc::CreateChannel(*address, grpc::InsecureChannelCredentials()));
  v1::LearnerStatus last;
  const bool trained = testing::PollUntil(
      [&] {
        std::optional<v1::LearnerStatus> st = GetStatus(stub.get());
        if (st) last = *st;
        return st && st->sequences().updates() >= 5;
      },
      absl::Seconds(30), absl::Milliseconds(50));
  ASSERT_TRUE(trained) << last.ShortDebugString();
  EXPECT_EQ(last.sequences().algorithm(), "grpo");
  // The status may be read while the last update is being recorded: its
  // version and chunks may not show yet.
  const uint64_t updates = last.sequences().updates();
  EXPECT_GE(last.policy_version(), updates - 1);
  EXPECT_GE(last.chunks_trained(), 2 * (updates - 1));
  EXPECT_TRUE(last.sequences().rejected().empty());
  EXPECT_EQ(testing::Dropped(last, v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG), 0u);
  EXPECT_THAT(ReadFile(dir + "/learner.log").value_or(""), HasSubstr("update 1 (grpo): 2 chunks"));
  actor.Signal(SIGTERM);
  EXPECT_EQ(actor.Wait(20), 0);
  learner.Signal(SIGTERM);
  EXPECT_EQ(learner.Wait(20), 0);
}

TEST(SeqProcessTest, BadSequenceLearnerCommandLinesExit2NamingTheFlag) {
  const std::string dir = MakeTempDir("seq_process_bad");
  const std::string not_a_checkpoint = dir + "/garbage.pt";
  std::ofstream(not_a_checkpoint) << "not a checkpoint";
  const std::string learner = BinPath("proxima-learner") + " --listen 127.0.0.1:0 ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--env lm/Addition-v0 --learning-rate 0.1", "--learning-rate"},
      {"--env lm/Addition-v0 --mode sync", "--mode"},
      {"--env lm/Addition-v0 --group-size 0", "--group-size"},
      {"--env lm/Addition-v0 --temperature 0", "--temperature"},
      {"--env lm/Nope-v0", "--env"},
      {"--env lm/Addition-v0 --init-checkpoint " + not_a_checkpoint, "--init-checkpoint"},
      {"--env lm/Addition-v0 --init-checkpoint " + dir + "/missing", "--init-checkpoint"},
      {"--env lm/Addition-v0 --algo dpo", "--algo"},
      {"--env lm/Addition-v0 --chunks-per-update 2", "--chunks-per-update"},
      {"--env lm/Addition-v0 --algo grpo --chunks-per-update 0", "--chunks-per-update"},
      {"--env lm/Addition-v0 --algo ppo --lm-learning-rate 0", "--lm-learning-rate"},
      {"--env lm/Addition-v0 --algo grpo --loss-aggregation sum", "--loss-aggregation"},
      {"--env lm/Addition-v0 --algo grpo --mode lockstep", "--mode"},
      {"--env lm/Addition-v0 --algo grpo --mode sync --chunks-per-update 4",
       "--chunks-per-update"},
      {"--env lm/Addition-v0 --algo grpo --mode sync --lm-max-policy-lag 1",
       "--lm-max-policy-lag"},
      {"--env lm/Addition-v0 --algo grpo --min-actors 2", "--min-actors"},
      {"--env lm/Addition-v0 --algo grpo --sync-round-timeout 3", "--sync-round-timeout"},
  };
  for (const auto& [flags, named] : cases) {
    const CommandResult r = RunCommand(learner + flags + " 2>&1");
    EXPECT_EQ(r.exit_code, 2) << flags << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr(named)) << flags;
  }
}

// Lines of a text file, without empty ones.
std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// `proxima train` on lm/Addition-v0 from `sft` into `run` with 2 actors and
// small chunks (4 completions of 2 prompts, at most 5 tokens), then `flags`.
CommandResult TrainTiny(const std::string& sft, const std::string& run, const std::string& flags) {
  return RunCommand(BinPath("proxima") + " train --env lm/Addition-v0 --init-checkpoint " + sft +
                    " --actors 2 --group-size 4 --prompts-per-chunk 2 --max-new-tokens 5"
                    " --lm-learning-rate 1e-3 --quiet --run-dir " + run + " " + flags + " 2>&1");
}

// `proxima train --env lm/...` (learner/cli/seq_train_command.h): the local
// cluster trains 4 updates, evaluates at 2 and 4, writes the run files and
// stops by itself; `--resume DIR --lm-updates 6` continues to version 6 in
// the same directory, appending to metrics.csv.
TEST(SeqTrainTest, LocalClusterTrainsWritesTheRunAndResumes) {
  const std::string sft = TinySftRun();
  const std::string run = MakeTempDir("seq_train_run") + "/run";
  const CommandResult r = TrainTiny(sft, run,
                                    "--chunks-per-update 2 --lm-updates 4 --lm-eval-every 2"
                                    " --lm-eval-prompts 20");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json summary = LoadJsonOrDie(run + "/summary.json");
  EXPECT_EQ(summary["updates"], 4) << summary.dump(2);
  EXPECT_EQ(summary["algo"], "grpo");
  EXPECT_EQ(summary["held_out_version"], 4);
  EXPECT_TRUE(summary["held_out_accuracy"].is_number());
  EXPECT_TRUE(summary["held_out_accuracy_start"].is_number());
  EXPECT_GT(summary["tokens_trained"].get<double>(), 0);
  const nlohmann::json config = LoadJsonOrDie(run + "/config.json");
  EXPECT_EQ(config["kind"], "sequence");
  EXPECT_EQ(config["learner_flags"]["lm_updates"], "4");
  EXPECT_EQ(config["kl_beta"], 0.04);  // GRPO's default, as resolved (`proxima plot` reads it)
  EXPECT_EQ(config["run"]["actors"], 2);
  std::vector<std::string> rows = Lines(run + "/metrics.csv");
  ASSERT_EQ(rows.size(), 6u) << r.output;  // header, the start, 4 updates
  EXPECT_THAT(rows[0], HasSubstr("held_out_accuracy"));
  EXPECT_EQ(rows[1].substr(0, 2), "0,");  // the start: evaluated
  EXPECT_NE(rows[1].back(), ',');
  EXPECT_EQ(rows[2].back(), ',');  // update 1: no evaluation
  EXPECT_NE(rows[3].back(), ',');  // update 2: evaluated
  for (const char* v : {"000000000002", "000000000004"}) {
    EXPECT_TRUE(std::filesystem::exists(run + "/checkpoints/ckpt-" + v + ".pt")) << v;
  }
  EXPECT_THAT(r.output, HasSubstr("\"updates\": 4"));  // the launcher printed the summary
  bool events = false;
  for (const auto& entry : std::filesystem::directory_iterator(run)) {
    events |= entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0 &&
              entry.file_size() > 100;
  }
  EXPECT_TRUE(events) << "no TensorBoard event file in " << run;

  const CommandResult resumed = RunCommand(BinPath("proxima") + " train --resume " + run +
                                           " --lm-updates 6 --quiet 2>&1");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(LoadJsonOrDie(run + "/summary.json")["updates"], 6);
  EXPECT_EQ(LoadJsonOrDie(run + "/config.json")["learner_flags"]["lm_updates"], "4");
  rows = Lines(run + "/metrics.csv");
  ASSERT_EQ(rows.size(), 8u) << resumed.output;  // no second row 0
  EXPECT_EQ(rows[6].substr(0, 2), "5,");
  EXPECT_TRUE(std::filesystem::exists(run + "/checkpoints/ckpt-000000000006.pt"));
  // Resumed again with nothing left to do: it stops at once, no update more.
  const CommandResult again = RunCommand(BinPath("proxima") + " train --resume " + run +
                                         " --lm-updates 6 --quiet 2>&1");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(LoadJsonOrDie(run + "/summary.json")["updates"], 6);
  EXPECT_EQ(Lines(run + "/metrics.csv").size(), 8u);
  // The newest checkpoint is an ordinary sequence checkpoint.
  const CommandResult eval = RunCommand(BinPath("proxima") + " eval --checkpoint " + run +
                                        " --episodes 10 2>&1");
  EXPECT_EQ(eval.exit_code, 0) << eval.output;
}

// `proxima train --env lm/... --mode sync`: every update trains on one
// round, a chunk from each of the two actors at the current version (16
// sequences: 2 actors x 2 prompts x 4), so no chunk lags; config.json
// records the mode, which a resume keeps.
TEST(SeqTrainTest, SyncModeTrainsOneChunkPerActorPerUpdate) {
  const std::string sft = TinySftRun();
  const std::string run = MakeTempDir("seq_train_sync") + "/run";
  const CommandResult r =
      TrainTiny(sft, run, "--mode sync --lm-updates 3 --lm-eval-every 0 --lm-eval-prompts 10");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("one chunk per actor (sync)"));
  EXPECT_EQ(LoadJsonOrDie(run + "/config.json")["learner_flags"]["mode"], "sync");
  EXPECT_EQ(LoadJsonOrDie(run + "/summary.json")["updates"], 3);
  const std::vector<std::string> rows = Lines(run + "/metrics.csv");
  ASSERT_EQ(rows.size(), 5u) << r.output;  // header, the start, 3 updates
  const std::vector<std::string> header = absl::StrSplit(rows[0], ',');
  const auto column = [&](const std::string& name) {
    return std::find(header.begin(), header.end(), name) - header.begin();
  };
  for (size_t i = 2; i < rows.size(); ++i) {
    const std::vector<std::string> row = absl::StrSplit(rows[i], ',');
    // Sequences trained so far: 16 per update.
    EXPECT_EQ(row[column("sequences")], std::to_string(16 * (i - 1))) << rows[i];
    EXPECT_EQ(row[column("max_lag")], "0") << rows[i];
  }
  const CommandResult resumed = RunCommand(BinPath("proxima") + " train --resume " + run +
                                           " --lm-updates 4 --quiet 2>&1");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_THAT(resumed.output, HasSubstr("(sync)"));
  EXPECT_EQ(LoadJsonOrDie(run + "/summary.json")["updates"], 4);
}

TEST(SeqTrainTest, BadSequenceTrainCommandLinesExit2BeforeAnyProcessStarts) {
  const std::string sft = TinySftRun();
  const std::string dir = MakeTempDir("seq_train_bad");
  const std::string train = BinPath("proxima") + " train --run-dir " + dir + "/run ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--env lm/Addition-v0", "--init-checkpoint"},
      {"--env lm/Addition-v0 --init-checkpoint " + dir + "/missing", "--init-checkpoint"},
      {"--env lm/Addition-v0 --init-checkpoint " + sft + " --learning-rate 0.1",
       "--learning-rate"},
      {"--env lm/Addition-v0 --init-checkpoint " + sft + " --in-process", "--in-process"},
      {"--env lm/Addition-v0 --init-checkpoint " + sft + " --lm-updates -1", "--lm-updates"},
      {"--env lm/Addition-v0 --init-checkpoint " + sft + " --actors 0", "--actors"},
      {"--env=lm/Addition-v0 --init-checkpoint " + sft + " --algo dpo", "--algo"},
      {"--env lm/Addition-v0 --init-checkpoint " + sft + " --mode sync --chunks-per-update 4",
       "--chunks-per-update"},
      {"--resume " + dir + "/nothing-here", "--resume"},
  };
  for (const auto& [flags, named] : cases) {
    const CommandResult r = RunCommand(train + flags + " 2>&1");
    EXPECT_EQ(r.exit_code, 2) << flags << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr(named)) << flags;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/run/config.json"));
}

}  // namespace
}  // namespace proxima

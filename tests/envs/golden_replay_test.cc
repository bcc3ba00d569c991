#include "common/envs/golden_replay.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/envs/env.h"
#include "common/envs/registry.h"
#include "common/file_util.h"
#include "common/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/envs/golden_expect.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::testing::HasSubstr;

// test_util.h's StatusIs matcher does not compile with Abseil's types yet
// (internal_status is declared after the matcher), so errors are checked by hand.
template <typename T>
void ExpectError(const absl::StatusOr<T>& result, absl::StatusCode code,
                 const std::string& substring) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), code) << result.status();
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(substring));
}

std::string ClassicControlDir() { return GoldenDir() + "/classic_control"; }

// The reference data recorded from Gymnasium must replay with no mismatch.
TEST(GoldenReplayTest, EveryClassicControlCsvReplaysWithoutMismatch) {
  ExpectGoldenDirReplays(ClassicControlDir(), /*max_row_deviation=*/1e-5,
                         /*max_episode_deviation=*/1e-3);
}

// The first `n` lines (header included) of a golden file.
std::string GoldenHead(const std::string& env_id, int n) {
  auto text = ReadFile(ClassicControlDir() + "/" + env_id + ".csv");
  EXPECT_TRUE(text.ok()) << text.status();
  if (!text.ok()) return "";
  std::vector<std::string> lines = absl::StrSplit(*text, '\n');
  lines.resize(std::min<size_t>(lines.size(), n));
  return absl::StrJoin(lines, "\n") + "\n";
}

// Replaces cell `col` of line `line` (1-based) in CSV `text`.
std::string WithCell(const std::string& text, int line, int col, const std::string& value) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  std::vector<std::string> cells = absl::StrSplit(lines[line - 1], ',');
  cells[col] = value;
  lines[line - 1] = absl::StrJoin(cells, ",");
  return absl::StrJoin(lines, "\n");
}

TEST(GoldenReplayTest, DetectsAPerturbedObservationAndFlag) {
  const std::string dir = MakeTempDir("golden_bad");
  std::string csv = GoldenHead("Pendulum-v1", 4);  // header + 3 rows of episode 0
  ASSERT_FALSE(csv.empty());
  // Pendulum columns: episode,t,s0,s1,a0,reward,terminated,truncated,o0,o1,o2.
  csv = WithCell(csv, 3, 10, "7.5");  // o2 of the second row
  csv = WithCell(csv, 4, 6, "1");     // terminated on the third row
  ASSERT_TRUE(WriteFileAtomic(dir + "/Pendulum-v1.csv", csv).ok());
  auto reports = ReplayGoldenDir(dir);
  ASSERT_TRUE(reports.ok()) << reports.status();
  ASSERT_EQ(reports->size(), 1u);
  const GoldenEnvReport& r = (*reports)[0];
  EXPECT_EQ(r.env_id, "Pendulum-v1");
  EXPECT_EQ(r.rows, 3);
  EXPECT_EQ(r.episodes, 1);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.row_mismatches, 2);
  EXPECT_EQ(r.episode_mismatches, 2);
  EXPECT_GT(r.max_row_deviation, 1e-3);
  ASSERT_FALSE(r.first_mismatches.empty());
  const GoldenMismatch& m = r.first_mismatches[0];
  EXPECT_EQ(m.file, "Pendulum-v1.csv");
  EXPECT_EQ(m.line, 3);
  EXPECT_EQ(m.column, "o2");
  EXPECT_EQ(m.expected, 7.5);
  EXPECT_FALSE(m.in_episode_replay);
  EXPECT_THAT(m.ToString(), HasSubstr("Pendulum-v1.csv line 3 column o2"));
  EXPECT_EQ(r.first_mismatches[1].column, "terminated");
  EXPECT_EQ(r.first_mismatches[1].line, 4);
}

TEST(GoldenReplayTest, TolerancesAreParameters) {
  const std::string dir = MakeTempDir("golden_tol");
  std::string csv = GoldenHead("MountainCar-v0", 3);
  // Shift o0 of the first row by 5e-5: beyond 1e-5, within 1e-4.
  const std::vector<std::string> lines = absl::StrSplit(csv, '\n');
  const std::vector<std::string> row = absl::StrSplit(lines[1], ',');
  csv = WithCell(csv, 2, 8, absl::StrFormat("%.17g", std::stod(row[8]) + 5e-5));
  ASSERT_TRUE(WriteFileAtomic(dir + "/MountainCar-v0.csv", csv).ok());
  auto strict = ReplayGoldenDir(dir);
  ASSERT_TRUE(strict.ok()) << strict.status();
  EXPECT_EQ((*strict)[0].row_mismatches, 1);
  EXPECT_EQ((*strict)[0].episode_mismatches, 0);  // 1e-3 by default
  GoldenReplayOptions loose;
  loose.row_tolerance = 1e-4;
  auto relaxed = ReplayGoldenDir(dir, loose);
  ASSERT_TRUE(relaxed.ok());
  EXPECT_TRUE((*relaxed)[0].ok());
  EXPECT_NEAR((*relaxed)[0].max_row_deviation, 5e-5, 1e-6);
}

// Valid data from a chaotic system: an Acrobot-v1 episode whose recorded
// first state differs from the one that produced the rows by 1e-7 (far inside
// the per-row tolerance; a recording made with another libm or NumPy differs
// in the last bits of every row, which has the same effect over more steps).
// Every row replays from its own state, but a replay of the whole 500-step
// episode leaves the tolerance once the difference has grown; the check
// bounded by episode_horizon passes.
TEST(GoldenReplayTest, EpisodeCheckIsBoundedForChaoticValidData) {
  auto made = MakeEnv("Acrobot-v1");
  ASSERT_TRUE(made.ok());
  Env& env = **made;
  std::vector<float> obs(6), action(1);
  env.Seed(7);
  env.Reset(obs.data());
  std::vector<double> recorded(4), state(4);
  env.GetState(recorded.data());
  state = recorded;
  state[1] += 1e-7;  // what really produced the rows
  ASSERT_TRUE(env.SetState(state).ok());
  Rng rng(11);
  const auto state_now = [&](int i) {
    std::vector<double> s(4);
    env.GetState(s.data());
    return s[i];
  };
  std::string csv = "episode,t,s0,s1,s2,s3,a0,reward,terminated,truncated,o0,o1,o2,o3,o4,o5\n";
  for (int t = 0; t < 500; ++t) {
    if (t > 0) env.GetState(recorded.data());
    // Pump energy (torque along the first link's velocity, sometimes random):
    // the swinging double pendulum is chaotic.
    const bool random = rng.Uniform() < 0.1;
    action[0] = random ? static_cast<float>(rng.UniformInt(3)) : (state_now(2) > 0 ? 2.0f : 0.0f);
    const StepResult r = env.Step(action.data(), obs.data());
    csv += absl::StrFormat("0,%d,%.17g,%.17g,%.17g,%.17g,%g,%g,%d,%d", t, recorded[0], recorded[1],
                           recorded[2], recorded[3], action[0], r.reward, r.terminated,
                           r.truncated);
    for (float o : obs) csv += absl::StrFormat(",%.9g", o);
    csv += "\n";
    if (r.terminated) break;
  }
  const std::string dir = MakeTempDir("golden_chaos");
  ASSERT_TRUE(WriteFileAtomic(dir + "/Acrobot-v1.csv", csv).ok());
  GoldenReplayOptions whole;
  whole.episode_horizon = 500;
  auto unbounded = ReplayGoldenDir(dir, whole);
  ASSERT_TRUE(unbounded.ok()) << unbounded.status();
  EXPECT_EQ((*unbounded)[0].row_mismatches, 0);
  EXPECT_GT((*unbounded)[0].episode_mismatches, 0) << "the episode no longer diverges: pick "
                                                      "another seed for this test";
  auto bounded = ReplayGoldenDir(dir);
  ASSERT_TRUE(bounded.ok()) << bounded.status();
  EXPECT_TRUE((*bounded)[0].ok()) << (*bounded)[0].Summary();
  std::cout << "whole episode: " << (*unbounded)[0].Summary() << "; first: "
            << (*unbounded)[0].first_mismatches[0].ToString() << "\n";
}

TEST(GoldenReplayTest, ErrorsNameTheProblem) {
  const std::string empty = MakeTempDir("golden_empty");
  ExpectError(ReplayGoldenDir(empty), absl::StatusCode::kNotFound, empty);

  const std::string unknown = MakeTempDir("golden_unknown");
  ASSERT_TRUE(WriteFileAtomic(unknown + "/Foo-v0.csv", GoldenHead("CartPole-v1", 3)).ok());
  ExpectError(ReplayGoldenDir(unknown), absl::StatusCode::kInvalidArgument, "Foo-v0");

  const std::string bad_header = MakeTempDir("golden_header");
  ASSERT_TRUE(WriteFileAtomic(bad_header + "/CartPole-v1.csv", "episode,t,x,y\n0,0,1,2\n").ok());
  ExpectError(ReplayGoldenDir(bad_header), absl::StatusCode::kInvalidArgument, "header");

  const std::string wrong_dims = MakeTempDir("golden_dims");  // a 2-state file as CartPole
  ASSERT_TRUE(
      WriteFileAtomic(wrong_dims + "/CartPole-v1.csv", GoldenHead("MountainCar-v0", 3)).ok());
  ExpectError(ReplayGoldenDir(wrong_dims), absl::StatusCode::kInvalidArgument, "CartPole-v1");

  const std::string bad_cell = MakeTempDir("golden_cell");
  ASSERT_TRUE(WriteFileAtomic(bad_cell + "/Pendulum-v1.csv",
                              WithCell(GoldenHead("Pendulum-v1", 3), 3, 4, "abc"))
                  .ok());
  ExpectError(ReplayGoldenDir(bad_cell), absl::StatusCode::kInvalidArgument, "Pendulum-v1.csv:3");
}

}  // namespace
}  // namespace proxima

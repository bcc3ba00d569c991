// ExpectGoldenDirReplays: the golden tests' shared check. Replays every
// `<EnvId>.csv` directly under `dir` (ReplayGoldenDir, common/envs/golden_replay.h),
// prints each env's one-line summary, and fails the calling test unless the
// directory holds at least one file, every file was replayed, each has rows
// and episodes, no row or episode mismatches (the first ones are reported),
// and the largest per-row and per-episode deviations stay within the given
// bounds. The reports go to `*reports_out` when it is given, for checks of
// the caller's own. Header-only: both golden test files include it.
#ifndef PROXIMA_TESTS_ENVS_GOLDEN_EXPECT_H_
#define PROXIMA_TESTS_ENVS_GOLDEN_EXPECT_H_

#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "common/envs/golden_replay.h"
#include "common/file_util.h"
#include "gtest/gtest.h"

namespace proxima {

inline void ExpectGoldenDirReplays(const std::string& dir, double max_row_deviation,
                                   double max_episode_deviation,
                                   std::vector<GoldenEnvReport>* reports_out = nullptr) {
  auto files = ListFiles(dir, ".csv");
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_FALSE(files->empty()) << "no golden CSV under " << dir;
  auto reports = ReplayGoldenDir(dir);
  ASSERT_TRUE(reports.ok()) << reports.status();
  ASSERT_EQ(reports->size(), files->size());
  for (const GoldenEnvReport& r : *reports) {
    SCOPED_TRACE(r.env_id);
    std::cout << r.Summary() << "\n";
    EXPECT_GT(r.rows, 0);
    EXPECT_GT(r.episodes, 0);
    EXPECT_EQ(r.row_mismatches, 0);
    EXPECT_EQ(r.episode_mismatches, 0);
    for (const GoldenMismatch& m : r.first_mismatches) ADD_FAILURE() << m.ToString();
    EXPECT_LE(r.max_row_deviation, max_row_deviation);
    EXPECT_LE(r.max_episode_deviation, max_episode_deviation);
  }
  if (reports_out != nullptr) *reports_out = *std::move(reports);
}

}  // namespace proxima

#endif  // PROXIMA_TESTS_ENVS_GOLDEN_EXPECT_H_

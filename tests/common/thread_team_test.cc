#include "common/thread_team.h"

#include <atomic>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace proxima {
namespace {

// Every index is visited exactly once, in contiguous parts, on `size`
// distinct threads (the caller's included), job after job.
TEST(ThreadTeamTest, EveryIndexOnceAcrossParts) {
  for (int size : {1, 2, 3, 4}) {
    ThreadTeam team(size);
    EXPECT_EQ(team.size(), size);
    for (int n : {0, 1, 2, 5, 7, 64}) {
      std::vector<std::atomic<int>> hits(n);
      absl::Mutex mu;
      std::vector<std::pair<int, int>> parts;
      std::set<std::thread::id> threads;
      team.Run(n, [&](int begin, int end) {
        for (int i = begin; i < end; ++i) hits[i].fetch_add(1);
        absl::MutexLock lock(&mu);
        parts.emplace_back(begin, end);
        threads.insert(std::this_thread::get_id());
      });
      for (int i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << size << " " << n << " " << i;
      for (const auto& [begin, end] : parts) EXPECT_LT(begin, end);
      if (n >= size) {
        EXPECT_EQ(static_cast<int>(parts.size()), size) << n;
        EXPECT_EQ(static_cast<int>(threads.size()), size) << n;
      }
    }
  }
}

// The caller runs part 0 itself and Run returns only after every part is done.
TEST(ThreadTeamTest, RunWaitsForEveryPart) {
  ThreadTeam team(3);
  for (int job = 0; job < 200; ++job) {
    std::atomic<int> done{0};
    team.Run(3, [&](int begin, int end) {
      if (begin == 2) std::this_thread::yield();
      done.fetch_add(end - begin);
    });
    ASSERT_EQ(done.load(), 3) << job;
  }
}

}  // namespace
}  // namespace proxima

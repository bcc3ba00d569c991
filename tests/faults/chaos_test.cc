// Chaos (slow): a learner and 4 actors on loopback; every 3 s for a minute
// (PROXIMA_CHAOS_SECONDS, e.g. 120 for a longer run) a random actor is killed with SIGKILL and the test, as its supervisor,
// restarts it under the same name. The learner must never crash or stall
// (env steps and version grow in every 10 s window), the actor count must
// recover, the chunk accounting must hold in every status (whatever a dead
// session left behind is trained, dropped with a counted reason, or was never
// received), and CartPole must still be learned (last-100 mean return ≥ 475).
#include <signal.h>

#include <cstdio>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/faults/fault_util.h"
#include "tests/faults/loopback_run.h"

namespace proxima::faults {
namespace {

double ChaosSeconds() {
  const char* env = std::getenv("PROXIMA_CHAOS_SECONDS");
  return env != nullptr ? std::atof(env) : 60;
}

TEST(ChaosTest, KillingARandomActorEvery3Seconds) {
  const std::string dir = MakeTempDir("faults_chaos");
  const std::vector<std::string> names = {"c0", "c1", "c2", "c3"};
  LoopbackRun run;
  ASSERT_NO_FATAL_FAILURE(StartLoopbackLearner(dir, {"--checkpoint-every-seconds", "30"}, &run));
  LearnerClient& client = *run.client;
  v1::LearnerStatus st;
  ASSERT_NO_FATAL_FAILURE(StartStreamingActors(dir, names, &run, &st));

  std::mt19937 rng(12345);
  const double duration = ChaosSeconds();
  const Clock::time_point start = Clock::now();
  Clock::time_point next_kill = start + std::chrono::seconds(3);
  Clock::time_point window_start = start;
  v1::LearnerStatus window_status = st;
  int kills = 0, windows = 0, polls = 0;
  Clock::time_point last_kill;
  std::string last_killed;
  uint64_t last_killed_session = 0;
  double best_return = st.mean_episode_return();
  double min_window_steps = 1e300;
  while (SecondsSince(start) < duration) {
    std::optional<v1::LearnerStatus> s = client.Status(5);
    ASSERT_TRUE(s.has_value()) << "the learner stopped answering after " << SecondsSince(start)
                               << " s";
    ASSERT_TRUE(run.learner.process->running()) << "the learner died";
    ++polls;
    ASSERT_EQ(AccountingError(*s), "") << DropSummary(*s);
    best_return = std::max(best_return, s->mean_episode_return());
    if (SecondsSince(window_start) >= 10) {
      // Never stalls: progress in every 10 s window.
      EXPECT_GT(s->env_steps(), window_status.env_steps()) << "window " << windows;
      EXPECT_GT(s->policy_version(), window_status.policy_version()) << "window " << windows;
      min_window_steps = std::min(
          min_window_steps, static_cast<double>(s->env_steps() - window_status.env_steps()));
      window_status = *s;
      window_start = Clock::now();
      ++windows;
    }
    if (Clock::now() >= next_kill) {
      const size_t i = std::uniform_int_distribution<size_t>(0, names.size() - 1)(rng);
      last_kill = Clock::now();
      last_killed = names[i];
      const v1::ActorInfo* victim = FindActor(*s, names[i]);
      last_killed_session = victim != nullptr ? victim->session_id() : 0;
      run.actors[i]->Signal(SIGKILL);
      EXPECT_EQ(run.actors[i]->Wait(10), 128 + SIGKILL);
      run.actors[i] = StartActor(run.learner.address, names[i], dir);
      ++kills;
      next_kill += std::chrono::seconds(3);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const double chaos = SecondsSince(start);

  const double return_after_chaos = client.Status().value_or(st).mean_episode_return();
  // Recovery: all four back and streaming, the last one killed in a new
  // session of the same actor id.
  ASSERT_TRUE(client.WaitFor(
      [&](const v1::LearnerStatus& s) {
        const v1::ActorInfo* a = FindActor(s, last_killed);
        return s.actors_connected() == names.size() && AllStreaming(s, names) && a != nullptr &&
               a->session_id() != last_killed_session;
      },
      20, &st))
      << st.DebugString();
  const double recovered = std::chrono::duration<double>(Clock::now() - last_kill).count();
  // Learned: the last-100 mean reaches 475 (it may already have).
  ASSERT_TRUE(client.WaitFor(
      [&](const v1::LearnerStatus& s) {
        best_return = std::max(best_return, s.mean_episode_return());
        return best_return >= 475;
      },
      120, &st))
      << "best last-100 mean " << best_return;

  // Every restart was a new session of the same actor id; the learner saw
  // one registration per start.
  const std::string log = ReadWholeFile(dir + "/learner.log");
  EXPECT_EQ(CountOccurrences(log, "registered (session"), kills + static_cast<int>(names.size()));
  for (const std::string& n : names) {
    const v1::ActorInfo* a = FindActor(st, n);
    ASSERT_NE(a, nullptr);
    EXPECT_LT(a->actor_id(), names.size());
  }
  for (auto& a : run.actors) a->Signal(SIGTERM);
  for (auto& a : run.actors) EXPECT_EQ(a->Wait(30), 0);
  ASSERT_TRUE(client.WaitFor([](const v1::LearnerStatus& s) { return s.actors_connected() == 0; },
                             10, &st));
  EXPECT_EQ(AccountingError(st), "") << DropSummary(st);
  run.learner.process->Signal(SIGTERM);
  EXPECT_EQ(run.learner.process->Wait(30), 0);
  std::printf("chaos %.0f s: %d SIGKILLs survived, %d status polls with the accounting intact, "
              "fewest env steps in a 10 s window %.0f; 4 actors streaming %.2f s after the last "
              "kill; last-100 mean return %.1f when the chaos ended, best %.1f, at %llu env "
              "steps; %s\n",
              chaos, kills, polls, min_window_steps, recovered, return_after_chaos, best_return,
              static_cast<unsigned long long>(st.env_steps()), DropSummary(st).c_str());
}

}  // namespace
}  // namespace proxima::faults

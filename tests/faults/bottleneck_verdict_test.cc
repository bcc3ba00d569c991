// The bottleneck verdict is tested, not guessed (issue 18): the real
// proxima-learner and proxima-actor on loopback, each run forcing one
// bottleneck, and `LearnerStatus.bottleneck` (the line `proxima status`
// prints) must name it:
//   learner-bound  PROXIMA_DELAYPOINT=learner.update:300 in the learner (every
//                  PPO update takes 300 ms longer);
//   actor-bound    PROXIMA_DELAYPOINT=actor.env_step:2 in the actor (every env
//                  step takes 2 ms longer: a slow env);
//   network-bound  a one-chunk send window (--max-unacked-chunks 1) and the
//                  learner reading each actor's stream at 2 chunks/s
//                  (--max-chunks-per-second 2): data is made, but does not
//                  arrive.
// Each case takes ~10-15 s (the verdict looks at the last 10 s).
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/faults/fault_util.h"

namespace proxima::faults {
namespace {

struct Case {
  std::string name;
  std::vector<std::string> learner_env;  // VAR=value, for /usr/bin/env
  std::vector<std::string> learner_flags;
  std::vector<std::string> actor_env;
  std::string want;  // the verdict's first word
};

std::vector<std::string> WithEnv(const std::vector<std::string>& env,
                                 const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  if (!env.empty()) {
    out.push_back("/usr/bin/env");
    out.insert(out.end(), env.begin(), env.end());
  }
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

void ExpectVerdict(const Case& c) {
  const std::string dir = MakeTempDir(absl::StrCat("bottleneck_", c.name));
  Learner l = StartLearner(WithEnv(c.learner_env, LearnerArgs(dir, "127.0.0.1:0", c.learner_flags)),
                           dir + "/learner.log");
  ASSERT_FALSE(l.address.empty());
  ChildProcess actor(WithEnv(c.actor_env, {BinPath("proxima-actor"), "--learner", l.address,
                                           "--name", "a0", "--num-envs", "2"}),
                     dir + "/a0.log");
  LearnerClient client(l.address);
  v1::LearnerStatus st;
  // A full window of the forced regime: the line must settle on the forced
  // bottleneck within 25 s and stay there.
  const bool named = client.WaitFor(
      [&](const v1::LearnerStatus& s) {
        return s.time_recent().wall_seconds() >= 8 && s.time_recent().chunks() >= 2 &&
               absl::StartsWith(s.bottleneck(), c.want);
      },
      25, &st);
  EXPECT_TRUE(named) << c.name << ": bottleneck \"" << st.bottleneck() << "\"\nrecent "
                     << st.time_recent().DebugString() << "\nlearner log:\n"
                     << ReadWholeFile(dir + "/learner.log") << "\nactor log:\n"
                     << ReadWholeFile(dir + "/a0.log");
  std::printf("%s: %s\n", c.name.c_str(), st.bottleneck().c_str());
  // The totals since start are there too, per actor as well.
  EXPECT_GT(st.time_total().wall_seconds(), 0);
  ASSERT_EQ(st.actors_size(), 1);
  EXPECT_GT(st.actors(0).time_total().chunks(), 0u);
}

TEST(BottleneckVerdictTest, LearnerBound) {
  ExpectVerdict({"learner", {"PROXIMA_DELAYPOINT=learner.update:300"}, {}, {}, "learner-bound"});
}

TEST(BottleneckVerdictTest, ActorBound) {
  ExpectVerdict({"actor", {}, {}, {"PROXIMA_DELAYPOINT=actor.env_step:2"}, "actor-bound"});
}

TEST(BottleneckVerdictTest, NetworkBound) {
  ExpectVerdict({"network",
                 {},
                 {"--max-unacked-chunks", "1", "--max-chunks-per-second", "2"},
                 {},
                 "network-bound"});
}

}  // namespace
}  // namespace proxima::faults

// LoopbackRun: the start the fault tests share (tests/faults/fault_util.h
// has the pieces). A learner on 127.0.0.1:0 with LearnerArgs(dir, ...,
// extra) and its stderr in DIR/learner.log, a status client for it, and the
// actors started against it (DIR/NAME.log each).
//
// The Start functions report fatal gtest failures: call them under
// ASSERT_NO_FATAL_FAILURE. They block until the learner printed its address,
// or until the actors stream (60 seconds at most).
#ifndef PROXIMA_TESTS_FAULTS_LOOPBACK_RUN_H_
#define PROXIMA_TESTS_FAULTS_LOOPBACK_RUN_H_

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/faults/fault_util.h"

namespace proxima::faults {

struct LoopbackRun {
  Learner learner;
  std::unique_ptr<LearnerClient> client;
  std::vector<std::unique_ptr<ChildProcess>> actors;  // StartStreamingActors' names, in order
};

// Starts the learner and its client; a fatal failure if it printed no
// address.
inline void StartLoopbackLearner(const std::string& dir, const std::vector<std::string>& extra,
                                 LoopbackRun* run) {
  run->learner = StartLearner(LearnerArgs(dir, "127.0.0.1:0", extra), dir + "/learner.log");
  ASSERT_FALSE(run->learner.address.empty());
  run->client = std::make_unique<LearnerClient>(run->learner.address);
}

// Starts one actor per name and waits until every one of them streams
// (AllStreaming) and `ready` holds too; *st gets the newest status. A fatal
// failure (with that status) after 60 seconds.
template <typename Pred>
void StartStreamingActors(const std::string& dir, const std::vector<std::string>& names,
                          LoopbackRun* run, v1::LearnerStatus* st, Pred ready) {
  run->actors = StartActors(run->learner.address, names, dir);
  ASSERT_TRUE(run->client->WaitFor(
      [&](const v1::LearnerStatus& s) { return AllStreaming(s, names) && ready(s); }, 60, st))
      << st->DebugString();
}
inline void StartStreamingActors(const std::string& dir, const std::vector<std::string>& names,
                                 LoopbackRun* run, v1::LearnerStatus* st) {
  StartStreamingActors(dir, names, run, st, [](const v1::LearnerStatus&) { return true; });
}

}  // namespace proxima::faults

#endif  // PROXIMA_TESTS_FAULTS_LOOPBACK_RUN_H_

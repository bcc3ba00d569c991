// Training an env's preset in one process, as the learning tests run it:
// CPU, a given seed, the trainer stopping as soon as the env is solved.
// Blocks for the whole run (minutes); failures to configure, create or run
// the trainer are reported as non-fatal test failures.
#ifndef PROXIMA_TESTS_LEARNER_TRAIN_PRESET_H_
#define PROXIMA_TESTS_LEARNER_TRAIN_PRESET_H_

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "learner/in_process_trainer.h"

namespace proxima::testing {

// Runs PresetFor(env) with `seed` until solved or out of steps
// (`total_steps`, the preset's own budget when not given), prints one line
// with the outcome and returns the run's summary.
inline RunSummary TrainPresetUntilSolved(const std::string& env, uint64_t seed,
                                         std::optional<int64_t> total_steps = std::nullopt) {
  auto config = PresetFor(env);
  EXPECT_TRUE(config.ok()) << config.status();
  config->seed = seed;
  if (total_steps) config->total_steps = *total_steps;
  config->device = "cpu";
  TrainerOptions options;
  options.stop_when_solved = true;
  auto trainer = InProcessTrainer::Create(*config, options);
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  auto summary = (*trainer)->Run();
  EXPECT_TRUE(summary.ok()) << summary.status();
  const auto text = [](const auto& v) { return v ? std::to_string(*v) : std::string("never"); };
  std::printf("%s seed %llu: solved_at_step %s, solved_at_seconds %s, last-100 mean %.1f, "
              "%.0f steps/s\n",
              env.c_str(), static_cast<unsigned long long>(seed),
              text(summary->solved_at_step).c_str(), text(summary->solved_at_seconds).c_str(),
              summary->mean_return_last_100, summary->env_steps_per_second);
  return *summary;
}

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_LEARNER_TRAIN_PRESET_H_

// Bitwise comparison of two PpoUpdaters: every tensor and number the next
// update reads (weights, Adam's moments and step, the minibatch-shuffle
// generator, KL β, the observation normalizer). Used by the resume tests and
// by the cluster test's sync-mode reproducibility check.
#ifndef PROXIMA_TESTS_LEARNER_SAME_UPDATER_STATE_H_
#define PROXIMA_TESTS_LEARNER_SAME_UPDATER_STATE_H_

#include <ATen/core/Tensor.h>

#include "gtest/gtest.h"
#include "learner/ppo_updater.h"

namespace proxima::testing {

// Same dtype, shape and bytes: stricter than at::equal (which takes -0 == 0).
::testing::AssertionResult SameBits(const at::Tensor& a, const at::Tensor& b);
::testing::AssertionResult SameBits(double a, double b);

// One EXPECT per tensor or number, naming what differs.
void ExpectSameUpdaterState(PpoUpdater& a, PpoUpdater& b);

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_LEARNER_SAME_UPDATER_STATE_H_

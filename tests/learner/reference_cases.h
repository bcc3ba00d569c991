// The PPO reference cases the learner tests replay: every <prefix>*.json under
// $PROXIMA_GOLDEN_DIR/ppo (the shared golden set) and under tests/reference/ppo
// (made in this repository by tests/reference/make_reference.py; see its
// README.md). Both directories are always read; one that cannot be listed, or
// a prefix with no file in either, fails the calling test.
#ifndef PROXIMA_TESTS_LEARNER_REFERENCE_CASES_H_
#define PROXIMA_TESTS_LEARNER_REFERENCE_CASES_H_

#include <functional>
#include <string>
#include <vector>

#include "learner/ppo_config.h"
#include "nlohmann/json.hpp"

namespace proxima {

// $PROXIMA_GOLDEN_DIR/ppo and <source dir>/tests/reference/ppo.
std::vector<std::string> ReferenceDirs();

// The <prefix>*.json files of every reference directory, sorted by name within
// each directory (no failure when there are none).
std::vector<std::string> ReferenceFiles(const std::string& prefix);

// Calls fn(case, "<file> case <i>") for every case of every <prefix>*.json;
// returns the number of cases. A prefix with no file fails the calling test.
int ForEachCase(const std::string& prefix,
                const std::function<void(const nlohmann::json&, const std::string&)>& fn);

// The PpoConfig of a ppo_total_loss case's inputs: clip_eps, value_clip_eps,
// clip_value_loss, normalize_advantages, ent_coef, vf_coef (kl_beta is the
// caller's: PpoLossOptionsFor takes it apart).
PpoConfig TotalLossCaseConfig(const nlohmann::json& inputs);

}  // namespace proxima

#endif  // PROXIMA_TESTS_LEARNER_REFERENCE_CASES_H_

// What `--eval-every N --eval-episodes K` ask for (learner/periodic_eval.h
// runs it). Torch-free, so that flag parsing (learner/cli/learner_flags.cc)
// links without LibTorch in `proxima`.
#ifndef PROXIMA_LEARNER_PERIODIC_EVAL_OPTIONS_H_
#define PROXIMA_LEARNER_PERIODIC_EVAL_OPTIONS_H_

#include <cstdint>

#include "absl/status/status.h"

namespace proxima {

struct PeriodicEvalOptions {
  int64_t every = 0;  // updates between evaluations; 0: off
  int episodes = 10;
  // InvalidArgument naming --eval-every / --eval-episodes: every < 0,
  // episodes < 1.
  absl::Status Validate() const;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_PERIODIC_EVAL_OPTIONS_H_

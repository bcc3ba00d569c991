// Checkpoint file names in RUN_DIR/checkpoints/ (learner/checkpoint.h writes
// and reads the files): ckpt-<version, 12 digits>.pt, or
// ckpt-<version>-<tag>.pt for a tagged one (`proxima checkpoint --tag T`).
//
// Names only — no LibTorch — so that `proxima` (which loads no LibTorch,
// learner/cli/proxima_main.cc) can check a tag before sending it.
#ifndef PROXIMA_LEARNER_CHECKPOINT_NAMES_H_
#define PROXIMA_LEARNER_CHECKPOINT_NAMES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace proxima {

inline constexpr char kCheckpointSuffix[] = ".pt";

// OK for a usable checkpoint tag: 1 to 64 letters, digits, '-' or '_';
// InvalidArgument naming the tag otherwise.
absl::Status CheckCheckpointTag(const std::string& tag);

// DIR/ckpt-<version, 12 digits>[-<tag>].pt ("" tag: untagged).
std::string CheckpointPath(const std::string& dir, int64_t version, const std::string& tag);

// The version a checkpoint file name (any folder) encodes, or -1 for a name
// that is not one; `tag` gets its tag ("" when untagged).
int64_t CheckpointVersion(const std::string& path, std::string* tag = nullptr);

// Checkpoint file names in `dir` (tagged ones included), newest version
// first; at one version the untagged file before tagged ones.
std::vector<std::string> ListCheckpoints(const std::string& dir);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CHECKPOINT_NAMES_H_

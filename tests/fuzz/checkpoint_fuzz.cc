// libFuzzer target: checkpoint file bytes as `proxima-learner --resume`
// reads them.
//
// The bytes become ckpt-000000000001.pt in a scratch directory of this
// process's own (scratch_dir.h); then, as the learner does on resume,
// FindLatestCheckpoint reads its config and counters, and
// RestoreCheckpoint loads model, optimizer, normalizer and KL β into a fresh
// PpoUpdater (built from the fixed CheckpointConfig(), so that a fuzzed
// config cannot ask for an arbitrarily large network). Both must refuse a
// corrupted file with a Status; nothing may crash. A fresh updater per input
// keeps runs independent.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "common/envs/registry.h"
#include "learner/ppo_updater.h"
#include "learner/checkpoint.h"
#include "tests/fuzz/fuzz_specs.h"
#include "tests/fuzz/scratch_dir.h"

namespace proxima {
namespace {

void RunOne(absl::string_view bytes) {
  const std::string path = fuzz::WriteScratchFile("ckpt-000000000001.pt", bytes);
  (void)FindLatestCheckpoint(fuzz::ScratchDir());
  static const PpoConfig* const config = new PpoConfig(fuzz::CheckpointConfig());
  static const EnvSpec* const spec = new EnvSpec(*GetEnvSpec(config->env_id));
  absl::StatusOr<std::unique_ptr<PpoUpdater>> updater =
      PpoUpdater::Create(*config, *spec, torch::Device(torch::kCPU));
  if (!updater.ok()) std::abort();
  (void)RestoreCheckpoint(path, **updater);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace proxima

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  proxima::RunOne(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}

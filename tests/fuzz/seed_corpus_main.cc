// proxima_fuzz_seeds OUT_DIR: writes the seed corpus of every fuzz target,
// OUT_DIR/<target>/<name>, from the real encoders, so that the seeds are valid
// inputs and the fuzzers start from deep inside the parsers:
//   chunk            encoded trajectory chunks (discrete with a termination,
//                    a truncation and episodes; a short final chunk;
//                    continuous actions)
//   weight_snapshot  EncodeWeights of the fuzz policy, normalizer off and on
//   checkpoint       a SaveCheckpoint file of the fuzz config
//   flags            learner command lines, a flag file and environment
//   config           ConfigToJson of every preset and of the fuzz config
// Deterministic: the same seeds on every run. tests/fuzz/run_fuzz.sh calls it.
#include <ATen/ATen.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/policy/actor_critic.h"
#include "common/wire/chunk_codec.h"
#include "common/envs/registry.h"
#include "common/policy/weight_codec.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "common/wire/chunk_validator.h"
#include "learner/ppo_updater.h"
#include "learner/run_files.h"
#include "learner/checkpoint.h"
#include "tests/fuzz/fuzz_specs.h"
#include "tests/support/synthetic_chunk.h"

namespace proxima {
namespace {

absl::Status Write(const std::string& dir, const std::string& name, const std::string& bytes) {
  PROXIMA_RETURN_IF_ERROR(MakeDirs(dir));
  return WriteFileAtomic(dir + "/" + name, bytes);
}

// A chunk of `spec`'s shape with deterministic contents; `steps` may be
// shorter than the spec's rollout length for a final chunk.
v1::TrajectoryChunk MakeChunk(const ChunkSpec& spec, int steps, bool final, bool with_episodes) {
  at::manual_seed(7);
  std::vector<EpisodeRecord> episodes;
  if (with_episodes && steps >= 3 && spec.num_envs >= 2) {
    episodes = {{1, 0, 21.0, 21, false}, {2, 1, 500.0, 500, true}};
  }
  return testing::SyntheticChunk(spec, steps, ChunkHeader{3, 0x1234, 5, 2, final, 0.25f},
                                 episodes);
}

absl::Status ChunkSeeds(const std::string& dir) {
  const ChunkSpec d = fuzz::DiscreteChunkSpec();
  const ChunkSpec c = fuzz::ContinuousChunkSpec();
  const struct {
    const char* name;
    v1::TrajectoryChunk chunk;
    ChunkSpec spec;
  } seeds[] = {
      {"discrete_episodes", MakeChunk(d, d.rollout_length, false, true), d},
      {"discrete_plain", MakeChunk(d, d.rollout_length, false, false), d},
      {"discrete_final_short", MakeChunk(d, 3, true, true), d},
      {"continuous_episodes", MakeChunk(c, c.rollout_length, false, true), c},
  };
  for (const auto& s : seeds) {
    absl::Status valid = ValidateChunkPayload(s.chunk, s.spec);
    if (!valid.ok()) return absl::InternalError(absl::StrCat(s.name, ": ", valid.ToString()));
    PROXIMA_RETURN_IF_ERROR(Write(dir, s.name, s.chunk.SerializeAsString()));
  }
  return absl::OkStatus();
}

absl::Status WeightSnapshotSeeds(const std::string& dir) {
  const PolicyShape shape = fuzz::SnapshotShape();
  at::manual_seed(11);
  ActorCritic model(shape.obs_dim, shape.action_space, shape.model);
  for (bool normalize : {false, true}) {
    NormalizerState normalizer;
    normalizer.enabled = normalize;
    normalizer.stats = RunningMeanStd(shape.obs_dim);
    PROXIMA_RETURN_IF_ERROR(
        normalizer.stats.Restore({0.1, -0.2, 0.3, 0.0}, {1.0, 2.0, 0.5, 1.5}, 100.0));
    v1::WeightSnapshot s;
    EncodeWeights(model, normalizer, normalize ? 9 : 3, &s);
    PROXIMA_RETURN_IF_ERROR(DecodeSnapshot(s, shape).status());
    PROXIMA_RETURN_IF_ERROR(Write(dir, normalize ? "normalized" : "plain", s.SerializeAsString()));
  }
  return absl::OkStatus();
}

absl::Status CheckpointSeeds(const std::string& dir, const std::string& scratch) {
  const PpoConfig config = fuzz::CheckpointConfig();
  PROXIMA_ASSIGN_OR_RETURN(EnvSpec spec, GetEnvSpec(config.env_id));
  at::manual_seed(13);
  PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<PpoUpdater> updater,
                           PpoUpdater::Create(config, spec, torch::Device(torch::kCPU)));
  CheckpointCounters counters;
  counters.policy_version = 4;
  counters.env_steps = 640;
  counters.actor_ids["actor-0"] = 1;
  PROXIMA_ASSIGN_OR_RETURN(SavedCheckpoint saved, SaveCheckpoint(scratch, *updater, counters, 1));
  PROXIMA_ASSIGN_OR_RETURN(std::string bytes, ReadFile(saved.path));
  std::remove(saved.path.c_str());
  return Write(dir, "ckpt", bytes);
}

absl::Status FlagSeeds(const std::string& dir) {
  // Parts: arguments, flag file, environment (flags_fuzz.cc).
  const std::string nul(1, '\0');
  PROXIMA_RETURN_IF_ERROR(Write(dir, "args",
                                "--env=CartPole-v1\n--num-envs=4\n--rollout-length\n64\n"
                                "--listen=127.0.0.1:0\n--mode=sync\n--hidden-sizes=32,32\n"
                                "--noanneal-lr\n--advantage=vtrace\n--max-unacked-chunks=2\n"));
  PROXIMA_RETURN_IF_ERROR(Write(dir, "flagfile",
                                "--seed=3\n" + nul +
                                    "# learner settings\n--total-steps=100000\n--gamma=0.98\n"
                                    "--checkpoint-every-updates=5\n--keep-checkpoints=2\n"));
  PROXIMA_RETURN_IF_ERROR(Write(dir, "env",
                                "--learning-rate=1e-3\n" + nul + nul +
                                    "PROXIMA_LEARNER_NUM_MINIBATCHES=4\n"
                                    "PROXIMA_LEARNER_NORMALIZE_OBS=true\n"
                                    "PROXIMA_LEARNER_MAX_POLICY_LAG=3\n"));
  return absl::OkStatus();
}

absl::Status ConfigSeeds(const std::string& dir) {
  for (const std::string& id : RegisteredEnvIds()) {
    absl::StatusOr<PpoConfig> preset = PresetFor(id);
    if (!preset.ok()) continue;
    PROXIMA_RETURN_IF_ERROR(Write(dir, id, ConfigToJson(*preset).dump(1)));
  }
  return Write(dir, "fuzz", ConfigToJson(fuzz::CheckpointConfig()).dump());
}

absl::Status WriteAll(const std::string& out) {
  PROXIMA_RETURN_IF_ERROR(ChunkSeeds(out + "/chunk"));
  PROXIMA_RETURN_IF_ERROR(WeightSnapshotSeeds(out + "/weight_snapshot"));
  PROXIMA_RETURN_IF_ERROR(CheckpointSeeds(out + "/checkpoint", out + "/.scratch"));
  PROXIMA_RETURN_IF_ERROR(FlagSeeds(out + "/flags"));
  PROXIMA_RETURN_IF_ERROR(ConfigSeeds(out + "/config"));
  return absl::OkStatus();
}

}  // namespace
}  // namespace proxima

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  absl::Status s = proxima::WriteAll(argv[1]);
  if (!s.ok()) {
    std::fprintf(stderr, "proxima_fuzz_seeds: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

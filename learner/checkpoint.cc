#include "learner/checkpoint.h"

#include <torch/serialize.h>

#include <algorithm>
#include <limits>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "learner/run_files.h"
#include "learner/archive_check.h"
#include "nlohmann/json.hpp"

namespace proxima {
namespace {

constexpr int kFormat = 1;
bool IsTagged(const std::string& path) {
  std::string tag;
  return CheckpointVersion(path, &tag) >= 0 && !tag.empty();
}

nlohmann::json MetaToJson(const PpoUpdater& updater, const CheckpointCounters& c) {
  nlohmann::json j;
  j["format"] = kFormat;
  j["config"] = ConfigToJson(updater.config());
  j["policy_version"] = c.policy_version;
  j["env_steps"] = c.env_steps;
  j["transitions_trained"] = c.transitions_trained;
  j["updates"] = c.updates;
  j["episodes"] = c.episodes;
  j["wall_seconds"] = c.wall_seconds;
  j["actor_ids"] = c.actor_ids;
  j["kl_beta"] = updater.kl_beta();
  j["obs_mean"] = updater.obs_stats().mean();
  j["obs_var"] = updater.obs_stats().var();
  j["obs_count"] = updater.obs_stats().count();
  return j;
}

struct ParsedCheckpoint {
  nlohmann::json meta;
  torch::serialize::InputArchive archive;
};

absl::Status ParseFile(const std::string& path, ParsedCheckpoint* out,
                       c10::optional<c10::Device> device = c10::nullopt) {
  PROXIMA_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  // LibTorch's reader trusts the archive (archive_check.h): damaged files stop here.
  if (absl::Status intact = CheckArchiveIntegrity(bytes); !intact.ok()) {
    return absl::DataLossError(absl::StrCat(path, ": ", intact.message()));
  }
  try {
    std::istringstream in(bytes);
    out->archive.load_from(in, device);
    c10::IValue meta;
    out->archive.read("meta", meta);
    if (!meta.isString()) return absl::DataLossError(absl::StrCat(path, ": no meta record"));
    out->meta = nlohmann::json::parse(meta.toStringRef());
    if (out->meta.value("format", 0) != kFormat) {
      return absl::DataLossError(absl::StrCat(path, ": unsupported checkpoint format ",
                                              out->meta.value("format", 0)));
    }
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat(path, ": not a readable checkpoint: ", e.what()));
  }
  return absl::OkStatus();
}

// A count in a meta record. nlohmann's get<int64_t>() would take -1 as is and
// turn 2.5 into 2, and get<uint64_t>() would wrap -1 around: an edited or
// damaged record is refused instead, naming the field.
absl::Status ReadCount(const nlohmann::json& v, absl::string_view field, int64_t max,
                       int64_t* out) {
  const bool in_range = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(max)
                                               : v.is_number_integer() && v.get<int64_t>() >= 0 &&
                                                     v.get<int64_t>() <= max;
  if (!in_range) {
    return absl::DataLossError(
        absl::StrCat("meta field '", field, "' is ", v.dump(), ", not a count in [0, ", max, "]"));
  }
  *out = v.get<int64_t>();
  return absl::OkStatus();
}

}  // namespace

absl::Status ReadCheckpointCounters(const nlohmann::json& m, CheckpointCounters* c) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t version = 0;
  PROXIMA_RETURN_IF_ERROR(ReadCount(m.at("policy_version"), "policy_version", kMax, &version));
  c->policy_version = static_cast<uint64_t>(version);
  for (auto [key, field] :
       {std::pair{"env_steps", &c->env_steps},
        std::pair{"transitions_trained", &c->transitions_trained},
        std::pair{"updates", &c->updates}, std::pair{"episodes", &c->episodes}}) {
    PROXIMA_RETURN_IF_ERROR(ReadCount(m.at(key), key, kMax, field));
  }
  const nlohmann::json& wall = m.at("wall_seconds");
  // NaN and infinities are written as null, which is not a number.
  if (!wall.is_number() || wall.get<double>() < 0) {
    return absl::DataLossError(
        absl::StrCat("meta field 'wall_seconds' is ", wall.dump(), ", not a duration >= 0"));
  }
  c->wall_seconds = wall.get<double>();
  const nlohmann::json& ids = m.at("actor_ids");
  if (!ids.is_object()) {
    return absl::DataLossError(
        absl::StrCat("meta field 'actor_ids' is ", ids.dump(), ", not an object"));
  }
  c->actor_ids.clear();
  for (const auto& item : ids.items()) {
    int64_t id = 0;
    PROXIMA_RETURN_IF_ERROR(ReadCount(item.value(), absl::StrCat("actor_ids.", item.key()),
                                      std::numeric_limits<uint32_t>::max(), &id));
    c->actor_ids[item.key()] = static_cast<uint32_t>(id);
  }
  return absl::OkStatus();
}

absl::StatusOr<SavedCheckpoint> SaveCheckpoint(const std::string& dir, PpoUpdater& updater,
                                               const CheckpointCounters& counters, int keep,
                                               const std::string& trainer_state,
                                               const std::string& tag) {
  if (!tag.empty()) PROXIMA_RETURN_IF_ERROR(CheckCheckpointTag(tag));
  PROXIMA_RETURN_IF_ERROR(MakeDirs(dir));
  PROXIMA_ASSIGN_OR_RETURN(
      const std::string bytes, SerializeArchive([&](torch::serialize::OutputArchive& archive) {
        torch::serialize::OutputArchive model_archive;
        torch::serialize::OutputArchive optimizer_archive;
        updater.SaveState(model_archive, optimizer_archive);
        archive.write("model", model_archive);
        archive.write("optimizer", optimizer_archive);
        archive.write("shuffle_rng", updater.shuffle_rng_state());
        archive.write("meta", c10::IValue(MetaToJson(updater, counters).dump()));
        if (!trainer_state.empty()) archive.write("trainer", c10::IValue(trainer_state));
      }));
  SavedCheckpoint saved;
  saved.path = CheckpointPath(dir, counters.policy_version, tag);
  saved.size_bytes = static_cast<int64_t>(bytes.size());
  PROXIMA_RETURN_IF_ERROR(WriteFileAtomic(saved.path, bytes, "checkpoint.before_rename"));
  // Only untagged checkpoints are pruned.
  std::vector<std::string> untagged = ListCheckpoints(dir);
  untagged.erase(std::remove_if(untagged.begin(), untagged.end(), IsTagged), untagged.end());
  for (size_t i = static_cast<size_t>(std::max(keep, 1)); i < untagged.size(); ++i) {
    std::remove(untagged[i].c_str());
  }
  // A learner killed between writing and renaming leaves NAME.pt.tmp behind.
  // One process writes a run's checkpoints, so any temp file left now is
  // such a leftover (never loaded; see FindLatestCheckpoint): remove it.
  absl::StatusOr<std::vector<std::string>> leftovers =
      ListFiles(dir, absl::StrCat(kCheckpointSuffix, ".tmp"));
  if (leftovers.ok()) {
    for (const std::string& f : *leftovers) std::remove(f.c_str());
  }
  return saved;
}

absl::StatusOr<LoadedCheckpoint> FindLatestCheckpoint(const std::string& dir) {
  std::vector<std::string> skipped;
  for (const std::string& path : ListCheckpoints(dir)) {
    ParsedCheckpoint parsed;
    absl::Status s = ParseFile(path, &parsed);
    LoadedCheckpoint out;
    out.path = path;
    if (s.ok()) {
      const nlohmann::json& m = parsed.meta;
      try {
        absl::StatusOr<PpoConfig> config = ConfigFromJson(m.at("config"));
        s = config.ok() ? ReadCheckpointCounters(m, &out.counters) : config.status();
        if (config.ok()) out.config = *std::move(config);
      } catch (const nlohmann::json::exception& e) {
        s = absl::DataLossError(absl::StrCat("bad meta record: ", e.what()));
      }
      if (!s.ok()) s = absl::DataLossError(absl::StrCat(path, ": ", s.message()));
    }
    if (s.ok()) return out;
    LogRaw(absl::StrCat("checkpoint: skipping ", s.ToString(), "\n"));
    skipped.push_back(std::string(s.message()));
  }
  if (skipped.empty()) return absl::NotFoundError(absl::StrCat("no checkpoint in ", dir));
  return absl::NotFoundError(
      absl::StrCat("no loadable checkpoint in ", dir, "; skipped: ", absl::StrJoin(skipped, "; ")));
}

absl::Status RestoreCheckpoint(const std::string& path, PpoUpdater& updater,
                               std::string* trainer_state) {
  ParsedCheckpoint parsed;
  PROXIMA_RETURN_IF_ERROR(ParseFile(path, &parsed, updater.device()));
  try {
    torch::serialize::InputArchive model_archive;
    parsed.archive.read("model", model_archive);
    torch::serialize::InputArchive optimizer_archive;
    parsed.archive.read("optimizer", optimizer_archive);
    updater.LoadState(model_archive, optimizer_archive);
    // Checkpoints written before the record existed keep the seeded generator.
    at::Tensor shuffle_rng;
    if (parsed.archive.try_read("shuffle_rng", shuffle_rng)) {
      updater.set_shuffle_rng_state(shuffle_rng.to(at::kCPU));
    }
    const nlohmann::json& m = parsed.meta;
    updater.set_kl_beta(m.at("kl_beta").get<double>());
    PROXIMA_RETURN_IF_ERROR(updater.obs_stats().Restore(
        m.at("obs_mean").get<std::vector<double>>(), m.at("obs_var").get<std::vector<double>>(),
        m.at("obs_count").get<double>()));
    if (trainer_state != nullptr) {
      c10::IValue trainer;
      const bool found = parsed.archive.try_read("trainer", trainer);
      if (found && !trainer.isString()) {
        return absl::DataLossError(absl::StrCat(path, ": the trainer record is not text"));
      }
      *trainer_state = found ? trainer.toStringRef() : std::string();
    }
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat(path, ": cannot restore: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace proxima

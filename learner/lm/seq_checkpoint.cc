#include "learner/lm/seq_checkpoint.h"

#include <sys/stat.h>

#include <torch/serialize.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "learner/archive_check.h"
#include "learner/checkpoint_names.h"
#include "nlohmann/json.hpp"

namespace proxima::lm {
namespace {

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

nlohmann::json ConfigToJson(const SeqPolicyConfig& c) {
  return {{"vocab_size", c.vocab_size}, {"max_seq_len", c.max_seq_len},
          {"d_model", c.d_model},       {"num_layers", c.num_layers},
          {"num_heads", c.num_heads},   {"d_ff", c.d_ff}};
}

// An int field of the meta record, range-checked (nlohmann would turn 2.5
// into 2 and wrap -1 into a large unsigned).
absl::Status ReadInt(const nlohmann::json& m, const char* field, int64_t lo, int64_t hi,
                     int64_t* out) {
  if (!m.contains(field)) return absl::DataLossError(absl::StrCat("meta has no '", field, "'"));
  const nlohmann::json& v = m.at(field);
  bool ok = false;
  int64_t value = 0;
  if (v.is_number_unsigned()) {
    ok = v.get<uint64_t>() <= static_cast<uint64_t>(hi);
    value = static_cast<int64_t>(v.get<uint64_t>());
  } else if (v.is_number_integer()) {
    value = v.get<int64_t>();
    ok = value <= hi;
  }
  if (!ok || value < lo) {
    return absl::DataLossError(absl::StrCat("meta field '", field, "' is ", v.dump(),
                                            ", not an integer in [", lo, ", ", hi, "]"));
  }
  *out = value;
  return absl::OkStatus();
}

absl::Status ReadConfig(const nlohmann::json& j, SeqPolicyConfig* c) {
  constexpr int64_t kMax = 1 << 24;
  for (auto [key, field] :
       {std::pair{"vocab_size", &c->vocab_size}, std::pair{"max_seq_len", &c->max_seq_len},
        std::pair{"d_model", &c->d_model}, std::pair{"num_layers", &c->num_layers},
        std::pair{"num_heads", &c->num_heads}, std::pair{"d_ff", &c->d_ff}}) {
    int64_t v = 0;
    PROXIMA_RETURN_IF_ERROR(ReadInt(j, key, 1, kMax, &v));
    *field = static_cast<int>(v);
  }
  return c->Validate();
}

absl::Status ReadFraction(const nlohmann::json& m, const char* field, double* out) {
  const nlohmann::json& v = m.at(field);
  if (!v.is_number() || !(v.get<double>() >= 0.0 && v.get<double>() <= 1.0)) {
    return absl::DataLossError(
        absl::StrCat("meta field 'sft.", field, "' is ", v.dump(), ", not a fraction in [0, 1]"));
  }
  *out = v.get<double>();
  return absl::OkStatus();
}

absl::Status ReadInfo(const nlohmann::json& m, SeqCheckpointInfo* info) {
  PROXIMA_RETURN_IF_ERROR(ReadConfig(m.at("model"), &info->config));
  const nlohmann::json& tok = m.at("tokenizer");
  info->tokenizer.kind = tok.at("kind").get<std::string>();
  info->task_id = m.at("task").get<std::string>();
  int64_t v = 0;
  PROXIMA_RETURN_IF_ERROR(
      ReadInt(m, "policy_version", 0, std::numeric_limits<int64_t>::max(), &v));
  info->policy_version = static_cast<uint64_t>(v);
  const nlohmann::json& sft = m.at("sft");
  PROXIMA_RETURN_IF_ERROR(ReadInt(sft, "steps", 0, std::numeric_limits<int>::max(), &v));
  info->sft.steps = static_cast<int>(v);
  PROXIMA_RETURN_IF_ERROR(ReadInt(sft, "eval_prompts", 0, std::numeric_limits<int>::max(), &v));
  info->sft.eval_prompts = static_cast<int>(v);
  PROXIMA_RETURN_IF_ERROR(ReadInt(sft, "seed", 0, std::numeric_limits<int64_t>::max(), &v));
  info->sft.seed = static_cast<uint64_t>(v);
  PROXIMA_RETURN_IF_ERROR(ReadFraction(sft, "held_out_accuracy", &info->sft.held_out_accuracy));
  PROXIMA_RETURN_IF_ERROR(
      ReadFraction(sft, "mean_partial_credit", &info->sft.mean_partial_credit));
  return absl::OkStatus();
}

// What a checkpoint of `kind` is, for messages.
std::string KindName(const std::string& kind) {
  if (kind == kSeqCheckpointKind) return "a sequence-policy checkpoint";
  if (kind == kRewardModelKind) return "a reward model";
  if (kind.empty()) return "an MLP policy's checkpoint";
  return absl::StrCat("a checkpoint of kind \"", kind, "\"");
}

// The archive of `path` after the integrity check, and its meta record with
// format and kind (`want`) checked.
absl::Status ParseFile(const std::string& path, const std::string& want,
                       torch::serialize::InputArchive* archive, nlohmann::json* meta) {
  PROXIMA_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  if (absl::Status intact = CheckArchiveIntegrity(bytes); !intact.ok()) {
    return absl::DataLossError(
        absl::StrCat(path, ": not a readable checkpoint: ", intact.message()));
  }
  try {
    std::istringstream in(bytes);
    archive->load_from(in, torch::Device(torch::kCPU));
    c10::IValue record;
    archive->read("meta", record);
    if (!record.isString()) return absl::DataLossError(absl::StrCat(path, ": no meta record"));
    *meta = nlohmann::json::parse(record.toStringRef());
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat(path, ": not a readable checkpoint: ", e.what()));
  }
  if (!meta->is_object()) return absl::DataLossError(absl::StrCat(path, ": bad meta record"));
  const std::string kind = meta->value("kind", std::string());
  if (kind != want && kind == kRewardModelKind) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": a reward model (written by `proxima lm reward-model`), not a sequence policy: "
              "it scores completions and cannot generate; expected one written by `proxima lm "
              "sft` or an RL run"));
  }
  if (kind != want && want != kSeqCheckpointKind) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": ", KindName(kind), ", not ", KindName(want)));
  }
  if (kind != want) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": not a sequence-policy checkpoint (",
        kind.empty() ? "an MLP policy's, written by `proxima train`"
                     : absl::StrCat("kind \"", kind, "\""),
        "); expected one written by `proxima lm sft`"));
  }
  const int format = meta->value("format", 0);
  if (format != kSeqCheckpointFormat) {
    return absl::DataLossError(absl::StrCat(path, ": unsupported sequence checkpoint format ",
                                            format, " (this build reads format ",
                                            kSeqCheckpointFormat, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> SaveSeqCheckpoint(const std::string& dir, SeqPolicyImpl& model,
                                              const SeqCheckpointInfo& info,
                                              const std::string& tag) {
  if (!tag.empty()) PROXIMA_RETURN_IF_ERROR(CheckCheckpointTag(tag));
  if (ConfigToJson(info.config) != ConfigToJson(model.config())) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint config ", info.config.DebugString(),
                                                   " is not the model's ",
                                                   model.config().DebugString()));
  }
  PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, MakeTokenizer(info.tokenizer));
  if (tokenizer->vocab_size() != info.config.vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat("the tokenizer has ", tokenizer->vocab_size(),
                                                   " ids but the model's vocab_size is ",
                                                   info.config.vocab_size));
  }
  nlohmann::json meta;
  meta["format"] = kSeqCheckpointFormat;
  if (info.kind != kSeqCheckpointKind && info.kind != kRewardModelKind) {
    return absl::InvalidArgumentError(absl::StrCat("unknown checkpoint kind \"", info.kind, "\""));
  }
  meta["kind"] = info.kind;
  if (info.kind == kRewardModelKind) {
    if (!std::isfinite(info.reward_loglik_weight)) {
      return absl::InvalidArgumentError("the reward model's loglik_weight is not finite");
    }
    meta["reward"] = {{"loglik_weight", info.reward_loglik_weight}};
  }
  meta["model"] = ConfigToJson(info.config);
  meta["tokenizer"] = {{"kind", info.tokenizer.kind}, {"bytes", info.tokenizer.data.size()}};
  meta["task"] = info.task_id;
  meta["policy_version"] = info.policy_version;
  meta["sft"] = {{"steps", info.sft.steps},
                 {"eval_prompts", info.sft.eval_prompts},
                 {"held_out_accuracy", info.sft.held_out_accuracy},
                 {"mean_partial_credit", info.sft.mean_partial_credit},
                 {"seed", info.sft.seed}};
  nlohmann::json params = nlohmann::json::array();
  PROXIMA_ASSIGN_OR_RETURN(
      const std::string bytes, SerializeArchive([&](torch::serialize::OutputArchive& archive) {
        int i = 0;
        for (const auto& p : model.named_parameters()) {
          params.push_back({{"name", p.key()}, {"shape", p.value().sizes().vec()}});
          archive.write(absl::StrCat("param_", i++),
                        p.value().detach().to(torch::kCPU).contiguous());
        }
        meta["parameters"] = params;
        torch::Tensor data = torch::empty({static_cast<int64_t>(info.tokenizer.data.size())},
                                          torch::kUInt8);
        if (!info.tokenizer.data.empty()) {
          std::memcpy(data.data_ptr(), info.tokenizer.data.data(), info.tokenizer.data.size());
        }
        archive.write("tokenizer", data);
        archive.write("meta", c10::IValue(meta.dump()));
      }));
  PROXIMA_RETURN_IF_ERROR(MakeDirs(dir));
  const std::string path =
      CheckpointPath(dir, static_cast<int64_t>(info.policy_version), tag);
  PROXIMA_RETURN_IF_ERROR(WriteFileAtomic(path, bytes));
  return path;
}

absl::StatusOr<std::string> ResolveSeqCheckpointPath(const std::string& path,
                                                     const std::string& kind) {
  if (path.empty()) return absl::InvalidArgumentError("no checkpoint path given");
  if (!IsDirectory(path)) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      return absl::NotFoundError(absl::StrCat("no such checkpoint file or directory: ", path));
    }
    return path;
  }
  std::vector<std::string> skipped;
  for (const std::string& dir : {path, path + "/checkpoints"}) {
    if (!IsDirectory(dir)) continue;
    for (const std::string& f : ListCheckpoints(dir)) {
      torch::serialize::InputArchive archive;
      nlohmann::json meta;
      const absl::Status s = ParseFile(f, kind, &archive, &meta);
      if (s.ok()) return f;
      skipped.push_back(std::string(s.message()));
    }
  }
  return absl::NotFoundError(absl::StrCat(
      "no ", kind == kRewardModelKind ? "reward-model" : "sequence-policy",
      " checkpoint (ckpt-*.pt) in ", path, " or ", path, "/checkpoints",
      skipped.empty() ? "" : absl::StrCat("; skipped: ", absl::StrJoin(skipped, "; "))));
}

absl::StatusOr<LoadedSeqCheckpoint> LoadSeqCheckpoint(const std::string& path,
                                                      const std::string& kind) {
  LoadedSeqCheckpoint out;
  PROXIMA_ASSIGN_OR_RETURN(out.path, ResolveSeqCheckpointPath(path, kind));
  torch::serialize::InputArchive archive;
  nlohmann::json meta;
  PROXIMA_RETURN_IF_ERROR(ParseFile(out.path, kind, &archive, &meta));
  out.info.kind = kind;
  auto fail = [&out](absl::string_view what) {
    return absl::DataLossError(absl::StrCat(out.path, ": ", what));
  };
  nlohmann::json params;
  try {
    if (absl::Status s = ReadInfo(meta, &out.info); !s.ok()) return fail(s.message());
    if (kind == kRewardModelKind) {
      const nlohmann::json& w = meta.at("reward").at("loglik_weight");
      if (!w.is_number() || !std::isfinite(w.get<double>())) {
        return fail("meta field 'reward.loglik_weight' is not a finite number");
      }
      out.info.reward_loglik_weight = w.get<double>();
    }
    params = meta.at("parameters");
    if (!params.is_array()) return fail("meta field 'parameters' is not a list");
  } catch (const nlohmann::json::exception& e) {
    return fail(absl::StrCat("bad meta record: ", e.what()));
  }
  try {
    torch::Tensor data;
    archive.read("tokenizer", data);
    if (data.scalar_type() != torch::kUInt8 || data.dim() != 1) {
      return fail("the tokenizer record is not a byte string");
    }
    data = data.contiguous();
    if (meta.at("tokenizer").value("bytes", int64_t{-1}) != data.numel()) {
      return fail(absl::StrCat("the tokenizer record holds ", data.numel(),
                               " bytes; the meta record says ",
                               meta.at("tokenizer").value("bytes", int64_t{-1})));
    }
    out.info.tokenizer.data.assign(static_cast<const char*>(data.data_ptr()),
                                   static_cast<size_t>(data.numel()));
  } catch (const std::exception& e) {
    return fail(absl::StrCat("no readable tokenizer record: ", e.what()));
  }
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = MakeTokenizer(out.info.tokenizer);
  if (!tokenizer.ok()) return fail(absl::StrCat("tokenizer: ", tokenizer.status().message()));
  if ((*tokenizer)->vocab_size() != out.info.config.vocab_size) {
    return fail(absl::StrCat("the tokenizer has ", (*tokenizer)->vocab_size(),
                             " ids but the model's vocab_size is ", out.info.config.vocab_size));
  }
  out.tokenizer = std::move(*tokenizer);
  try {
    torch::NoGradGuard no_grad;
    out.model = SeqPolicy(out.info.config, /*init_seed=*/0);
    const auto named = out.model->named_parameters();
    if (params.size() != named.size()) {
      return fail(absl::StrCat("holds ", params.size(), " parameters; its config builds ",
                               named.size()));
    }
    for (size_t i = 0; i < named.size(); ++i) {
      const std::string name = params[i].at("name").get<std::string>();
      const auto shape = params[i].at("shape").get<std::vector<int64_t>>();
      if (name != named[i].key() || shape != named[i].value().sizes().vec()) {
        return fail(absl::StrCat("parameter ", i, " is ", name, " [", absl::StrJoin(shape, ","),
                                 "]; the model's is ", named[i].key(), " [",
                                 absl::StrJoin(named[i].value().sizes().vec(), ","), "]"));
      }
      torch::Tensor t;
      archive.read(absl::StrCat("param_", i), t);
      if (t.sizes() != named[i].value().sizes() || t.scalar_type() != torch::kFloat32) {
        return fail(absl::StrCat("parameter ", name, " is stored as ", t.toString(), " ",
                                 c10::str(t.sizes()), ", not float ",
                                 c10::str(named[i].value().sizes())));
      }
      named[i].value().copy_(t);
    }
    out.model->eval();
    for (auto& p : out.model->parameters()) p.set_requires_grad(false);
  } catch (const nlohmann::json::exception& e) {
    return fail(absl::StrCat("bad parameter list: ", e.what()));
  } catch (const std::exception& e) {
    return fail(absl::StrCat("cannot restore the parameters: ", e.what()));
  }
  return out;
}

bool IsSeqCheckpoint(const std::string& path) {
  const absl::StatusOr<std::string> file = ResolveSeqCheckpointPath(path);
  if (!file.ok()) return false;
  torch::serialize::InputArchive archive;
  nlohmann::json meta;
  return ParseFile(*file, kSeqCheckpointKind, &archive, &meta).ok();
}

absl::StatusOr<bool> DetectSeqCheckpoint(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  if (S_ISDIR(st.st_mode)) {
    if (ResolveSeqCheckpointPath(path).ok()) return true;
    absl::StatusOr<std::string> reward_model = ResolveSeqCheckpointPath(path, kRewardModelKind);
    if (!reward_model.ok()) return false;
    return DetectSeqCheckpoint(*reward_model);  // its FailedPrecondition
  }
  torch::serialize::InputArchive archive;
  nlohmann::json meta;
  const absl::Status s = ParseFile(path, kSeqCheckpointKind, &archive, &meta);
  if (s.ok()) return true;
  if (meta.is_object() && meta.value("kind", std::string()) == kRewardModelKind) return s;
  if (s.code() == absl::StatusCode::kFailedPrecondition) return false;  // another kind
  return s;
}

}  // namespace proxima::lm

#include "learner/cli/command_help.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/envs/registry.h"
#include "common/flags.h"
#include "common/logging.h"
#include "learner/ppo_config.h"
#include "learner/ppo_config_fields.h"
#include "learner/run_files.h"
#include "nlohmann/json.hpp"

// --env (learner/cli/ppo_flags.cc): the preset `train --help` shows.
ABSL_DECLARE_FLAG(std::string, env);

namespace proxima {
namespace {

struct FlagGroup {
  const char* title;
  std::vector<const char*> flags;
  // Defaults that differ for this command from the flag's own, by flag name.
  std::map<std::string, std::string> defaults = {};
};

// The flags every learner command (status, watch, set, ...) takes.
const std::vector<const char*> kClientFlags = {"learner",  "run_dir", "json",
                                               "timeout",  "tls_ca",  "tls_cert",
                                               "tls_key",  "tls_server_name", "token_file"};

// `train`'s named groups; flags of ppo_flags.cc / learner_flags.cc not named
// here are appended as "other PPO flags" / "learner server".
const std::vector<FlagGroup>& TrainGroups() {
  static const auto* groups = new std::vector<FlagGroup>{
      {"run", {"env", "seed", "total_steps", "num_envs", "rollout_length"}},
      {"model", {"hidden_sizes", "activation", "shared_trunk", "init_log_std"}},
      {"optimization",
       {"learning_rate", "lr", "anneal_lr", "adam_eps", "num_minibatches", "update_epochs",
        "max_grad_norm"}},
      {"objective",
       {"gamma", "gae_lambda", "norm_adv", "clip_coef", "clip_vloss", "value_clip_coef",
        "ent_coef", "vf_coef", "target_kl", "adaptive_kl", "kl_target", "kl_beta", "advantage",
        "vtrace_rho_bar", "vtrace_c_bar", "normalize_obs", "obs_clip", "normalize_reward",
        "reward_clip", "clip_action"}},
      {"execution", {"device", "torch_threads", "engine"}},
      {"evaluation during training", {"eval_every", "eval_episodes"}},
      {"launch (what runs, where results go)",
       {"in_process", "actors", "actor_threads", "mode", "run_dir", "overwrite", "resume",
        "stop_when_solved", "quiet", "print_config"}},
  };
  return *groups;
}

struct CommandFlags {
  const char* usage;
  std::vector<FlagGroup> groups;
};

// Every command with its own help but `train` (whose groups are computed).
const std::map<std::string, CommandFlags>& OtherCommands() {
  static const auto* commands = new std::map<std::string, CommandFlags>{
      {"eval",
       {"proxima eval --checkpoint PATH | --policy FILE [flags]",
        {{"eval",
          {"checkpoint", "policy", "env", "episodes", "deterministic", "seed", "clip_action",
           "json"},
          {{"env", "the policy's env"},
           {"seed", "1"},
           {"clip_action", "as the policy's run trained"}}}}}},
      {"export", {"proxima export --checkpoint PATH --out FILE", {{"export", {"checkpoint", "out"}}}}},
      {"status", {"proxima status [flags]", {{"learner", kClientFlags}}}},
      {"actors",
       {"proxima actors [flags]", {{"actors", {"include_inactive"}}, {"learner", kClientFlags}}}},
      {"watch", {"proxima watch [flags]", {{"watch", {"count"}}, {"learner", kClientFlags}}}},
      {"health", {"proxima health [flags]", {{"learner", kClientFlags}}}},
      {"checkpoint",
       {"proxima checkpoint [flags]", {{"checkpoint", {"tag"}}, {"learner", kClientFlags}}}},
      {"pause", {"proxima pause [flags]", {{"learner", kClientFlags}}}},
      {"resume", {"proxima resume [flags]", {{"learner", kClientFlags}}}},
      {"set",
       {"proxima set KEY=VALUE... [flags]", {{"set", {"validate_only"}}, {"learner", kClientFlags}}}},
      {"env", {"proxima env list | proxima env replay --golden DIR", {{"env replay", {"golden"}}}}},
      {"presets", {"proxima presets [ENV]", {}}},
  };
  return *commands;
}

// A config.json value as a flag would take it: 64,64 for [64,64], none for null.
std::string ValueText(const nlohmann::json& v) {
  if (v.is_null()) return "none";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::vector<std::string> parts;
    for (const nlohmann::json& e : v) parts.push_back(e.dump());
    return absl::StrJoin(parts, ",");
  }
  return v.dump();
}

// The help text without its trailing "[default]" note, which the resolved
// value replaces.
std::string WithoutDefaultNote(const std::string& help) {
  const size_t open = help.rfind(" [");
  if (open == std::string::npos || help.empty() || help.back() != ']') return help;
  return help.substr(0, open);
}

// The PPO rows by flag name (flag and alias).
std::map<std::string, const PpoConfigField*> RowsByFlag() {
  std::map<std::string, const PpoConfigField*> rows;
  for (const PpoConfigField& row : PpoConfigFields()) {
    if (row.flag != nullptr) rows[row.flag] = &row;
    if (row.alias != nullptr) rows[row.alias] = &row;
  }
  return rows;
}

struct Preset {
  std::string env_id;
  nlohmann::json values;                       // ConfigToJson(PresetFor(env))
  std::map<std::string, std::string> sources;  // PresetSources(env)
};

void AppendGroup(const FlagGroup& group, const Preset* preset, std::string* out) {
  static const auto rows = RowsByFlag();
  std::string lines;
  for (const char* name : group.flags) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;
    const std::string dashed = absl::StrReplaceAll(flag->Name(), {{"_", "-"}});
    std::string help = flag->Help();
    std::string def = flag->DefaultValue();
    std::string note = def.empty() ? "" : absl::StrCat(" (default: ", def, ")");
    if (const auto it = group.defaults.find(name); it != group.defaults.end()) {
      help = WithoutDefaultNote(help);
      note = absl::StrCat(" (default: ", it->second, ")");
    } else if (const auto row_it = rows.find(name); preset != nullptr && row_it != rows.end()) {
      const PpoConfigField& row = *row_it->second;
      help = WithoutDefaultNote(help);
      note = absl::StrCat(" (", preset->env_id, ": ", ValueText(preset->values[row.key]), ", ",
                          preset->sources.at(row.key), ")");
    }
    absl::StrAppend(&lines, "  --", dashed, "\n      ", help, note, "\n");
  }
  if (!lines.empty()) absl::StrAppend(out, "\n", group.title, ":\n", lines);
}

// Flags defined in a file whose path ends with `file`, not in `named`.
std::vector<const char*> FlagsOfFileExcept(const std::string& file,
                                           const std::set<std::string>& named) {
  std::vector<const char*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::EndsWith(flag->Filename(), file) && named.count(std::string(name)) == 0) {
      flags.push_back(flag->Name().data());  // the registry's names live as long as the flags
    }
  }
  std::sort(flags.begin(), flags.end(),
            [](const char* a, const char* b) { return std::string(a) < b; });
  return flags;
}

absl::StatusOr<Preset> ResolvePreset(const std::string& env_id) {
  absl::StatusOr<PpoConfig> config = PresetFor(env_id);
  if (!config.ok()) return config.status();
  absl::StatusOr<std::map<std::string, std::string>> sources = PresetSources(env_id);
  if (!sources.ok()) return sources.status();
  return Preset{config->env_id, ConfigToJson(*config), *std::move(sources)};
}

}  // namespace

absl::StatusOr<std::string> CommandHelp(const std::string& command, const std::string& env_id) {
  if (command == "train") {
    absl::StatusOr<Preset> preset = ResolvePreset(env_id);
    if (!preset.ok()) return preset.status();
    std::string out = absl::StrCat(
        "usage: proxima train [--env ENV] [flags]\n"
        "\n"
        "Trains PPO on ENV: a local cluster (a learner and --actors actor processes) or, with\n"
        "--in-process, in this process. A PPO flag not given takes the value of ENV's preset,\n"
        "shown below for ",
        preset->env_id,
        " (`proxima train --env ENV --help` for another env, `proxima presets`\n"
        "for all of them). --print-config prints the resolved config.json and exits.\n"
        "Flags can also come from --flagfile FILE (one `--flag value` per line).\n");
    std::set<std::string> named;
    for (const FlagGroup& g : TrainGroups()) named.insert(g.flags.begin(), g.flags.end());
    for (const FlagGroup& g : TrainGroups()) AppendGroup(g, &*preset, &out);
    AppendGroup({"other PPO flags", FlagsOfFileExcept("learner/cli/ppo_flags.cc", named)},
                &*preset, &out);
    AppendGroup({"learner server (local cluster only)",
                 FlagsOfFileExcept("learner/cli/learner_flags.cc", named)},
                nullptr, &out);
    return out;
  }
  const auto it = OtherCommands().find(command);
  if (it == OtherCommands().end()) {
    return absl::NotFoundError(absl::StrCat("no help for '", command, "'"));
  }
  std::string out = absl::StrCat("usage: ", it->second.usage, "\n");
  for (const FlagGroup& g : it->second.groups) AppendGroup(g, nullptr, &out);
  return out;
}

std::string TrainStartLines(const PpoConfig& config, const std::set<std::string>& given,
                            const std::string& run_dir, const std::string& resumed_from) {
  const nlohmann::json values = ConfigToJson(config);
  // A resumed run's values are its checkpoint's: no preset to compare with.
  const absl::StatusOr<Preset> preset =
      resumed_from.empty() ? ResolvePreset(config.env_id) : absl::NotFoundError("resumed");
  std::vector<std::string> from_flags, from_launcher;
  for (const PpoConfigField& row : PpoConfigFields()) {
    if (std::string(row.key) == "env") continue;
    const std::string item = absl::StrCat(row.key, "=", ValueText(values[row.key]));
    const bool by_flag = (row.flag != nullptr && given.count(row.flag) > 0) ||
                         (row.alias != nullptr && given.count(row.alias) > 0);
    if (by_flag) {
      from_flags.push_back(item);
    } else if (preset.ok() && values[row.key] != preset->values[row.key]) {
      from_launcher.push_back(item);
    }
  }
  std::string out =
      resumed_from.empty()
          ? absl::StrCat("proxima train: ", config.env_id, ", preset from ",
                         preset.ok() ? preset->sources.at("learning_rate") : "its env")
          : absl::StrCat("proxima train: resuming ", config.env_id, " from ", resumed_from,
                         " with its config");
  absl::StrAppend(&out,
                  "; from flags: ", from_flags.empty() ? "none" : absl::StrJoin(from_flags, " "));
  if (!from_launcher.empty()) {
    absl::StrAppend(&out, "; set by proxima train: ", absl::StrJoin(from_launcher, " "));
  }
  absl::StrAppendFormat(&out, "\n  %d env%s x %d steps, %d epochs x %d minibatches, lr %s%s\n",
                        config.num_envs, config.num_envs == 1 ? "" : "s", config.rollout_length,
                        config.update_epochs, config.num_minibatches,
                        ValueText(values["learning_rate"]), config.anneal_lr ? " (annealed)" : "");
  absl::StrAppendFormat(
      &out, "  gamma %s, gae-lambda %s, clip-coef %s, ent-coef %s, %d env steps\n",
      ValueText(values["gamma"]), ValueText(values["gae_lambda"]), ValueText(values["clip_coef"]),
      ValueText(values["ent_coef"]), config.total_steps);
  absl::StrAppend(&out, "  run directory: ", run_dir, "\n");
  return out;
}

int PrintCommandHelp(const std::string& command, const std::string& env_id, const char* usage) {
  absl::StatusOr<std::string> help = CommandHelp(command, env_id);
  if (absl::IsNotFound(help.status())) {
    std::printf("%s", usage);
    return 0;
  }
  if (!help.ok()) ExitWithUsageError(absl::StrCat("proxima ", command), help.status());
  std::printf("%s", help->c_str());
  return 0;
}

std::string CommandProgramName(const std::vector<std::string>& positional) {
  if (positional.empty()) return "proxima";
  if (positional[0] == "env" && positional.size() == 2) {
    return absl::StrCat("proxima env ", positional[1]);
  }
  return absl::StrCat("proxima ", positional[0]);
}

std::optional<int> ParseCommandLine(const std::vector<std::string>& args, const char* usage,
                                    ParsedArgs* parsed) {
  const absl::Status s = ParseFlags(args, parsed);
  SetProcessName(CommandProgramName(parsed->positional));
  if (parsed->help && !parsed->positional.empty()) {
    return PrintCommandHelp(parsed->positional[0], absl::GetFlag(FLAGS_env), usage);
  }
  if (parsed->help || (s.ok() && parsed->positional.empty())) {
    std::printf("%s", usage);
    return parsed->help ? 0 : 2;
  }
  if (!s.ok()) ExitWithUsageError("proxima", s);
  return std::nullopt;
}

int PresetsCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() > 1) {
    err << "proxima presets: error: at most one env id (got " << args.size()
        << ")\nRun 'proxima presets --help' for usage.\n";
    return 2;
  }
  if (args.size() == 1) {
    absl::StatusOr<Preset> preset = ResolvePreset(args[0]);
    if (!preset.ok()) {
      err << "proxima presets: error: " << preset.status().message() << "\n";
      return 2;
    }
    out << preset->env_id << ": the values `proxima train --env " << preset->env_id
        << "` uses unless a flag sets them\n";
    out << absl::StrFormat("  %-22s %-14s %s\n", "key", "value", "from");
    for (const PpoConfigField& row : PpoConfigFields()) {
      out << absl::StrFormat("  %-22s %-14s %s\n", row.key, ValueText(preset->values[row.key]),
                             preset->sources.at(row.key));
    }
    return 0;
  }
  // One line per env: what differs from PpoConfig's defaults (CleanRL ppo.py).
  const nlohmann::json defaults = ConfigToJson(PpoConfig());
  out << absl::StrFormat("%-26s %-34s %s\n", "env", "preset from",
                         "values other than CleanRL ppo.py's defaults");
  for (const std::string& id : RegisteredEnvIds()) {
    absl::StatusOr<Preset> preset = ResolvePreset(id);
    if (!preset.ok()) {
      out << absl::StrFormat("%-26s (unavailable: %s)\n", id, preset.status().message());
      continue;
    }
    std::vector<std::string> changed;
    for (const PpoConfigField& row : PpoConfigFields()) {
      if (std::string(row.key) == "env" || preset->values[row.key] == defaults[row.key]) continue;
      changed.push_back(absl::StrCat(row.key, "=", ValueText(preset->values[row.key])));
    }
    out << absl::StrFormat("%-26s %-34s %s\n", id, preset->sources.at("learning_rate"),
                           changed.empty() ? "-" : absl::StrJoin(changed, " "));
  }
  out << "'proxima presets ENV' lists every value of one env and where it comes from.\n";
  return 0;
}

}  // namespace proxima

#include "common/flags.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/logging.h"

namespace proxima {
namespace {

bool IsBoolFlag(const absl::CommandLineFlag& flag) {
  return flag.IsOfType<bool>() || flag.IsOfType<std::optional<bool>>();
}

absl::Status SetFlag(absl::string_view name, std::optional<std::string> value,
                     const std::string& next, bool* consumed_next) {
  *consumed_next = false;
  const std::string canonical = absl::StrReplaceAll(name, {{"-", "_"}});
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(canonical);
  if (flag == nullptr && !value.has_value() && absl::StartsWith(canonical, "no")) {
    absl::CommandLineFlag* negated = absl::FindCommandLineFlag(canonical.substr(2));
    if (negated != nullptr && IsBoolFlag(*negated)) {
      std::string error;
      if (!negated->ParseFrom("false", &error)) return absl::InvalidArgumentError(error);
      return absl::OkStatus();
    }
  }
  if (flag == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
  }
  if (!value.has_value()) {
    if (IsBoolFlag(*flag)) {
      value = "true";
    } else if (!next.empty() && !absl::StartsWith(next, "--")) {
      value = next;
      *consumed_next = true;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
    }
  }
  std::string error;
  if (!flag->ParseFrom(*value, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value '", *value, "' for flag --", name, ": ", error));
  }
  return absl::OkStatus();
}

absl::Status ParseInto(const std::vector<std::string>& args, ParsedArgs* out, int depth) {
  if (depth > 8) return absl::InvalidArgumentError("--flagfile nested too deeply");
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || !absl::StartsWith(arg, "-") || arg == "-") {
      out->positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help" || arg == "-help") {
      out->help = true;
      continue;
    }
    absl::string_view body = arg;
    if (!absl::ConsumePrefix(&body, "--")) absl::ConsumePrefix(&body, "-");
    std::optional<std::string> value;
    absl::string_view name = body;
    if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      name = body.substr(0, eq);
      value = std::string(body.substr(eq + 1));
    }
    if (name == "flagfile") {
      std::string path;
      if (value.has_value()) {
        path = *value;
      } else if (i + 1 < args.size()) {
        path = args[++i];
      } else {
        return absl::InvalidArgumentError("flag --flagfile needs a value");
      }
      auto contents = ReadFile(path);
      if (!contents.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--flagfile: ", contents.status().message()));
      }
      std::vector<std::string> file_args;
      for (absl::string_view line : absl::StrSplit(*contents, '\n')) {
        line = absl::StripAsciiWhitespace(line);
        if (line.empty() || absl::StartsWith(line, "#")) continue;
        file_args.emplace_back(line);
      }
      absl::Status s = ParseInto(file_args, out, depth + 1);
      if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
      continue;
    }
    bool consumed = false;
    const std::string next = i + 1 < args.size() ? args[i + 1] : std::string();
    absl::Status s = SetFlag(name, value, next, &consumed);
    if (!s.ok()) return s;
    if (consumed) ++i;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseFlags(const std::vector<std::string>& args, ParsedArgs* out) {
  return ParseInto(args, out, 0);
}

absl::Status ParseFlagsWithEnv(absl::string_view env_prefix, const EnvVars& env,
                               const std::vector<std::string>& args, ParsedArgs* out) {
  EnvVars ours;
  for (const auto& [name, value] : env) {
    if (absl::StartsWith(name, env_prefix) && name.size() > env_prefix.size() && !value.empty()) {
      ours.emplace_back(name, value);
    }
  }
  // A fixed order, so that the outcome never depends on how environ is laid out.
  std::sort(ours.begin(), ours.end());
  for (const auto& [name, value] : ours) {
    const std::string flag = absl::AsciiStrToLower(name.substr(env_prefix.size()));
    const std::string dashed = absl::StrReplaceAll(flag, {{"_", "-"}});
    absl::Status s;
    if (flag == "flagfile") {
      ParsedArgs from_file;
      s = ParseInto({absl::StrCat("--flagfile=", value)}, &from_file, 0);
      if (s.ok() && !from_file.positional.empty()) {
        s = absl::InvalidArgumentError(
            absl::StrCat("unexpected argument '", from_file.positional[0], "'"));
      }
    } else if (absl::FindCommandLineFlag(flag) == nullptr) {
      s = absl::InvalidArgumentError(absl::StrCat("no such flag --", dashed));
    } else {
      bool consumed = false;
      s = SetFlag(dashed, value, "", &consumed);
    }
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", name, ": ", s.message()));
    }
  }
  return ParseInto(args, out, 0);
}

EnvVars ProcessEnvironment() {
  EnvVars env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    absl::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == absl::string_view::npos) continue;
    env.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

void ExitWithUsageError(absl::string_view program, const absl::Status& status) {
  LogRaw(absl::StrCat(program, ": error: ", status.message(), "\nRun '", program,
                      " --help' for the list of flags.\n"));
  std::exit(2);
}

std::string FlagsHelp(const std::vector<std::string>& file_substrings) {
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    for (const auto& sub : file_substrings) {
      if (absl::StrContains(flag->Filename(), sub)) {
        flags.push_back(flag);
        break;
      }
    }
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  std::string out;
  for (const auto* flag : flags) {
    std::string dashed = absl::StrReplaceAll(flag->Name(), {{"_", "-"}});
    std::string def = flag->DefaultValue();
    absl::StrAppend(&out, "  --", dashed, "\n      ", flag->Help(),
                    def.empty() ? "" : absl::StrCat(" (default: ", def, ")"), "\n");
  }
  return out;
}

bool SplitLongFlag(const std::string& arg, std::string* name, std::string* value,
                   bool* has_value) {
  if (arg.size() < 3 || arg[0] != '-' || arg[1] != '-') return false;
  const size_t eq = arg.find('=');
  *name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
  *has_value = eq != std::string::npos;
  *value = *has_value ? arg.substr(eq + 1) : "";
  return true;
}

}  // namespace proxima

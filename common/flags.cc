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

// Proxima's own flags, dashed ("total-steps"), for "did you mean" (Abseil's
// built-in flags such as --fromenv are left out).
std::vector<std::string> OwnFlagNames() {
  std::vector<std::string> names;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::StrContains(flag->Filename(), "absl/")) continue;
    names.push_back(absl::StrReplaceAll(name, {{"_", "-"}}));
  }
  std::sort(names.begin(), names.end());
  return names;
}

// "; did you mean --total-steps?" for --totl-steps, or "".
std::string FlagHint(absl::string_view name) {
  const std::string closest =
      ClosestName(absl::StrReplaceAll(name, {{"_", "-"}}), OwnFlagNames());
  return closest.empty() ? "" : absl::StrCat("; did you mean --", closest, "?");
}

absl::Status SetFlag(absl::string_view name, std::optional<std::string> value,
                     const std::string& next, bool* consumed_next, ParsedArgs* out) {
  *consumed_next = false;
  const std::string canonical = absl::StrReplaceAll(name, {{"-", "_"}});
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(canonical);
  if (flag == nullptr && !value.has_value() && absl::StartsWith(canonical, "no")) {
    absl::CommandLineFlag* negated = absl::FindCommandLineFlag(canonical.substr(2));
    if (negated != nullptr && IsBoolFlag(*negated)) {
      std::string error;
      if (!negated->ParseFrom("false", &error)) return absl::InvalidArgumentError(error);
      out->given.insert(canonical.substr(2));
      return absl::OkStatus();
    }
  }
  if (flag == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, FlagHint(name)));
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
  out->given.insert(canonical);
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
      // One flag per line: "--name=value", or "--name value" (taken as the
      // former, so that "--quiet false" is a value, not a positional).
      int line_number = 0;
      for (absl::string_view line : absl::StrSplit(*contents, '\n')) {
        ++line_number;
        line = absl::StripAsciiWhitespace(line);
        if (line.empty() || absl::StartsWith(line, "#")) continue;
        std::string file_arg(line);
        if (absl::StartsWith(line, "-")) {
          const size_t space = line.find_first_of(" \t");
          if (space != absl::string_view::npos && !absl::StrContains(line.substr(0, space), '=')) {
            file_arg = absl::StrCat(line.substr(0, space), "=",
                                    absl::StripLeadingAsciiWhitespace(line.substr(space)));
          }
        }
        absl::Status s = ParseInto({file_arg}, out, depth + 1);
        if (!s.ok()) {
          return absl::InvalidArgumentError(absl::StrCat(path, ":", line_number, ": ", s.message()));
        }
      }
      continue;
    }
    bool consumed = false;
    const std::string next = i + 1 < args.size() ? args[i + 1] : std::string();
    absl::Status s = SetFlag(name, value, next, &consumed, out);
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
      out->given.insert(from_file.given.begin(), from_file.given.end());
    } else if (absl::FindCommandLineFlag(flag) == nullptr) {
      s = absl::InvalidArgumentError(absl::StrCat("no such flag --", dashed, FlagHint(dashed)));
    } else {
      bool consumed = false;
      s = SetFlag(dashed, value, "", &consumed, out);
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

namespace {

// Optimal string alignment distance (Levenshtein plus adjacent swaps), case
// folded.
size_t EditDistance(absl::string_view a, absl::string_view b) {
  const std::string x = absl::AsciiStrToLower(a);
  const std::string y = absl::AsciiStrToLower(b);
  std::vector<std::vector<size_t>> d(x.size() + 1, std::vector<size_t>(y.size() + 1));
  for (size_t i = 0; i <= x.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= y.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= x.size(); ++i) {
    for (size_t j = 1; j <= y.size(); ++j) {
      const size_t cost = x[i - 1] == y[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[x.size()][y.size()];
}

}  // namespace

std::string ClosestName(absl::string_view word, const std::vector<std::string>& candidates) {
  if (word.empty()) return "";
  std::string best;
  size_t best_distance = 0;
  for (const std::string& c : candidates) {
    const size_t limit = std::max<size_t>(2, std::max(word.size(), c.size()) / 3);
    size_t distance = EditDistance(word, c);
    if (distance > limit && absl::StartsWithIgnoreCase(c, word)) distance = limit;
    if (distance <= limit && (best.empty() || distance < best_distance)) {
      best = c;
      best_distance = distance;
    }
  }
  return best;
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

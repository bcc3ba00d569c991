#include "learner/lm/lm_flags.h"

#include "common/flags.h"
#include "common/status_macros.h"

namespace proxima {

std::function<absl::Status(absl::string_view)> LmString(const char* name, std::string* out) {
  return [name, out](absl::string_view value) -> absl::Status {
    if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("--", name, " is empty"));
    *out = std::string(value);
    return absl::OkStatus();
  };
}

absl::Status ParseLmFlags(const std::vector<std::string>& args, const std::vector<LmFlag>& flags) {
  std::vector<std::string> names;
  for (const LmFlag& f : flags) names.push_back(f.name);
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg.substr(0, 2) != "--") {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    arg.remove_prefix(2);
    const size_t eq = arg.find('=');
    const std::string name(arg.substr(0, eq));
    std::string value;
    if (eq != absl::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
    }
    const LmFlag* flag = nullptr;
    for (const LmFlag& f : flags) {
      if (name == f.name) flag = &f;
    }
    if (flag == nullptr) {
      const std::string closest = ClosestName(name, names);
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name,
                       closest.empty() ? "" : absl::StrCat("; did you mean --", closest, "?")));
    }
    PROXIMA_RETURN_IF_ERROR(flag->set(value));
  }
  return absl::OkStatus();
}

}  // namespace proxima

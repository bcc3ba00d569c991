// The command-line flags of `proxima lm` subcommands: parsed here, not by
// absl::flags (they are each subcommand's own and must not collide with
// `proxima train`'s). --name=value or --name value; an unknown flag is named
// with the closest known one; a value that does not parse names the flag.
#ifndef PROXIMA_LEARNER_LM_LM_FLAGS_H_
#define PROXIMA_LEARNER_LM_LM_FLAGS_H_

#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace proxima {

struct LmFlag {
  const char* name;  // without the leading --
  std::function<absl::Status(absl::string_view)> set;
};

// Sets *out to a non-empty value.
std::function<absl::Status(absl::string_view)> LmString(const char* name, std::string* out);

// Sets *out to the number the value spells (integral or floating by T).
template <typename T>
std::function<absl::Status(absl::string_view)> LmNumber(const char* name, T* out) {
  return [name, out](absl::string_view text) -> absl::Status {
    bool ok = false;
    if constexpr (std::is_floating_point_v<T>) {
      ok = absl::SimpleAtod(text, out);
    } else {
      ok = absl::SimpleAtoi(text, out);
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, "=", text, " is not a valid number"));
    }
    return absl::OkStatus();
  };
}

// Applies `args` (the subcommand's arguments) to `flags`.
absl::Status ParseLmFlags(const std::vector<std::string>& args, const std::vector<LmFlag>& flags);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_LM_LM_FLAGS_H_

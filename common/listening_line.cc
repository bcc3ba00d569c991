#include "common/listening_line.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace proxima {
namespace {

constexpr absl::string_view kListeningOn = ": listening on ";

}  // namespace

std::string FormatListeningLine(absl::string_view program, absl::string_view address) {
  return absl::StrCat(program, kListeningOn, address);
}

absl::StatusOr<std::string> ParseListeningLine(absl::string_view program,
                                               absl::string_view line) {
  line = absl::StripAsciiWhitespace(line);
  absl::string_view address = line;
  if (!absl::ConsumePrefix(&address, program) || !absl::ConsumePrefix(&address, kListeningOn) ||
      address.empty()) {
    return absl::NotFoundError(absl::StrCat("not a ", program, " listening line: '", line, "'"));
  }
  return std::string(address);
}

absl::StatusOr<std::string> WaitForListeningLine(
    LineReader& reader, absl::string_view program, absl::Time deadline,
    absl::FunctionRef<void(absl::string_view line)> other_line, int wake_fd) {
  while (true) {
    absl::StatusOr<std::string> line = reader.ReadLine(deadline, wake_fd);
    if (!line.ok()) return line.status();
    absl::StatusOr<std::string> address = ParseListeningLine(program, *line);
    if (address.ok()) return address;
    other_line(*line);
  }
}

}  // namespace proxima

#include "common/lm/digit_string_task.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace proxima::lm {
namespace {

constexpr double kHeldOutFraction = 0.1;

}  // namespace

DigitStringTask::DigitStringTask(Kind kind) : kind_(kind) {
  const bool reverse = kind == Kind::kReverse;
  letter_ = reverse ? 'r' : 's';
  salt_ = reverse ? 0x72657665727365ULL : 0x736f7274ULL;  // "reverse", "sort"
  spec_.id = reverse ? "lm/Reverse-v0" : "lm/Sort-v0";
  spec_.description = reverse ? "rDIGITS= -> the digits reversed, 2-6 digits"
                              : "sDIGITS= -> the digits in ascending order, 2-6 digits";
  spec_.max_prompt_chars = kMaxDigits + 2;
  spec_.max_answer_chars = kMaxDigits;
  spec_.held_out_fraction = kHeldOutFraction;
}

TaskSplit DigitStringTask::SplitOfDigits(absl::string_view digits) const {
  return HeldOutByKey(TextKey(digits), salt_, kHeldOutFraction) ? TaskSplit::kHeldOut
                                                                : TaskSplit::kTrain;
}

std::string DigitStringTask::Solve(absl::string_view digits) const {
  std::string out(digits);
  if (kind_ == Kind::kReverse) {
    std::reverse(out.begin(), out.end());
  } else {
    std::sort(out.begin(), out.end());
  }
  return out;
}

TaskExample DigitStringTask::Sample(TaskSplit split, Rng& rng) const {
  std::string digits;
  while (true) {
    const int length = kMinDigits + static_cast<int>(rng.UniformInt(kMaxDigits - kMinDigits + 1));
    digits.clear();
    for (int i = 0; i < length; ++i) digits.push_back(static_cast<char>('0' + rng.UniformInt(10)));
    if (SplitOfDigits(digits) != split) continue;
    return TaskExample{absl::StrCat(std::string(1, letter_), digits, "="), Solve(digits)};
  }
}

absl::StatusOr<absl::string_view> DigitStringTask::Parse(absl::string_view prompt) const {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        spec_.id, " prompt \"", prompt, "\" ", why, " (expected ", std::string(1, letter_),
        "DIGITS= with ", kMinDigits, "-", kMaxDigits, " digits)"));
  };
  if (prompt.size() < 2 || prompt.front() != letter_ || prompt.back() != '=') {
    return bad("is not of the form");
  }
  const absl::string_view digits = prompt.substr(1, prompt.size() - 2);
  if (digits.size() < static_cast<size_t>(kMinDigits) ||
      digits.size() > static_cast<size_t>(kMaxDigits)) {
    return bad(absl::StrCat("has ", digits.size(), " digits"));
  }
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return bad(absl::StrCat("has '", std::string(1, c), "', not a digit"));
    }
  }
  return digits;
}

absl::StatusOr<std::string> DigitStringTask::Answer(absl::string_view prompt) const {
  PROXIMA_ASSIGN_OR_RETURN(const absl::string_view digits, Parse(prompt));
  return Solve(digits);
}

absl::StatusOr<TaskSplit> DigitStringTask::SplitOf(absl::string_view prompt) const {
  PROXIMA_ASSIGN_OR_RETURN(const absl::string_view digits, Parse(prompt));
  return SplitOfDigits(digits);
}

}  // namespace proxima::lm

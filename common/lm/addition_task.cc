#include "common/lm/addition_task.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace proxima::lm {
namespace {

constexpr uint64_t kSalt = 0x6164646974696f6eULL;  // "addition"
constexpr double kHeldOutFraction = 0.1;

int DrawOperand(Rng& rng) {
  const int digits = 1 + static_cast<int>(rng.UniformInt(3));
  const int lo = digits == 1 ? 0 : (digits == 2 ? 10 : 100);
  const int hi = digits == 1 ? 9 : (digits == 2 ? 99 : 999);
  return lo + static_cast<int>(rng.UniformInt(static_cast<uint64_t>(hi - lo + 1)));
}

// One operand: 1-3 digits, no leading zero unless it is "0".
absl::StatusOr<int> ParseOperand(absl::string_view text, absl::string_view prompt,
                                 const char* which) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("addition prompt \"", prompt, "\": the ", which,
                                                   " operand \"", text, "\" ", why,
                                                   " (expected A+B= with 1-3 digit operands)"));
  };
  if (text.empty()) return bad("is empty");
  if (text.size() > 3) return bad("has more than 3 digits");
  int value = 0;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return bad("is not a number");
    value = value * 10 + (c - '0');
  }
  if (text.size() > 1 && text[0] == '0') return bad("has a leading zero");
  return value;
}

}  // namespace

AdditionTask::AdditionTask() {
  spec_.id = "lm/Addition-v0";
  spec_.description = "A+B= -> the sum, operands of 1-3 digits";
  spec_.max_prompt_chars = 8;  // "999+999="
  spec_.max_answer_chars = 4;  // "1998"
  spec_.held_out_fraction = kHeldOutFraction;
}

TaskSplit AdditionTask::SplitOfPair(int a, int b) const {
  const uint64_t key =
      static_cast<uint64_t>(std::min(a, b)) * 1000 + static_cast<uint64_t>(std::max(a, b));
  return HeldOutByKey(key, kSalt, kHeldOutFraction) ? TaskSplit::kHeldOut : TaskSplit::kTrain;
}

TaskExample AdditionTask::Sample(TaskSplit split, Rng& rng) const {
  // Rejection: a tenth of pairs are held out, so this takes ~1.1 draws for
  // kTrain and ~10 for kHeldOut.
  while (true) {
    const int a = DrawOperand(rng);
    const int b = DrawOperand(rng);
    if (SplitOfPair(a, b) != split) continue;
    return TaskExample{absl::StrCat(a, "+", b, "="), absl::StrCat(a + b)};
  }
}

absl::StatusOr<std::pair<int, int>> AdditionTask::Parse(absl::string_view prompt) const {
  const size_t plus = prompt.find('+');
  if (prompt.empty() || prompt.back() != '=' || plus == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "addition prompt \"", prompt, "\" is not of the form A+B= (1-3 digit operands)"));
  }
  PROXIMA_ASSIGN_OR_RETURN(const int a, ParseOperand(prompt.substr(0, plus), prompt, "first"));
  PROXIMA_ASSIGN_OR_RETURN(
      const int b,
      ParseOperand(prompt.substr(plus + 1, prompt.size() - plus - 2), prompt, "second"));
  return std::make_pair(a, b);
}

absl::StatusOr<std::string> AdditionTask::Answer(absl::string_view prompt) const {
  PROXIMA_ASSIGN_OR_RETURN(const auto ab, Parse(prompt));
  return absl::StrCat(ab.first + ab.second);
}

absl::StatusOr<TaskSplit> AdditionTask::SplitOf(absl::string_view prompt) const {
  PROXIMA_ASSIGN_OR_RETURN(const auto ab, Parse(prompt));
  return SplitOfPair(ab.first, ab.second);
}

}  // namespace proxima::lm

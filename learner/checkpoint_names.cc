#include "learner/checkpoint_names.h"

#include <algorithm>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"

namespace proxima {
namespace {

constexpr char kPrefix[] = "ckpt-";

std::string Basename(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

absl::Status CheckCheckpointTag(const std::string& tag) {
  const bool ok = !tag.empty() && tag.size() <= 64 &&
                  std::all_of(tag.begin(), tag.end(), [](char c) {
                    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                           c == '_';
                  });
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "checkpoint tag '", tag, "' must be 1 to 64 letters, digits, '-' or '_'"));
}

std::string CheckpointPath(const std::string& dir, int64_t version, const std::string& tag) {
  return absl::StrFormat("%s/%s%012d%s%s", dir, kPrefix, version,
                         tag.empty() ? "" : absl::StrCat("-", tag), kCheckpointSuffix);
}

int64_t CheckpointVersion(const std::string& path, std::string* tag) {
  const std::string name = Basename(path);
  if (!absl::StartsWith(name, kPrefix) || !absl::EndsWith(name, kCheckpointSuffix)) return -1;
  std::string digits = name.substr(sizeof(kPrefix) - 1, name.size() - (sizeof(kPrefix) - 1) -
                                                            (sizeof(kCheckpointSuffix) - 1));
  std::string label;
  if (const size_t dash = digits.find('-'); dash != std::string::npos) {
    label = digits.substr(dash + 1);
    digits.resize(dash);
    if (!CheckCheckpointTag(label).ok()) return -1;
  }
  int64_t v = 0;
  if (digits.empty() || !absl::SimpleAtoi(digits, &v) || v < 0) return -1;
  if (tag != nullptr) *tag = label;
  return v;
}

std::vector<std::string> ListCheckpoints(const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> files = ListFiles(dir, kCheckpointSuffix);
  std::vector<std::string> out;
  if (!files.ok()) return out;
  for (const std::string& f : *files) {
    if (CheckpointVersion(f) >= 0) out.push_back(f);
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    std::string tag_a, tag_b;
    const int64_t va = CheckpointVersion(a, &tag_a), vb = CheckpointVersion(b, &tag_b);
    if (va != vb) return va > vb;
    return tag_a < tag_b;  // "" (untagged) first
  });
  return out;
}

}  // namespace proxima

#include "learner/server/auth.h"

#include <optional>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/grpc/channel_security.h"

namespace proxima {
namespace {

std::optional<Role> ParseRole(absl::string_view name) {
  if (name == "actor") return Role::kActor;
  if (name == "monitor") return Role::kMonitor;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

// Equality in time that depends only on `presented`'s length: every byte of
// it is compared (against `stored` repeated), with no early exit.
bool ConstantTimeEquals(absl::string_view stored, absl::string_view presented) {
  if (stored.empty()) return false;
  size_t diff = stored.size() ^ presented.size();
  for (size_t i = 0; i < presented.size(); ++i) {
    diff |= static_cast<unsigned char>(stored[i % stored.size()] ^ presented[i]);
  }
  return diff == 0;
}

// Adds one "ROLE" + token entry; `where` locates it in errors.
absl::Status AddEntry(absl::string_view role_name, absl::string_view token,
                      const std::string& where, TokenTable* table) {
  std::optional<Role> role = ParseRole(role_name);
  if (!role) {
    // Not echoed: a line written the wrong way round would put a token here.
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": unknown role (expected actor, monitor or admin)"));
  }
  absl::Status ok = CheckTokenSyntax(token, where);
  if (!ok.ok()) return ok;
  table->Add(*role, std::string(token));
  return absl::OkStatus();
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kActor:
      return "actor";
    case Role::kMonitor:
      return "monitor";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

absl::StatusOr<TokenTable> TokenTable::ParseFile(absl::string_view text, absl::string_view path) {
  TokenTable table;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    const std::string where = absl::StrCat(path, ":", line_number);
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 2) {
      // Say how many fields, not what they were: one of them may be a token.
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": expected 'ROLE TOKEN' (2 fields), found ", fields.size(), " fields"));
    }
    absl::Status ok = AddEntry(fields[0], fields[1], where, &table);
    if (!ok.ok()) return ok;
  }
  if (table.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no tokens in the file"));
  }
  return table;
}

absl::StatusOr<TokenTable> TokenTable::ParseList(absl::string_view list,
                                                 absl::string_view source) {
  TokenTable table;
  int position = 0;
  for (absl::string_view item : absl::StrSplit(list, ',')) {
    ++position;
    item = absl::StripAsciiWhitespace(item);
    if (item.empty()) continue;
    const std::string where = absl::StrCat(source, " entry ", position);
    const size_t colon = item.find(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": expected ROLE:TOKEN"));
    }
    absl::Status ok = AddEntry(item.substr(0, colon), item.substr(colon + 1), where, &table);
    if (!ok.ok()) return ok;
  }
  if (table.empty()) return absl::InvalidArgumentError(absl::StrCat(source, ": no tokens"));
  return table;
}

void TokenTable::Add(Role role, const std::string& token) {
  for (Entry& e : entries_) {
    if (e.token == token) {
      e.roles |= static_cast<uint8_t>(role);
      return;
    }
  }
  entries_.push_back(Entry{token, static_cast<uint8_t>(role)});
}

uint8_t TokenTable::RolesOf(absl::string_view token) const {
  uint8_t roles = 0;
  for (const Entry& e : entries_) {
    const uint8_t mask = static_cast<uint8_t>(-static_cast<int>(ConstantTimeEquals(e.token, token)));
    roles |= e.roles & mask;
  }
  return roles;
}

std::string RandomToken() {
  std::random_device device;
  std::string out;
  constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 8; ++i) {
    uint32_t word = device();
    for (int j = 0; j < 8; ++j, word >>= 4) out.push_back(kHex[word & 15]);
  }
  return out;
}

grpc::Status CallAuthorizer::Check(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, Access access) const {
  if (tokens_.empty()) return grpc::Status::OK;
  auto it = metadata.find(kAuthorizationMetadataKey);
  absl::string_view value;
  if (it != metadata.end()) value = absl::string_view(it->second.data(), it->second.size());
  // The scheme is case-insensitive (RFC 7235).
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing bearer token (metadata 'authorization: Bearer <token>')");
  }
  const uint8_t roles = tokens_.RolesOf(value.substr(kScheme.size()));
  if (roles == 0) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bearer token not recognised");
  }
  uint8_t allowed = 0;
  const char* needed = "";
  switch (access) {
    case Access::kLearner:
      allowed = static_cast<uint8_t>(Role::kActor);
      needed = "the Learner service needs role actor";
      break;
    case Access::kMonitor:
      allowed = static_cast<uint8_t>(Role::kMonitor) | static_cast<uint8_t>(Role::kAdmin);
      needed = "the Monitor service needs role monitor or admin";
      break;
    case Access::kAdmin:
      allowed = static_cast<uint8_t>(Role::kAdmin);
      needed = "the Admin service needs role admin";
      break;
  }
  if ((roles & allowed) == 0) return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, needed);
  return grpc::Status::OK;
}

}  // namespace proxima

// Bearer-token authorization of the learner's RPCs (docs/security.md).
//
// A TokenTable maps tokens to roles:
//   actor    proxima.v1.Learner (Register, StreamTrajectories, WatchWeights)
//   monitor  proxima.v1.Monitor (read-only: status, actors, metrics)
//   admin    proxima.v1.Admin, and Monitor
// A token may hold several roles (listed once per role). CallAuthorizer
// checks the `authorization: Bearer <token>` metadata of a call against the
// access a service needs:
//   no table (no tokens configured)   every call allowed (a trusted network)
//   metadata missing / not Bearer     UNAUTHENTICATED "missing bearer token"
//   token not in the table            UNAUTHENTICATED "not recognised"
//   token without a needed role       PERMISSION_DENIED naming the role needed
// Messages never contain the token. Lookup compares the presented token with
// every entry in time that depends only on the presented token's length
// (no early exit), so response timing does not reveal how much of a guess
// was right.
//
// This is a handler check, not a gRPC AuthMetadataProcessor: that hook runs
// only with secure credentials, and tokens must also guard plaintext
// loopback. Each handler calls Check() first, before it counts or changes
// anything, and rejects the call with the returned status.
//
// Thread-safety: immutable after construction; Check() may run on any
// thread concurrently.
#ifndef PROXIMA_LEARNER_SERVER_AUTH_H_
#define PROXIMA_LEARNER_SERVER_AUTH_H_

#include <grpcpp/support/status.h>
#include <grpcpp/support/string_ref.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace proxima {

enum class Role : uint8_t { kActor = 1, kMonitor = 2, kAdmin = 4 };

// "actor", "monitor", "admin".
const char* RoleName(Role role);

// What a service requires of a caller.
enum class Access {
  kLearner,  // role actor
  kMonitor,  // role monitor or admin
  kAdmin,    // role admin
};

class TokenTable {
 public:
  // A token file: one "ROLE TOKEN" per line (any run of spaces or tabs
  // between them), blank lines and lines starting with '#' ignored, several
  // tokens per role allowed. `path` names the file in errors, which give the
  // line number and never the token: InvalidArgument for an unknown role, a
  // missing token, extra fields or a token with characters outside
  // 0x21..0x7e; also for a file with no token at all.
  static absl::StatusOr<TokenTable> ParseFile(absl::string_view text, absl::string_view path);

  // "ROLE:TOKEN,ROLE:TOKEN,..." (the value of $PROXIMA_AUTH_TOKENS);
  // `source` names it in errors, which give the entry's position.
  static absl::StatusOr<TokenTable> ParseList(absl::string_view list, absl::string_view source);

  void Add(Role role, const std::string& token);
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }

  // The roles of `token` as a bit set of Role values; 0 when unknown.
  uint8_t RolesOf(absl::string_view token) const;

 private:
  struct Entry {
    std::string token;
    uint8_t roles = 0;
  };
  std::vector<Entry> entries_;
};

// A fresh random token (64 hex digits from std::random_device), e.g. for the
// learner's in-process channel, which never lets it leave the process.
std::string RandomToken();

class CallAuthorizer {
 public:
  // With an empty table every call is allowed.
  explicit CallAuthorizer(TokenTable tokens) : tokens_(std::move(tokens)) {}

  bool enabled() const { return !tokens_.empty(); }

  // OK, UNAUTHENTICATED or PERMISSION_DENIED for a call with this client
  // metadata to a service needing `access`.
  grpc::Status Check(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                     Access access) const;

 private:
  TokenTable tokens_;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_AUTH_H_

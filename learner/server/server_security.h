// The learner's channel security, loaded from LearnerOptions at start-up
// (docs/security.md):
//   * TLS when --tls-cert and --tls-key are given (PEM). --tls-ca adds a CA
//     bundle for client certificates: a client that presents one must chain
//     to it (GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY); with
//     --require-client-cert every client must present one
//     (..._REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY: mutual TLS).
//     Without --tls-cert the server listens in plaintext.
//   * Bearer tokens from --auth-tokens-file or $PROXIMA_AUTH_TOKENS
//     (learner/server/auth.h for formats and roles); none: no token checks.
//
// Files are read once, here; errors are InvalidArgument naming the flag and
// file (and line), never a token, so `proxima-learner` exits 2 on them.
#ifndef PROXIMA_LEARNER_SERVER_SERVER_SECURITY_H_
#define PROXIMA_LEARNER_SERVER_SERVER_SECURITY_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "learner/server/auth.h"
#include "learner/server/learner_options.h"

namespace proxima {

struct ServerSecurity {
  std::shared_ptr<grpc::ServerCredentials> credentials;  // TLS or insecure
  bool tls = false;
  bool client_cert_required = false;
  TokenTable tokens;  // empty: calls are not checked
};

absl::StatusOr<ServerSecurity> LoadServerSecurity(const LearnerOptions& options);

// A line for the learner's log: "plaintext", "TLS", "TLS, client certificate
// required", plus "N bearer tokens" or "no tokens". No secrets.
std::string DescribeServerSecurity(const ServerSecurity& security);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_SERVER_SECURITY_H_

// ChannelSecurity: how a client of the learner — an actor, the `proxima`
// status/admin commands, a test — secures its channel. Two independent parts:
//
//   * TLS. On when a CA bundle (--tls-ca) or a client certificate
//     (--tls-cert/--tls-key) is given. The learner's certificate is verified
//     against the CA bundle (the system roots when none is given) and its
//     name against the dialed host, or against --tls-server-name when set
//     (for dialing by IP address or through a tunnel). A client certificate
//     and key, when given, are presented for mutual TLS.
//   * A bearer token. When set, every call carries the metadata
//     `authorization: Bearer <token>` (a client interceptor adds it, so no
//     call site can forget it; it works on plaintext channels too, unlike
//     gRPC call credentials). The learner checks it (learner/server/auth.h).
//
// Secrets are read once, when the options are loaded; nothing here prints a
// token, and errors name the file, never its contents. A token is one line
// of visible ASCII (0x21..0x7e, so it is a valid HTTP/2 header value); one
// trailing newline (\n or \r\n) is stripped.
//
// Thread-safety: a loaded ChannelSecurity is immutable; copies are cheap
// enough for start-up (a few KiB of PEM text).
#ifndef PROXIMA_COMMON_GRPC_CHANNEL_SECURITY_H_
#define PROXIMA_COMMON_GRPC_CHANNEL_SECURITY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/client_interceptor.h"

namespace proxima {

// Metadata key and value prefix of the bearer token.
inline constexpr char kAuthorizationMetadataKey[] = "authorization";
inline constexpr char kBearerPrefix[] = "Bearer ";
// Environment variable a client reads its token from when no token file is
// given (outside the PROXIMA_ACTOR_/PROXIMA_LEARNER_ flag namespaces).
inline constexpr char kTokenEnvVar[] = "PROXIMA_TOKEN";

// Paths as given on the command line; empty = not given. The flag names in
// error messages are these fields' flag spellings.
struct ClientSecurityOptions {
  std::string tls_ca;           // --tls-ca: PEM CA bundle that signed the learner's certificate
  std::string tls_cert;         // --tls-cert: PEM client certificate (mutual TLS)
  std::string tls_key;          // --tls-key: its PEM private key
  std::string tls_server_name;  // --tls-server-name: name expected in the learner's certificate
  std::string token_file;       // --token-file: file holding the bearer token
};

class ChannelSecurity {
 public:
  // Plaintext, no token.
  ChannelSecurity() = default;

  // Reads the files named by `options`. The token comes from
  // options.token_file, else from `env_token` (the value of $PROXIMA_TOKEN,
  // empty when unset). InvalidArgument naming the flag for: a file that
  // cannot be read or is empty, --tls-cert without --tls-key or the reverse,
  // --tls-server-name without TLS, a token with characters outside
  // 0x21..0x7e.
  static absl::StatusOr<ChannelSecurity> Load(const ClientSecurityOptions& options,
                                              absl::string_view env_token);

  // Plaintext with `token` (tests and the learner's in-process channel).
  static ChannelSecurity TokenOnly(std::string token);

  bool tls() const { return tls_; }
  bool has_token() const { return !token_.empty(); }

  // TLS or insecure channel credentials.
  std::shared_ptr<grpc::ChannelCredentials> Credentials() const;

  // Sets what `args` needs for these credentials (the server-name override).
  void ApplyTo(grpc::ChannelArguments* args) const;

  // Interceptor factories that attach the token to every call (none without
  // a token).
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
  Interceptors() const;

  // A channel to `target` with `args`, these credentials and the token.
  std::shared_ptr<grpc::Channel> CreateChannel(const std::string& target,
                                               grpc::ChannelArguments args) const;

 private:
  bool tls_ = false;
  std::string ca_pem_;
  std::string cert_pem_;
  std::string key_pem_;
  std::string server_name_;
  std::string token_;
};

// Checks that `token` is a usable bearer token: non-empty, visible ASCII
// only. The error says what is wrong and names `where` (a flag, a file and
// line, a variable), never the token.
absl::Status CheckTokenSyntax(absl::string_view token, absl::string_view where);

// The token in the file at `path`: its contents with one trailing newline
// removed, checked with CheckTokenSyntax. `flag` names the flag in errors.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path, absl::string_view flag);

// The contents of a PEM file named by `flag` (InvalidArgument when it
// cannot be read, is empty, or holds no "-----BEGIN").
absl::StatusOr<std::string> ReadPemFile(const std::string& path, absl::string_view flag);

}  // namespace proxima

#endif  // PROXIMA_COMMON_GRPC_CHANNEL_SECURITY_H_

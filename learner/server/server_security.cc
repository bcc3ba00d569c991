#include "learner/server/server_security.h"

#include <grpcpp/security/server_credentials.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc/channel_security.h"
#include "common/file_util.h"

namespace proxima {

absl::StatusOr<ServerSecurity> LoadServerSecurity(const LearnerOptions& options) {
  absl::Status valid = options.Validate();
  if (!valid.ok()) return valid;
  ServerSecurity out;
  if (options.tls_cert.empty()) {
    out.credentials = grpc::InsecureServerCredentials();
  } else {
    absl::StatusOr<std::string> cert = ReadPemFile(options.tls_cert, "tls-cert");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPemFile(options.tls_key, "tls-key");
    if (!key.ok()) return key.status();
    grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    ssl.pem_key_cert_pairs.push_back({std::move(*key), std::move(*cert)});
    if (!options.tls_ca.empty()) {
      absl::StatusOr<std::string> ca = ReadPemFile(options.tls_ca, "tls-ca");
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = std::move(*ca);
      ssl.client_certificate_request =
          options.require_client_cert
              ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
              : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    out.credentials = grpc::SslServerCredentials(ssl);
    out.tls = true;
    out.client_cert_required = options.require_client_cert;
  }
  if (!options.auth_tokens_file.empty()) {
    absl::StatusOr<std::string> text = ReadFile(options.auth_tokens_file);
    if (!text.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--auth-tokens-file: cannot read '",
                                                     options.auth_tokens_file,
                                                     "' (missing or not readable)"));
    }
    absl::StatusOr<TokenTable> tokens =
        TokenTable::ParseFile(*text, absl::StrCat("--auth-tokens-file ", options.auth_tokens_file));
    if (!tokens.ok()) return tokens.status();
    out.tokens = std::move(*tokens);
  } else if (!options.auth_tokens.empty()) {
    absl::StatusOr<TokenTable> tokens = TokenTable::ParseList(options.auth_tokens, kAuthTokensEnvVar);
    if (!tokens.ok()) return tokens.status();
    out.tokens = std::move(*tokens);
  }
  return out;
}

std::string DescribeServerSecurity(const ServerSecurity& security) {
  std::string s = security.tls ? (security.client_cert_required
                                      ? "TLS, client certificate required"
                                      : "TLS")
                               : "plaintext";
  if (security.tokens.empty()) {
    absl::StrAppend(&s, ", no bearer tokens (every call allowed)");
  } else {
    absl::StrAppend(&s, ", ", security.tokens.size(), " bearer token(s) checked on every call");
  }
  return s;
}

}  // namespace proxima

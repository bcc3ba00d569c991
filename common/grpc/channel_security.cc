#include "common/grpc/channel_security.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/interceptor.h"

namespace proxima {
namespace {

using grpc::experimental::ClientInterceptorFactoryInterface;
using grpc::experimental::ClientRpcInfo;
using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::Interceptor;
using grpc::experimental::InterceptorBatchMethods;

// Adds `authorization: <value>` to the initial metadata of a call that does
// not carry one already (a call site may set its own, e.g. in tests).
class TokenInterceptor : public Interceptor {
 public:
  explicit TokenInterceptor(std::shared_ptr<const std::string> value) : value_(std::move(value)) {}

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      std::multimap<std::string, std::string>* metadata = methods->GetSendInitialMetadata();
      if (metadata->find(kAuthorizationMetadataKey) == metadata->end()) {
        metadata->emplace(kAuthorizationMetadataKey, *value_);
      }
    }
    methods->Proceed();
  }

 private:
  std::shared_ptr<const std::string> value_;
};

class TokenInterceptorFactory : public ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(const std::string& token)
      : value_(std::make_shared<const std::string>(absl::StrCat(kBearerPrefix, token))) {}

  Interceptor* CreateClientInterceptor(ClientRpcInfo*) override {
    return new TokenInterceptor(value_);
  }

 private:
  std::shared_ptr<const std::string> value_;
};

absl::Status FlagError(absl::string_view flag, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", what));
}

// The file's contents; InvalidArgument naming the flag when it cannot be
// read. (ReadFile cannot tell an unreadable file from a missing one.)
absl::StatusOr<std::string> ReadFlagFile(const std::string& path, absl::string_view flag) {
  absl::StatusOr<std::string> contents = ReadFile(path);
  if (!contents.ok()) {
    return FlagError(flag, absl::StrCat("cannot read '", path, "' (missing or not readable)"));
  }
  return contents;
}

}  // namespace

absl::Status CheckTokenSyntax(absl::string_view token, absl::string_view where) {
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": empty token"));
  for (const char c : token) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": the token may hold only visible ASCII characters (no spaces or controls)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path, absl::string_view flag) {
  absl::StatusOr<std::string> contents = ReadFlagFile(path, flag);
  if (!contents.ok()) return contents.status();
  std::string token = std::move(*contents);
  if (absl::EndsWith(token, "\n")) token.pop_back();
  if (absl::EndsWith(token, "\r")) token.pop_back();
  absl::Status ok = CheckTokenSyntax(token, absl::StrCat("--", flag, " '", path, "'"));
  if (!ok.ok()) return ok;
  return token;
}

absl::StatusOr<std::string> ReadPemFile(const std::string& path, absl::string_view flag) {
  absl::StatusOr<std::string> contents = ReadFlagFile(path, flag);
  if (!contents.ok()) return contents.status();
  if (contents->empty()) return FlagError(flag, absl::StrCat("'", path, "' is empty"));
  if (!absl::StrContains(*contents, "-----BEGIN")) {
    return FlagError(flag, absl::StrCat("'", path, "' is not a PEM file (no -----BEGIN line)"));
  }
  return contents;
}

absl::StatusOr<ChannelSecurity> ChannelSecurity::Load(const ClientSecurityOptions& options,
                                                      absl::string_view env_token) {
  ChannelSecurity s;
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key go together (a client certificate and its key)");
  }
  s.tls_ = !options.tls_ca.empty() || !options.tls_cert.empty();
  if (!options.tls_server_name.empty() && !s.tls_) {
    return absl::InvalidArgumentError(
        "--tls-server-name needs TLS (--tls-ca, or --tls-cert with --tls-key)");
  }
  if (!options.tls_ca.empty()) {
    absl::StatusOr<std::string> pem = ReadPemFile(options.tls_ca, "tls-ca");
    if (!pem.ok()) return pem.status();
    s.ca_pem_ = std::move(*pem);
  }
  if (!options.tls_cert.empty()) {
    absl::StatusOr<std::string> cert = ReadPemFile(options.tls_cert, "tls-cert");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPemFile(options.tls_key, "tls-key");
    if (!key.ok()) return key.status();
    s.cert_pem_ = std::move(*cert);
    s.key_pem_ = std::move(*key);
  }
  s.server_name_ = options.tls_server_name;
  if (!options.token_file.empty()) {
    absl::StatusOr<std::string> token = ReadTokenFile(options.token_file, "token-file");
    if (!token.ok()) return token.status();
    s.token_ = std::move(*token);
  } else if (!env_token.empty()) {
    std::string token(env_token);
    if (absl::EndsWith(token, "\n")) token.pop_back();
    absl::Status ok = CheckTokenSyntax(token, kTokenEnvVar);
    if (!ok.ok()) return ok;
    s.token_ = std::move(token);
  }
  return s;
}

ChannelSecurity ChannelSecurity::TokenOnly(std::string token) {
  ChannelSecurity s;
  s.token_ = std::move(token);
  return s;
}

std::shared_ptr<grpc::ChannelCredentials> ChannelSecurity::Credentials() const {
  if (!tls_) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem_;  // empty: gRPC's default roots
  ssl.pem_private_key = key_pem_;
  ssl.pem_cert_chain = cert_pem_;
  return grpc::SslCredentials(ssl);
}

void ChannelSecurity::ApplyTo(grpc::ChannelArguments* args) const {
  if (tls_ && !server_name_.empty()) args->SetSslTargetNameOverride(server_name_);
}

std::vector<std::unique_ptr<ClientInterceptorFactoryInterface>> ChannelSecurity::Interceptors()
    const {
  std::vector<std::unique_ptr<ClientInterceptorFactoryInterface>> out;
  if (!token_.empty()) out.push_back(std::make_unique<TokenInterceptorFactory>(token_));
  return out;
}

std::shared_ptr<grpc::Channel> ChannelSecurity::CreateChannel(const std::string& target,
                                                              grpc::ChannelArguments args) const {
  ApplyTo(&args);
  if (token_.empty()) return grpc::CreateCustomChannel(target, Credentials(), args);
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, Credentials(), args,
                                                                 Interceptors());
}

}  // namespace proxima

#include "learner/server/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/grpc_util.h"

namespace proxima {
namespace {

// Parses "A.B.C.D:PORT" or "[IPV6]:PORT" into a socket address.
absl::Status ParseBindAddress(const std::string& listen, sockaddr_storage* out, bool* ipv6) {
  std::memset(out, 0, sizeof(*out));
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(listen).substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad HOST:PORT '", listen, "'"));
  }
  std::string host = listen.substr(0, colon);
  *ipv6 = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (*ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a->sin6_addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("bad IPv6 address in '", listen, "'"));
    }
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(out);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    if (host == "localhost") host = "127.0.0.1";
    if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the host in '", listen, "' must be a numeric IPv4 address, [IPv6] or localhost"));
    }
  }
  return absl::OkStatus();
}

MHD_Result AddQueryArgument(void* cls, MHD_ValueKind /*kind*/, const char* key,
                            const char* value) {
  auto* query = static_cast<std::map<std::string, std::string>*>(cls);
  (*query)[key] = value == nullptr ? "" : value;
  return MHD_YES;
}

MHD_Result HandleRequest(void* cls, MHD_Connection* connection, const char* url,
                         const char* method, const char* /*version*/,
                         const char* /*upload_data*/, size_t* upload_data_size,
                         void** /*req_cls*/) {
  if (*upload_data_size != 0) {
    *upload_data_size = 0;  // a body: read and ignored (the endpoints are read-only)
    return MHD_YES;
  }
  HttpRequest request;
  request.method = method;
  request.path = url;
  MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &AddQueryArgument,
                            &request.query);
  if (const char* auth = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_AUTHORIZATION)) {
    request.authorization = auth;
  }
  const HttpResponse reply = static_cast<const HttpServer*>(cls)->Handle(request);
  MHD_Response* response = MHD_create_response_from_buffer(
      reply.body.size(), const_cast<char*>(reply.body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type.c_str());
  for (const auto& [name, value] : reply.headers) {
    MHD_add_response_header(response, name.c_str(), value.c_str());
  }
  const MHD_Result r = MHD_queue_response(connection, static_cast<unsigned int>(reply.code),
                                          response);
  MHD_destroy_response(response);
  return r;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& listen,
                                                              absl::string_view flag,
                                                              Handler handler) {
  sockaddr_storage addr;
  bool ipv6 = false;
  absl::Status parsed = ParseBindAddress(listen, &addr, &ipv6);
  if (!parsed.ok()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", parsed.message()));
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->handler_ = std::move(handler);
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;  // errors are returned, not logged
  if (ipv6) flags |= MHD_USE_IPv6;
  s->daemon_ = MHD_start_daemon(flags, 0, nullptr, nullptr, &HandleRequest, s.get(),
                                MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&addr),
                                MHD_OPTION_CONNECTION_TIMEOUT, 30U, MHD_OPTION_END);
  if (s->daemon_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat(flag, ": cannot serve on ", listen, " (address in use or not local?)"));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(s->daemon_, MHD_DAEMON_INFO_LISTEN_FD);
  sockaddr_storage bound;
  socklen_t len = sizeof(bound);
  if (info == nullptr ||
      getsockname(info->listen_fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    return absl::InternalError(absl::StrCat(flag, ": cannot read the bound port"));
  }
  const int port = ntohs(bound.ss_family == AF_INET6
                             ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                             : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  s->address_ = DialableAddress(listen, port);
  return s;
}

HttpServer::~HttpServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace proxima

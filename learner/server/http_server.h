// HttpServer: a small read-only HTTP/1.1 server for the learner's web
// endpoints (Prometheus' /metrics, the dashboard), on GNU libmicrohttpd
// (Debian's libmicrohttpd-dev). prometheus-cpp's civetweb exposer cannot be
// used: civetweb asks for 100 KiB thread stacks, smaller than the static TLS
// of LibTorch's dependencies, so pthread_create fails with EINVAL.
//
// One internal thread (default stack size) serves every connection in turn
// and calls the handler for each complete request; requests are small and
// handlers answer from memory, so one thread is enough. A request body is
// read and ignored (the endpoints are read-only). The handler sees the
// method, the path, the decoded query arguments and the Authorization
// header, and returns the whole response.
//
// Thread-safety: the handler runs on the server's thread and must stay
// callable until the server is destroyed; the destructor stops the thread,
// blocking until it has left any request in progress.
#ifndef PROXIMA_LEARNER_SERVER_HTTP_SERVER_H_
#define PROXIMA_LEARNER_SERVER_HTTP_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct MHD_Daemon;

namespace proxima {

struct HttpRequest {
  std::string method;  // "GET", "HEAD", "POST", ...
  std::string path;    // "/api/status" (no query)
  std::map<std::string, std::string> query;  // decoded ?key=value arguments
  std::string authorization;                 // the Authorization header, or ""
};

struct HttpResponse {
  int code = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Binds `listen` (A.B.C.D:PORT, [IPV6]:PORT or localhost:PORT; port 0 picks
  // a free port) and serves every request with `handler`. `flag` names the
  // flag the address came from in errors ("--metrics-listen"):
  // InvalidArgument for a malformed address, Unavailable when it cannot be
  // bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& listen,
                                                           absl::string_view flag,
                                                           Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // HOST:PORT a client can dial (a wildcard host becomes 127.0.0.1).
  const std::string& address() const { return address_; }

  // Runs the handler (what the server thread does for a request).
  HttpResponse Handle(const HttpRequest& request) const { return handler_(request); }

 private:
  HttpServer() = default;

  std::string address_;
  Handler handler_;
  MHD_Daemon* daemon_ = nullptr;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_HTTP_SERVER_H_

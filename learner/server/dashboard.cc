#include "learner/server/dashboard.h"

#include <grpcpp/support/string_ref.h>

#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/channel_security.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace proxima {
namespace {

constexpr char kJson[] = "application/json";

HttpResponse Text(int code, std::string body) {
  HttpResponse r;
  r.code = code;
  r.body = std::move(body);
  return r;
}

// Proto JSON as `proxima status --json` prints it: field names as in the
// .proto files, zero values included (a page need not special-case a
// missing key). NaN and infinities come out as the strings "NaN",
// "Infinity", "-Infinity".
std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) return "null";
  return json;
}

// The Monitor service's token check (CallAuthorizer::Check) on the
// request's Authorization header, as HTTP: 401 / 403, or code 0 when allowed.
HttpResponse Authorize(const CallAuthorizer* auth, const HttpRequest& request) {
  if (auth == nullptr || !auth->enabled()) return Text(0, "");
  std::multimap<grpc::string_ref, grpc::string_ref> metadata;
  if (!request.authorization.empty()) {
    metadata.emplace(kAuthorizationMetadataKey, request.authorization);
  }
  const grpc::Status s = auth->Check(metadata, Access::kMonitor);
  if (s.ok()) return Text(0, "");
  if (s.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
    return Text(403, absl::StrCat(s.error_message(), "\n"));
  }
  HttpResponse r = Text(401, absl::StrCat(s.error_message(),
                                          "; send 'Authorization: Bearer TOKEN' (a monitor "
                                          "token), or open the page as /#token=TOKEN\n"));
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"proxima\"");
  return r;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Dashboard>> Dashboard::Start(const std::string& listen,
                                                            Sources sources) {
  std::unique_ptr<Dashboard> d(new Dashboard(std::move(sources)));
  const Dashboard* self = d.get();
  PROXIMA_ASSIGN_OR_RETURN(
      d->http_, HttpServer::Start(listen, "--dashboard-listen",
                                  [self](const HttpRequest& r) { return self->Handle(r); }));
  return d;
}

HttpResponse Dashboard::Handle(const HttpRequest& request) const {
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r = Text(405, "the dashboard is read-only: GET only\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  HttpResponse reply;
  reply.headers.emplace_back("Cache-Control", "no-store");
  if (request.path == "/" || request.path == "/index.html") {
    reply.content_type = "text/html; charset=utf-8";
    reply.body = std::string(DashboardPage());
    return reply;
  }
  if (!absl::StartsWith(request.path, "/api/")) {
    return Text(404, "not found; the dashboard is at /, its data at /api/status and "
                     "/api/metrics\n");
  }
  if (HttpResponse denied = Authorize(sources_.auth, request); denied.code != 0) return denied;
  if (request.path == "/api/status") {
    reply.content_type = kJson;
    reply.body = ToJson(sources_.status());
    return reply;
  }
  if (request.path == "/api/metrics") return MetricsSince(request);
  return Text(404, "not found; the API has /api/status and /api/metrics?since=N\n");
}

HttpResponse Dashboard::MetricsSince(const HttpRequest& request) const {
  uint64_t after = 0;
  if (auto it = request.query.find("since"); it != request.query.end()) {
    if (!absl::SimpleAtoi(it->second, &after)) {
      return Text(400, absl::StrCat("since must be an update number >= 0 (got '", it->second,
                                    "')\n"));
    }
  }
  std::string body = "{\"updates\": [";
  v1::UpdateMetrics m;
  int n = 0;
  while (n < kMaxUpdatesPerReply && sources_.progress->NextMetrics(after, &m)) {
    if (n++ > 0) body += ",\n";
    body += ToJson(m);
    after = m.update();
  }
  absl::StrAppend(&body, "],\n\"next\": ", after, "}\n");
  HttpResponse reply;
  reply.content_type = kJson;
  reply.headers.emplace_back("Cache-Control", "no-store");
  reply.body = std::move(body);
  return reply;
}

}  // namespace proxima

// Dashboard: the learner's live web page (`--dashboard-listen HOST:PORT`,
// docs/monitoring.md). Read-only, served by learner/server/http_server.h:
//
//   GET /                     the page (learner/server/dashboard/index.html,
//                             embedded at build time; no external assets)
//   GET /api/status           LearnerStatus as JSON, actors included: the
//                             very message Monitor.GetStatus returns (the
//                             status function LearnerServer gives), printed
//                             with proto field names and zero values
//   GET /api/metrics?since=N  {"updates": [UpdateMetrics...], "next": M}:
//                             the retained per-update history after update
//                             N (RunProgress, what Monitor.WatchMetrics
//                             streams), at most kMaxUpdatesPerReply of them
//                             in update order; ask again with since=M for
//                             more
//   HEAD                      as GET, without the body
//   other methods             405; other paths 404
//
// Tokens: when the learner has bearer tokens (learner/server/auth.h), the
// /api/ endpoints need `Authorization: Bearer TOKEN` with a token of the
// monitor or admin role, checked by the same CallAuthorizer as the Monitor
// service: 401 when the token is missing or unknown, 403 without the role.
// The page itself holds no data and is served to anyone; it reads the token
// from the URL fragment (`/#token=TOKEN`, which browsers never send to the
// server) and sends it with each request.
//
// Thread-safety: requests are answered on the HTTP server's thread; the
// status function and the RunProgress must stay usable until the Dashboard
// is destroyed (the destructor stops the server first).
#ifndef PROXIMA_LEARNER_SERVER_DASHBOARD_H_
#define PROXIMA_LEARNER_SERVER_DASHBOARD_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "learner/server/auth.h"
#include "learner/server/http_server.h"
#include "learner/server/run_progress.h"
#include "proxima/v1/status.pb.h"

namespace proxima {

// The page, as embedded at build time (learner/server/dashboard/index.html).
absl::string_view DashboardPage();

class Dashboard {
 public:
  static constexpr int kMaxUpdatesPerReply = 500;

  struct Sources {
    // LearnerStatus with actors, as Monitor.GetStatus(include_actors) builds it.
    std::function<v1::LearnerStatus()> status;
    const RunProgress* progress = nullptr;  // the per-update history
    const CallAuthorizer* auth = nullptr;   // null or disabled: no token checks
  };

  // Serves on `listen` (HttpServer::Start; errors name --dashboard-listen).
  static absl::StatusOr<std::unique_ptr<Dashboard>> Start(const std::string& listen,
                                                          Sources sources);

  // HOST:PORT a browser can dial.
  const std::string& address() const { return http_->address(); }

  // The answer to one request (what the HTTP thread sends); for tests too.
  HttpResponse Handle(const HttpRequest& request) const;

 private:
  explicit Dashboard(Sources sources) : sources_(std::move(sources)) {}
  HttpResponse MetricsSince(const HttpRequest& request) const;

  Sources sources_;
  std::unique_ptr<HttpServer> http_;  // last: stops before the sources go
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_DASHBOARD_H_

// The learner's web dashboard (learner/server/dashboard.h) over real HTTP:
// a learner with --dashboard-listen 127.0.0.1:0 trained by a TestActor over
// loopback gRPC serves the embedded page at /, /api/status as the JSON of
// the very LearnerStatus Monitor.GetStatus returns, and the per-update
// history at /api/metrics; unknown paths are 404 and other methods 405.
// With bearer tokens, /api/ needs a monitor (or admin) token: 401 without
// one or with an unknown one, 403 with an actor token; the page itself is
// served to anyone. An actor that registers again counts as a reconnect
// (ActorInfo.registrations). Bad --dashboard-listen values are clear errors.
#include "learner/server/dashboard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/field_comparator.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "learner/server/learner_server.h"
#include "nlohmann/json.hpp"
#include "proxima/v1/monitor_service.grpc.pb.h"
#include "tests/learner/learner_server_fixture.h"
#include "tests/learner/test_actor.h"

namespace proxima {
namespace {

using ::proxima::testing::TestActor;
using ::proxima::testing::TestLearnerConfig;
using ::proxima::testing::TestLearnerOptions;
using ::testing::HasSubstr;

struct Fetched {
  int status = -1;                            // -1: no HTTP answer
  std::map<std::string, std::string> header;  // lower-case names
  std::string body;
};

// One HTTP/1.1 request ("Connection: close") to a 127.0.0.1:PORT address;
// `authorization` is sent as the Authorization header when not empty.
Fetched Fetch(const std::string& address, const std::string& target,
              const std::string& method = "GET", const std::string& authorization = "") {
  Fetched out;
  std::vector<std::string> host_port = absl::StrSplit(address, ':');
  uint32_t port = 0;
  if (host_port.size() != 2 || !absl::SimpleAtoi(host_port[1], &port) || port > 65535) return out;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host_port[0].c_str(), &to.sin_addr) != 1) return out;
  const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  if (sock < 0) return out;
  std::string wire;
  if (::connect(sock, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0) {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + address +
                      "\r\nConnection: close\r\n";
    if (!authorization.empty()) req += "Authorization: " + authorization + "\r\n";
    req += "\r\n";
    if (::send(sock, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size())) {
      char chunk[16384];
      for (ssize_t got; (got = ::recv(sock, chunk, sizeof chunk, 0)) > 0;) {
        wire.append(chunk, static_cast<size_t>(got));
      }
    }
  }
  ::close(sock);
  const size_t blank = wire.find("\r\n\r\n");
  if (blank == std::string::npos) return out;
  std::vector<std::string> lines = absl::StrSplit(wire.substr(0, blank), "\r\n");
  std::vector<std::string> status_line = absl::StrSplit(lines[0], ' ');
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &out.status)) return out;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    out.header[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  out.body = wire.substr(blank + 4);
  return out;
}

// The fields of a status that move by themselves while nothing happens
// (clock-based), cleared so that two reads a moment apart compare equal.
v1::LearnerStatus WithoutClockFields(v1::LearnerStatus st) {
  st.clear_as_of();
  st.clear_uptime();
  st.clear_env_steps_per_second();
  st.clear_updates_per_second();
  st.clear_time_total();
  st.clear_time_recent();
  st.clear_bottleneck();
  return st;
}

class DashboardTest : public ::testing::Test {
 protected:
  // A learner with the dashboard on 127.0.0.1:0 and `tokens`
  // ("ROLE:TOKEN,..."; empty: none).
  void StartLearner(const std::string& tokens = "") {
    LearnerOptions options = TestLearnerOptions("dashboard");
    options.dashboard_listen = "127.0.0.1:0";
    options.auth_tokens = tokens;
    run_dir_ = options.run_dir;
    auto server = LearnerServer::Create(TestLearnerConfig(), options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_TRUE(server_->Start().ok());
    dashboard_ = server_->dashboard_address();
    ASSERT_FALSE(dashboard_.empty());
  }
  void TearDown() override {
    if (server_) {
      server_->RequestStop("test over");
      EXPECT_TRUE(server_->Wait().ok());
    }
  }

  std::unique_ptr<LearnerServer> server_;
  std::string dashboard_, run_dir_;
};

TEST_F(DashboardTest, ServesThePageStatusAndMetricsOfATrainingLearner) {
  StartLearner();
  std::ifstream addr_file(run_dir_ + "/dashboard.addr");
  std::string from_file;
  addr_file >> from_file;
  EXPECT_EQ(from_file, dashboard_);

  auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  TestActor actor(channel, "dash-actor");
  ASSERT_TRUE(actor.Register().ok());
  actor.StartWatch();
  actor.OpenStream();
  constexpr int kUpdates = 3;
  for (int i = 0; i < kUpdates; ++i) {
    ASSERT_TRUE(actor.WaitForWeights(actor.version()));
    ASSERT_TRUE(actor.Send(actor.Rollout()).has_value());
  }
  ASSERT_TRUE(actor.WaitForWeights(kUpdates));

  // The page: the embedded file, self-contained.
  Fetched page = Fetch(dashboard_, "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_THAT(page.header["content-type"], HasSubstr("text/html"));
  EXPECT_THAT(page.body, HasSubstr("<title>Proxima learner</title>"));
  EXPECT_EQ(page.body, std::string(DashboardPage()));
  EXPECT_THAT(page.body, ::testing::Not(HasSubstr("<script src")));
  EXPECT_THAT(page.body, ::testing::Not(HasSubstr("https://")));

  // /api/status: the LearnerStatus Monitor.GetStatus returns, as JSON.
  auto monitor = v1::Monitor::NewStub(channel);
  grpc::ClientContext ctx;
  v1::GetStatusRequest req;
  req.set_include_actors(true);
  v1::LearnerStatus from_grpc;
  ASSERT_TRUE(monitor->GetStatus(&ctx, req, &from_grpc).ok());
  Fetched status = Fetch(dashboard_, "/api/status");
  ASSERT_EQ(status.status, 200);
  EXPECT_EQ(status.header["content-type"], "application/json");
  ASSERT_TRUE(nlohmann::json::accept(status.body)) << status.body;
  const nlohmann::json json = nlohmann::json::parse(status.body);
  EXPECT_EQ(json["env_id"], "CartPole-v1");  // proto field names
  v1::LearnerStatus from_http;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(status.body, &from_http).ok());
  EXPECT_EQ(from_http.updates(), static_cast<uint64_t>(kUpdates));
  ASSERT_EQ(from_http.actors_size(), 1);
  EXPECT_EQ(from_http.actors(0).name(), "dash-actor");
  EXPECT_EQ(from_http.actors(0).registrations(), 1u);
  std::string diff;
  google::protobuf::util::DefaultFieldComparator same_nan;  // NaN: no value yet
  same_nan.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differ;
  differ.set_field_comparator(&same_nan);
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(WithoutClockFields(from_grpc), WithoutClockFields(from_http)))
      << diff;

  // /api/metrics: the history after an update, in order.
  Fetched all = Fetch(dashboard_, "/api/metrics?since=0");
  ASSERT_EQ(all.status, 200);
  const nlohmann::json metrics = nlohmann::json::parse(all.body, nullptr, false);
  ASSERT_FALSE(metrics.is_discarded()) << all.body;
  ASSERT_EQ(metrics["updates"].size(), static_cast<size_t>(kUpdates));
  for (int i = 0; i < kUpdates; ++i) {
    EXPECT_EQ(metrics["updates"][i]["update"], std::to_string(i + 1));  // uint64 as string
  }
  EXPECT_EQ(metrics["next"], kUpdates);
  const nlohmann::json later =
      nlohmann::json::parse(Fetch(dashboard_, "/api/metrics?since=2").body, nullptr, false);
  ASSERT_EQ(later["updates"].size(), 1u);
  EXPECT_EQ(later["updates"][0]["update"], "3");
  const nlohmann::json none =
      nlohmann::json::parse(Fetch(dashboard_, "/api/metrics?since=3").body, nullptr, false);
  EXPECT_EQ(none["updates"].size(), 0u);
  EXPECT_EQ(none["next"], 3);
  Fetched bad_since = Fetch(dashboard_, "/api/metrics?since=ten");
  EXPECT_EQ(bad_since.status, 400);
  EXPECT_THAT(bad_since.body, HasSubstr("since must be an update number"));

  // Read-only, and nothing else.
  EXPECT_EQ(Fetch(dashboard_, "/nope").status, 404);
  EXPECT_EQ(Fetch(dashboard_, "/api/nope").status, 404);
  Fetched post = Fetch(dashboard_, "/api/status", "POST");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.header["allow"], "GET, HEAD");
  EXPECT_EQ(Fetch(dashboard_, "/", "DELETE").status, 405);
  Fetched head = Fetch(dashboard_, "/api/status", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");

  // The same actor name registering again is a reconnect.
  (void)actor.CloseStream();
  TestActor again(channel, "dash-actor");
  ASSERT_TRUE(again.Register().ok());
  const nlohmann::json after =
      nlohmann::json::parse(Fetch(dashboard_, "/api/status").body, nullptr, false);
  ASSERT_EQ(after["actors"].size(), 1u);
  EXPECT_EQ(after["actors"][0]["registrations"], 2);
}

TEST_F(DashboardTest, WithTokensTheApiNeedsAMonitorToken) {
  StartLearner("monitor:mon-token,actor:act-token,admin:adm-token");
  // The page carries no data: anyone may load it (it sends the token).
  EXPECT_EQ(Fetch(dashboard_, "/").status, 200);
  for (const std::string path : {"/api/status", "/api/metrics?since=0"}) {
    Fetched none = Fetch(dashboard_, path);
    EXPECT_EQ(none.status, 401) << path;
    EXPECT_THAT(none.header["www-authenticate"], HasSubstr("Bearer")) << path;
    EXPECT_THAT(none.body, HasSubstr("missing bearer token"));
    Fetched wrong = Fetch(dashboard_, path, "GET", "Bearer not-a-token");
    EXPECT_EQ(wrong.status, 401) << path;
    EXPECT_THAT(wrong.body, HasSubstr("not recognised"));
    EXPECT_THAT(wrong.body, ::testing::Not(HasSubstr("not-a-token")));
    Fetched actor = Fetch(dashboard_, path, "GET", "Bearer act-token");
    EXPECT_EQ(actor.status, 403) << path;
    EXPECT_THAT(actor.body, HasSubstr("needs role monitor or admin"));
    EXPECT_EQ(Fetch(dashboard_, path, "GET", "Bearer mon-token").status, 200) << path;
    EXPECT_EQ(Fetch(dashboard_, path, "GET", "bearer adm-token").status, 200) << path;
  }
}

TEST(DashboardListenTest, BadAddressesAreClearErrors) {
  LearnerOptions options = TestLearnerOptions("dashboard_flags");
  options.dashboard_listen = "no-port";
  absl::Status s = options.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("--dashboard-listen must be HOST:PORT"));
  options.dashboard_listen = "127.0.0.1:70000";
  EXPECT_THAT(std::string(options.Validate().message()), HasSubstr("--dashboard-listen"));

  Dashboard::Sources none;
  auto named = Dashboard::Start("dashboard.example:8080", none);
  EXPECT_EQ(named.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(named.status().message()), HasSubstr("--dashboard-listen"));
  auto first = Dashboard::Start("127.0.0.1:0", none);
  ASSERT_TRUE(first.ok()) << first.status();
  auto busy = Dashboard::Start((*first)->address(), none);
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(busy.status().message()), HasSubstr("cannot serve on"));
}

}  // namespace
}  // namespace proxima

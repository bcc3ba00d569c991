// The learner's Prometheus endpoint: the exporter on its own (HTTP behaviour,
// bad addresses), and a real learner trained by a TestActor over loopback
// gRPC, scraped over HTTP several times: every scrape passes
// `promtool check metrics` (Debian's prometheus package), counters never go
// down, and the numbers are the ones LearnerStatus reports.
#include "learner/server/prometheus_exporter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/ppo_config.h"
#include "learner/server/learner_server.h"
#include "tests/learner/learner_server_fixture.h"
#include "tests/learner/test_actor.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::TestActor;
using ::proxima::testing::TestLearnerConfig;
using ::proxima::testing::TestLearnerOptions;
using ::testing::HasSubstr;

struct HttpReply {
  int code = 0;
  std::string body;
};

// A minimal HTTP/1.0 client for a numeric "127.0.0.1:PORT" address.
HttpReply Http(const std::string& address, const std::string& method, const std::string& path) {
  HttpReply reply;
  const size_t colon = address.rfind(':');
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port)) return reply;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    ::close(fd);
    return reply;
  }
  const std::string request = absl::StrCat(method, " ", path, " HTTP/1.0\r\nHost: ", address,
                                           "\r\n\r\n");
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return reply;
  }
  std::string raw;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) raw.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const size_t header_end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || header_end == std::string::npos) return reply;
  (void)absl::SimpleAtoi(raw.substr(9, 3), &reply.code);
  reply.body = raw.substr(header_end + 4);
  return reply;
}

// Sample lines of the text format: "name{labels}" -> value.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    double v = 0;
    if (space == absl::string_view::npos || !absl::SimpleAtod(line.substr(space + 1), &v)) {
      continue;  // NaN gauges before the first episode
    }
    out[std::string(line.substr(0, space))] = v;
  }
  return out;
}

// Names of the counter and histogram families ("# TYPE name counter").
std::vector<std::string> MonotoneFamilies(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    if (f.size() == 4 && f[0] == "#" && f[1] == "TYPE" &&
        (f[3] == "counter" || f[3] == "histogram")) {
      out.push_back(f[2]);
    }
  }
  return out;
}

void ExpectPromtoolAccepts(const std::string& text) {
  const std::string path = MakeTempDir("prometheus") + "/scrape.txt";
  std::ofstream(path) << text;
  CommandResult r = RunCommand("promtool check metrics < " + path + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << "promtool (Debian package prometheus) rejected the scrape:\n"
                            << r.output << "\n--- scrape ---\n"
                            << text;
}

TEST(StatusMetricFamiliesTest, CarriesTheStatusNumbers) {
  v1::LearnerStatus st;
  st.set_policy_version(17);
  st.set_env_steps(4096);
  st.set_actors_connected(3);
  st.set_chunks_received(40);
  st.set_chunks_trained(30);
  v1::DropCount* d = st.add_chunks_dropped();
  d->set_reason(v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG);
  d->set_chunks(9);
  d->set_transitions(900);
  st.set_mode(v1::TRAINING_MODE_SYNC);
  st.set_env_id("CartPole-v1");
  st.mutable_last_update()->set_mean_lag(0.5);
  st.mutable_last_update()->set_max_lag(2);
  st.mutable_last_update()->set_dropped_steps(128);
  // Where the time goes (issue 18): seconds since start, shares of the window.
  st.mutable_time_total()->set_wall_seconds(60);
  st.mutable_time_total()->set_learner_update_seconds(45);
  st.mutable_time_recent()->set_wall_seconds(10);
  st.mutable_time_recent()->set_learner_update_seconds(9);
  std::map<std::string, double> values;
  for (const prometheus::MetricFamily& f : StatusMetricFamilies(st)) {
    EXPECT_EQ(f.name.rfind("proxima_", 0), 0u) << f.name;
    if (f.type == prometheus::MetricType::Counter) {
      EXPECT_EQ(f.name.substr(f.name.size() - 6), "_total") << f.name;
    }
    for (const prometheus::ClientMetric& m : f.metric) {
      std::string key = f.name;
      for (const auto& l : m.label) absl::StrAppend(&key, ",", l.name, "=", l.value);
      values[key] = f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  }
  EXPECT_EQ(values["proxima_policy_version"], 17);
  EXPECT_EQ(values["proxima_env_steps_total"], 4096);
  EXPECT_EQ(values["proxima_actors_connected"], 3);
  EXPECT_EQ(values["proxima_chunks_received_total"], 40);
  EXPECT_EQ(values["proxima_chunks_trained_total"], 30);
  EXPECT_EQ(values["proxima_chunks_dropped_total,outcome=dropped_policy_lag"], 9);
  EXPECT_EQ(values["proxima_transitions_dropped_total,outcome=dropped_policy_lag"], 900);
  EXPECT_EQ(values["proxima_last_update_mean_lag"], 0.5);
  EXPECT_EQ(values["proxima_last_update_max_lag"], 2);
  EXPECT_EQ(values["proxima_last_update_dropped_steps"], 128);
  EXPECT_EQ(values.count("proxima_learner_info,device=,env_id=CartPole-v1,instance_id=,mode=sync"),
            1u);
  EXPECT_EQ(values["proxima_time_seconds_total,stage=learner_wall"], 60);
  EXPECT_EQ(values["proxima_time_seconds_total,stage=learner_update"], 45);
  EXPECT_EQ(values["proxima_time_share,stage=learner_update"], 0.9);
  EXPECT_EQ(values.count("proxima_time_share,stage=actor_weights_wait"), 1u);
}

TEST(PrometheusExporterTest, ServesMetricsOnlyAtMetrics) {
  v1::LearnerStatus st;
  st.set_policy_version(5);
  auto e = PrometheusExporter::Start("127.0.0.1:0", [&st] { return st; });
  ASSERT_TRUE(e.ok()) << e.status();
  (*e)->ObserveUpdateSeconds(0.02);
  (*e)->ObserveBroadcastSeconds(0.003);
  HttpReply r = Http((*e)->address(), "GET", "/metrics");
  EXPECT_EQ(r.code, 200);
  EXPECT_THAT(r.body, HasSubstr("\nproxima_policy_version 5\n"));
  EXPECT_THAT(r.body, HasSubstr("proxima_update_duration_seconds_count 1\n"));
  EXPECT_THAT(r.body, HasSubstr("proxima_weight_broadcast_latency_seconds_bucket{le=\"0.005\"} 1\n"));
  ExpectPromtoolAccepts(r.body);
  EXPECT_EQ(Http((*e)->address(), "GET", "/").code, 404);
  EXPECT_EQ(Http((*e)->address(), "POST", "/metrics").code, 405);
  EXPECT_EQ(Http((*e)->address(), "HEAD", "/metrics").code, 200);
}

TEST(PrometheusExporterTest, BadOrBusyAddressIsAClearError) {
  auto status = [] { return v1::LearnerStatus(); };
  auto bad = PrometheusExporter::Start("metrics.example:9464", status);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("metrics.example:9464"));
  EXPECT_EQ(PrometheusExporter::Start("127.0.0.1:http", status).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto first = PrometheusExporter::Start("127.0.0.1:0", status);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = PrometheusExporter::Start((*first)->address(), status);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr((*first)->address()));
}

TEST(LearnerMetricsTest, ScrapesOfATrainingLearnerAreValidAndCountersMonotone) {
  const PpoConfig config = TestLearnerConfig();
  LearnerOptions options = TestLearnerOptions("learner_metrics");
  options.metrics_listen = "127.0.0.1:0";
  auto server = LearnerServer::Create(config, options);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)->Start().ok());
  const std::string metrics = (*server)->metrics_address();
  ASSERT_FALSE(metrics.empty());
  std::ifstream addr_file(options.run_dir + "/metrics.addr");
  std::string from_file;
  addr_file >> from_file;
  EXPECT_EQ(from_file, metrics);

  auto channel = grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials());
  TestActor actor(channel, "a");
  ASSERT_TRUE(actor.Register().ok());
  actor.StartWatch();
  actor.OpenStream();

  std::map<std::string, double> previous;
  std::vector<std::string> monotone;
  for (int scrape = 0; scrape < 4; ++scrape) {
    for (int i = 0; i < 3; ++i) {  // a few updates' worth of data between scrapes
      ASSERT_TRUE(actor.WaitForWeights(actor.version()));
      ASSERT_TRUE(actor.Send(actor.Rollout()).has_value());
    }
    const uint64_t trained_before = (*server)->Status(false).env_steps();
    HttpReply r = Http(metrics, "GET", "/metrics");
    const v1::LearnerStatus after = (*server)->Status(false);
    ASSERT_EQ(r.code, 200);
    ExpectPromtoolAccepts(r.body);
    std::map<std::string, double> now = Samples(r.body);
    // The scrape read a status between the two reads around it.
    EXPECT_GE(now["proxima_env_steps_total"], static_cast<double>(trained_before));
    EXPECT_LE(now["proxima_env_steps_total"], static_cast<double>(after.env_steps()));
    EXPECT_LE(now["proxima_policy_version"], static_cast<double>(after.policy_version()));
    EXPECT_EQ(now["proxima_queue_capacity_transitions"],
              static_cast<double>(after.queue_capacity()));
    if (scrape == 0) monotone = MonotoneFamilies(r.body);
    for (const auto& [key, value] : previous) {
      for (const std::string& family : monotone) {
        if (key.rfind(family, 0) == 0) {
          EXPECT_GE(now[key], value) << key << " went down between scrapes";
        }
      }
    }
    previous = std::move(now);
  }
  EXPECT_THAT(monotone, ::testing::IsSupersetOf({"proxima_env_steps_total", "proxima_updates_total",
                                                 "proxima_chunks_received_total",
                                                 "proxima_update_duration_seconds",
                                                 "proxima_weight_broadcast_latency_seconds"}));
  EXPECT_GT(previous["proxima_policy_version"], 0);
  EXPECT_GT(previous["proxima_update_duration_seconds_count"], 0);
  EXPECT_GT(previous["proxima_weight_broadcast_latency_seconds_count"], 0);
  EXPECT_EQ(previous["proxima_actors_connected"], 1);
  (void)actor.CloseStream();
  (*server)->RequestStop("test over");
  ASSERT_TRUE((*server)->Wait().ok());
}

}  // namespace
}  // namespace proxima

// Channel security of the learner (docs/security.md): TLS and mutual TLS with
// certificates generated at test time by deploy/make-secrets.sh (openssl; two
// independent CAs, so one of them is "foreign"), bearer tokens with roles on
// plaintext loopback, refused calls that change nothing, secrets that never
// leak, flag validation of the binaries, and a real TLS + mTLS + token
// cluster of proxima-learner and proxima-actor processes.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/grpc/channel_security.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/ppo_config.h"
#include "learner/server/learner_server.h"
#include "proxima/v1/admin_service.grpc.pb.h"
#include "proxima/v1/monitor_service.grpc.pb.h"
#include "tests/learner/learner_server_fixture.h"
#include "tests/learner/test_actor.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::StatusIs;
using ::proxima::testing::TestActor;
using ::proxima::testing::TestLearnerConfig;
using ::proxima::testing::TestLearnerOptions;
using ::testing::HasSubstr;
using ::testing::Not;

// A directory of secrets from deploy/make-secrets.sh; each `name` is a
// separate CA. Generated once per test process.
std::string Secrets(const std::string& name) {
  static auto* dirs = new std::map<std::string, std::string>();
  auto it = dirs->find(name);
  if (it != dirs->end()) return it->second;
  const std::string dir = MakeTempDir("security_" + name) + "/secrets";
  CommandResult r =
      RunCommand(absl::StrCat(PROXIMA_SOURCE_DIR, "/deploy/make-secrets.sh ", dir));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  (*dirs)[name] = dir;
  return dir;
}

std::string Token(const std::string& dir, const std::string& role) {
  absl::StatusOr<std::string> t = ReadFile(dir + "/" + role + "_token");
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? std::string(absl::StripTrailingAsciiWhitespace(*t)) : std::string();
}

std::chrono::system_clock::time_point Deadline(int seconds = 5) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

// What a refused call must leave as it was.
struct Observed {
  uint64_t chunks_received = 0;
  uint64_t transitions_received = 0;
  int actors = 0;
  bool paused = false;
  std::map<std::string, std::string> hyperparameters;
  bool operator==(const Observed& o) const {
    return chunks_received == o.chunks_received &&
           transitions_received == o.transitions_received && actors == o.actors &&
           paused == o.paused && hyperparameters == o.hyperparameters;
  }
};

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    good_ = Secrets("good");
    foreign_ = Secrets("foreign");
    config_ = TestLearnerConfig();
    options_ = TestLearnerOptions("security_run");
  }

  void UseTls() {
    options_.tls_cert = good_ + "/learner.pem";
    options_.tls_key = good_ + "/learner.key";
  }
  void UseTokens() { options_.auth_tokens_file = good_ + "/auth_tokens"; }

  void StartServer() {
    auto s = LearnerServer::Create(config_, options_);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    ASSERT_TRUE(server_->Start().ok());
  }

  // A channel to the server; `env_token` stands in for $PROXIMA_TOKEN.
  std::shared_ptr<grpc::Channel> Channel(const ClientSecurityOptions& o,
                                         const std::string& env_token = "") {
    absl::StatusOr<ChannelSecurity> s = ChannelSecurity::Load(o, env_token);
    EXPECT_TRUE(s.ok()) << s.status();
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    return s.ok() ? s->CreateChannel(server_->address(), args) : nullptr;
  }
  std::shared_ptr<grpc::Channel> TokenChannel(const std::string& token) {
    return Channel(ClientSecurityOptions(), token);
  }
  ClientSecurityOptions TlsClient(const std::string& cert_dir = "") const {
    ClientSecurityOptions o;
    o.tls_ca = good_ + "/ca.pem";
    if (!cert_dir.empty()) {
      o.tls_cert = cert_dir + "/client.pem";
      o.tls_key = cert_dir + "/client.key";
    }
    return o;
  }

  grpc::Status GetStatus(const std::shared_ptr<grpc::Channel>& channel,
                         v1::LearnerStatus* out = nullptr) {
    auto stub = v1::Monitor::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline());
    v1::GetStatusRequest req;
    req.set_include_actors(true);
    v1::LearnerStatus resp;
    grpc::Status s = stub->GetStatus(&ctx, req, &resp);
    if (out != nullptr) *out = resp;
    return s;
  }

  Observed Observe() const {
    const v1::LearnerStatus st = server_->Status(true);
    Observed o;
    o.chunks_received = st.chunks_received();
    o.transitions_received = st.transitions_received();
    o.actors = st.actors_size();
    o.paused = st.paused();
    o.hyperparameters.insert(st.hyperparameters().begin(), st.hyperparameters().end());
    return o;
  }

  std::string good_, foreign_;
  PpoConfig config_;
  LearnerOptions options_;
  std::unique_ptr<LearnerServer> server_;
};

// ----- TLS and mutual TLS

TEST_F(SecurityTest, TlsActorRegistersStreamsAndWatches) {
  UseTls();
  StartServer();
  TestActor a(Channel(TlsClient()), "tls-actor");
  ASSERT_TRUE(a.Register().ok());
  a.StartWatch();
  ASSERT_TRUE(a.WaitForWeights(0));
  a.OpenStream();
  std::optional<v1::ChunkAck> ack = a.Send(a.Rollout());
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->outcome(), v1::CHUNK_OUTCOME_ACCEPTED) << ack->reason();
  EXPECT_EQ(server_->Status(false).chunks_received(), 1u);
  EXPECT_TRUE(a.CloseStream().ok());
}

TEST_F(SecurityTest, PlaintextClientCannotTalkToTlsLearner) {
  UseTls();
  StartServer();
  const Observed before = Observe();
  EXPECT_EQ(GetStatus(TokenChannel("")).error_code(), grpc::StatusCode::UNAVAILABLE);
  TestActor a(TokenChannel(""), "plain");
  EXPECT_THAT(a.Register(), StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  EXPECT_TRUE(Observe() == before);
}

TEST_F(SecurityTest, ClientVerifiesTheLearnerCertificate) {
  UseTls();
  StartServer();
  // A CA that did not sign the learner's certificate.
  ClientSecurityOptions other = TlsClient();
  other.tls_ca = foreign_ + "/ca.pem";
  EXPECT_EQ(GetStatus(Channel(other)).error_code(), grpc::StatusCode::UNAVAILABLE);
  // The certificate names localhost, learner and 127.0.0.1 (what we dial).
  ClientSecurityOptions renamed = TlsClient();
  renamed.tls_server_name = "learner";
  EXPECT_TRUE(GetStatus(Channel(renamed)).ok());
  renamed.tls_server_name = "elsewhere.example.org";
  EXPECT_EQ(GetStatus(Channel(renamed)).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(SecurityTest, MutualTlsNeedsAClientCertificateFromTheCa) {
  UseTls();
  options_.tls_ca = good_ + "/ca.pem";
  options_.require_client_cert = true;
  StartServer();
  const Observed before = Observe();
  EXPECT_EQ(GetStatus(Channel(TlsClient())).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "no client certificate";
  EXPECT_EQ(GetStatus(Channel(TlsClient(foreign_))).error_code(),
            grpc::StatusCode::UNAVAILABLE)
      << "a client certificate from another CA";
  TestActor foreign(Channel(TlsClient(foreign_)), "foreign");
  EXPECT_FALSE(foreign.Register().ok());
  EXPECT_TRUE(Observe() == before);
  EXPECT_TRUE(GetStatus(Channel(TlsClient(good_))).ok());
  TestActor a(Channel(TlsClient(good_)), "mtls-actor");
  EXPECT_TRUE(a.Register().ok());
}

TEST_F(SecurityTest, OptionalClientCertificateIsVerifiedWhenPresented) {
  UseTls();
  options_.tls_ca = good_ + "/ca.pem";  // request, verify if present
  StartServer();
  EXPECT_TRUE(GetStatus(Channel(TlsClient())).ok());
  EXPECT_TRUE(GetStatus(Channel(TlsClient(good_))).ok());
  EXPECT_EQ(GetStatus(Channel(TlsClient(foreign_))).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

// ----- Bearer tokens (plaintext loopback)

TEST_F(SecurityTest, LearnerServiceNeedsTheActorRole) {
  UseTokens();
  StartServer();
  const std::string actor = Token(good_, "actor"), monitor = Token(good_, "monitor");
  // A registered actor with a real chunk ready, to offer on refused streams.
  TestActor good(TokenChannel(actor), "good");
  ASSERT_TRUE(good.Register().ok());
  good.StartWatch();
  ASSERT_TRUE(good.WaitForWeights(0));
  const v1::TrajectoryChunk chunk = good.Rollout();
  const Observed before = Observe();

  struct Case {
    std::string token;
    grpc::StatusCode code;
  };
  for (const Case& c : {Case{"", grpc::StatusCode::UNAUTHENTICATED},
                        Case{"not-a-token", grpc::StatusCode::UNAUTHENTICATED},
                        Case{monitor, grpc::StatusCode::PERMISSION_DENIED}}) {
    SCOPED_TRACE(c.token.empty() ? "no token" : c.token == monitor ? "monitor" : "wrong");
    auto stub = v1::Learner::NewStub(TokenChannel(c.token));
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(Deadline());
      v1::RegisterRequest req;
      req.set_actor_name("intruder");
      req.set_protocol_version(v1::PROTOCOL_VERSION_1);
      v1::RegisterResponse resp;
      grpc::Status s = stub->Register(&ctx, req, &resp);
      EXPECT_EQ(s.error_code(), c.code) << s.error_message();
      if (c.code == grpc::StatusCode::PERMISSION_DENIED) {
        EXPECT_THAT(s.error_message(), HasSubstr("role actor"));
      }
      EXPECT_THAT(s.error_message(), Not(HasSubstr(monitor)));
    }
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(Deadline());
      auto stream = stub->StreamTrajectories(&ctx);
      stream->Write(chunk);  // may fail: the call is already over
      stream->WritesDone();
      v1::ChunkAck ack;
      EXPECT_FALSE(stream->Read(&ack));
      EXPECT_EQ(stream->Finish().error_code(), c.code);
    }
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(Deadline());
      v1::WatchWeightsRequest req;
      req.set_session_id(good.registration().session_id());
      auto reader = stub->WatchWeights(&ctx, req);
      v1::WeightSnapshot snapshot;
      EXPECT_FALSE(reader->Read(&snapshot));
      EXPECT_EQ(reader->Finish().error_code(), c.code);
    }
    EXPECT_TRUE(Observe() == before) << "a refused call changed the learner";
  }
  // The actor token works for all three.
  good.OpenStream();
  std::optional<v1::ChunkAck> ack = good.Send(chunk);
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->outcome(), v1::CHUNK_OUTCOME_ACCEPTED);
  EXPECT_EQ(Observe().chunks_received, before.chunks_received + 1);
}

TEST_F(SecurityTest, MonitorAndAdminNeedTheirRoles) {
  UseTokens();
  StartServer();
  const std::string actor = Token(good_, "actor"), monitor = Token(good_, "monitor"),
                    admin = Token(good_, "admin");
  const Observed before = Observe();
  auto admin_as = [&](const std::string& token) {
    return v1::Admin::NewStub(TokenChannel(token));
  };
  for (const std::string& token : {std::string(), std::string("wrong"), actor, monitor}) {
    const grpc::StatusCode want = token == actor || token == monitor
                                      ? grpc::StatusCode::PERMISSION_DENIED
                                      : grpc::StatusCode::UNAUTHENTICATED;
    auto stub = admin_as(token);
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(Deadline());
      v1::SetHyperparametersRequest req;
      (*req.mutable_values())["learning_rate"] = "0.125";
      v1::SetHyperparametersResponse resp;
      grpc::Status s = stub->SetHyperparameters(&ctx, req, &resp);
      EXPECT_EQ(s.error_code(), want);
      if (want == grpc::StatusCode::PERMISSION_DENIED) {
        EXPECT_THAT(s.error_message(), HasSubstr("role admin"));
      }
    }
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(Deadline());
      v1::PauseResponse resp;
      EXPECT_EQ(stub->Pause(&ctx, v1::PauseRequest(), &resp).error_code(), want);
    }
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(Deadline());
      v1::ShutdownResponse resp;
      EXPECT_EQ(stub->Shutdown(&ctx, v1::ShutdownRequest(), &resp).error_code(), want);
    }
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(Deadline());
      v1::ResumeResponse resp;
      EXPECT_EQ(stub->Resume(&ctx, v1::ResumeRequest(), &resp).error_code(), want);
    }
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(Deadline());
      v1::SaveCheckpointResponse resp;
      EXPECT_EQ(stub->SaveCheckpoint(&ctx, v1::SaveCheckpointRequest(), &resp).error_code(),
                want);
      EXPECT_FALSE(std::filesystem::exists(options_.run_dir + "/checkpoints") &&
                   !std::filesystem::is_empty(options_.run_dir + "/checkpoints"));
    }
    EXPECT_TRUE(Observe() == before) << "a refused admin call changed the learner";
  }
  // Monitor: the monitor and admin roles may read; actors may not.
  grpc::Status s = GetStatus(TokenChannel(actor));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("role monitor or admin"));
  EXPECT_EQ(GetStatus(TokenChannel("")).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  {
    auto stub = v1::Monitor::NewStub(TokenChannel(actor));
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline());
    auto reader = stub->WatchMetrics(&ctx, v1::WatchMetricsRequest());
    v1::UpdateMetrics m;
    EXPECT_FALSE(reader->Read(&m));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    auto stub = v1::Monitor::NewStub(TokenChannel(actor));
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline());
    v1::ListActorsResponse resp;
    EXPECT_EQ(stub->ListActors(&ctx, v1::ListActorsRequest(), &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_TRUE(GetStatus(TokenChannel(monitor)).ok());
  EXPECT_TRUE(GetStatus(TokenChannel(admin)).ok());
  EXPECT_TRUE(Observe() == before);
  // The admin token administers.
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline());
  v1::PauseResponse resp;
  EXPECT_TRUE(admin_as(admin)->Pause(&ctx, v1::PauseRequest(), &resp).ok());
  EXPECT_TRUE(Observe().paused);
}

TEST_F(SecurityTest, InProcessChannelPassesTheChecks) {
  UseTokens();
  StartServer();
  EXPECT_TRUE(GetStatus(server_->InProcessChannel()).ok());
  TestActor a(server_->InProcessChannel(), "in-process");
  EXPECT_TRUE(a.Register().ok());
}

TEST_F(SecurityTest, TokensNeverAppearInStatusOrRunDirectory) {
  // From the environment-variable form this time.
  options_.auth_tokens = absl::StrCat("actor:", Token(good_, "actor"), ",monitor:",
                                      Token(good_, "monitor"), ",admin:", Token(good_, "admin"));
  StartServer();
  TestActor a(TokenChannel(Token(good_, "actor")), "leak-check");
  ASSERT_TRUE(a.Register().ok());
  v1::LearnerStatus st;
  ASSERT_TRUE(GetStatus(TokenChannel(Token(good_, "admin")), &st).ok());
  auto stub = v1::Monitor::NewStub(TokenChannel(Token(good_, "monitor")));
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline());
  v1::ListActorsRequest req;
  req.set_include_inactive(true);
  v1::ListActorsResponse actors;
  ASSERT_TRUE(stub->ListActors(&ctx, req, &actors).ok());
  server_->RequestStop("test");
  ASSERT_TRUE(server_->Wait().ok());
  std::string everything = st.DebugString() + actors.DebugString();
  for (const auto& e : std::filesystem::recursive_directory_iterator(options_.run_dir)) {
    if (!e.is_regular_file()) continue;
    absl::StatusOr<std::string> f = ReadFile(e.path().string());
    ASSERT_TRUE(f.ok());
    absl::StrAppend(&everything, *f);
  }
  EXPECT_TRUE(std::filesystem::exists(options_.run_dir + "/config.json"));
  for (const char* role : {"actor", "monitor", "admin"}) {
    EXPECT_THAT(everything, Not(HasSubstr(Token(good_, role)))) << role;
  }
}

}  // namespace
}  // namespace proxima

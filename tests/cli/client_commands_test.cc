// The learner commands of `proxima` (learner/cli/client_commands.h) against a
// fake learner: an in-process gRPC server on a free loopback port with fake
// Monitor and Admin services and gRPC's built-in health service. Checks the
// output (text and JSON), the exit statuses and the error lines.
#include "learner/cli/client_commands.h"

#include <cmath>
#include <initializer_list>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proxima/v1/admin_service.grpc.pb.h"
#include "proxima/v1/monitor_service.grpc.pb.h"
#include "tests/support/loopback_server.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

v1::LearnerStatus SampleStatus() {
  v1::LearnerStatus s;
  s.set_policy_version(42);
  s.set_env_steps(86016);
  s.set_updates(42);
  s.set_env_steps_per_second(30512);
  s.set_mean_episode_return(187.25);
  s.set_mean_episode_length(187.25);
  s.set_episodes(1234);
  s.set_actors_connected(2);
  s.set_queue_transitions(1024);
  s.set_queue_capacity(65536);
  s.set_chunks_received(100);
  s.set_chunks_trained(95);
  s.set_chunks_queued(2);
  v1::DropCount* d = s.add_chunks_dropped();
  d->set_reason(v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG);
  d->set_chunks(3);
  d->set_transitions(1536);
  s.set_mode(v1::TRAINING_MODE_ASYNC);
  s.set_device("cpu");
  s.set_paused(true);
  s.set_serving_state(v1::SERVING_STATE_SERVING);
  s.set_env_id("CartPole-v1");
  s.set_run_dir("runs/CartPole-v1-1");
  (*s.mutable_hyperparameters())["learning_rate"] = "0.00025";
  (*s.mutable_hyperparameters())["clip_coef"] = "0.2";
  s.mutable_last_checkpoint()->set_path("/runs/ckpt-40.pt");
  s.mutable_last_checkpoint()->set_policy_version(40);
  v1::ActorInfo* a = s.add_actors();
  a->set_actor_id(1);
  a->set_name("actor-0");
  a->set_state(v1::ACTOR_STATE_CONNECTED);
  a->set_num_envs(4);
  a->set_env_steps(43008);
  a->set_hostname("box");
  a->set_pid(77);
  return s;
}

class FakeMonitor final : public v1::Monitor::Service {
 public:
  grpc::Status GetStatus(grpc::ServerContext*, const v1::GetStatusRequest* request,
                         v1::LearnerStatus* response) override {
    *response = SampleStatus();
    if (!request->include_actors()) response->clear_actors();
    return grpc::Status::OK;
  }
  grpc::Status ListActors(grpc::ServerContext*, const v1::ListActorsRequest* request,
                          v1::ListActorsResponse* response) override {
    *response->mutable_actors() = SampleStatus().actors();
    if (request->include_inactive()) {
      v1::ActorInfo* gone = response->add_actors();
      gone->set_actor_id(2);
      gone->set_name("actor-1");
      gone->set_state(v1::ACTOR_STATE_DISCONNECTED);
    }
    response->set_policy_version(42);
    return grpc::Status::OK;
  }
  // Three updates, then the end of the run.
  grpc::Status WatchMetrics(grpc::ServerContext*, const v1::WatchMetricsRequest*,
                            grpc::ServerWriter<v1::UpdateMetrics>* writer) override {
    for (int i = 1; i <= 3; ++i) {
      v1::UpdateMetrics m;
      m.set_update(i);
      m.set_policy_version(i);
      m.set_env_steps(512 * i);
      m.set_mean_episode_return(i == 1 ? std::numeric_limits<double>::quiet_NaN() : 20.5);
      if (!writer->Write(m)) break;
    }
    return grpc::Status::OK;
  }
};

class FakeAdmin final : public v1::Admin::Service {
 public:
  grpc::Status SaveCheckpoint(grpc::ServerContext* context, const v1::SaveCheckpointRequest* request,
                              v1::SaveCheckpointResponse* response) override {
    if (request->tag() == "slow") {
      // Outlives any client deadline in these tests.
      release_.WaitForNotificationWithTimeout(absl::Seconds(20));
      return grpc::Status::CANCELLED;
    }
    (void)context;
    v1::CheckpointInfo* c = response->mutable_checkpoint();
    c->set_path(absl::StrCat("/runs/ckpt-42", request->tag().empty() ? "" : "-", request->tag(),
                             ".pt"));
    c->set_policy_version(42);
    c->set_size_bytes(1000);
    return grpc::Status::OK;
  }
  grpc::Status Pause(grpc::ServerContext*, const v1::PauseRequest*,
                     v1::PauseResponse* response) override {
    absl::MutexLock lock(&mu_);
    response->set_was_paused(paused_);
    response->set_policy_version(42);
    paused_ = true;
    return grpc::Status::OK;
  }
  grpc::Status Resume(grpc::ServerContext*, const v1::ResumeRequest*,
                      v1::ResumeResponse* response) override {
    absl::MutexLock lock(&mu_);
    response->set_was_paused(paused_);
    response->set_policy_version(42);
    paused_ = false;
    return grpc::Status::OK;
  }
  // Knows learning_rate and clip_coef, both > 0; all or nothing.
  grpc::Status SetHyperparameters(grpc::ServerContext*, const v1::SetHyperparametersRequest* request,
                                  v1::SetHyperparametersResponse* response) override {
    for (const auto& [key, value] : request->values()) {
      double v;
      if (key != "learning_rate" && key != "clip_coef") {
        v1::HyperparameterError* e = response->add_errors();
        e->set_key(key);
        e->set_message("unknown key");
      } else if (!absl::SimpleAtod(value, &v) || !(v > 0)) {
        v1::HyperparameterError* e = response->add_errors();
        e->set_key(key);
        e->set_message("must be > 0");
      } else {
        (*response->mutable_applied())[key] = absl::StrCat(v);
      }
    }
    if (response->errors_size() > 0) response->clear_applied();
    response->set_effective_from_update(43);
    return grpc::Status::OK;
  }
  void Release() { release_.Notify(); }

 private:
  absl::Mutex mu_;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  absl::Notification release_;
};

class ClientCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(true);
    server_ = std::make_unique<testing::LoopbackServer>(
        std::initializer_list<grpc::Service*>{&monitor_, &admin_});
    ASSERT_TRUE(server_->started());
    options_.learner = server_->address();
  }
  void TearDown() override {
    admin_.Release();
    server_->Shutdown();
  }

  FakeMonitor monitor_;
  FakeAdmin admin_;
  std::unique_ptr<testing::LoopbackServer> server_;
  ClientOptions options_;
  std::ostringstream out_, err_;
};

TEST_F(ClientCommandsTest, StatusPrintsACompactSummary) {
  ASSERT_EQ(StatusCommand(options_, out_, err_), 0) << err_.str();
  const std::string text = out_.str();
  EXPECT_THAT(text, HasSubstr(options_.learner));
  for (const char* said :
       {"serving, PAUSED  mode async  device cpu", "policy version  42  updates 42",
        "86016  (30512 steps/s)", "mean return 187.25", "1024 / 65536 transitions",
        "received 100  trained 95  queued 2  dropped 3 (dropped_policy_lag 3)",
        "/runs/ckpt-40.pt (version 40", "clip_coef=0.2  learning_rate=0.00025", "actor-0",
        "box:77"}) {
    EXPECT_THAT(text, HasSubstr(said));
  }
  EXPECT_EQ(err_.str(), "");
}

TEST_F(ClientCommandsTest, StatusJsonKeepsProtoFieldNamesAndZeroes) {
  options_.json = true;
  ASSERT_EQ(StatusCommand(options_, out_, err_), 0) << err_.str();
  const nlohmann::json j = nlohmann::json::parse(out_.str());
  // Protobuf's JSON mapping: 64-bit integers are strings, enums are names.
  EXPECT_EQ(j["policy_version"], "42");
  EXPECT_EQ(j["queue_capacity"], "65536");
  EXPECT_EQ(j["serving_state"], "SERVING_STATE_SERVING");
  EXPECT_EQ(j["chunks_dropped"][0]["reason"], "CHUNK_OUTCOME_DROPPED_POLICY_LAG");
  EXPECT_EQ(j["hyperparameters"]["clip_coef"], "0.2");
  EXPECT_EQ(j["actors"][0]["name"], "actor-0");
  EXPECT_TRUE(j.contains("sync_rounds")) << "zero fields must be present";
}

TEST_F(ClientCommandsTest, ActorsListsTheTable) {
  ASSERT_EQ(ActorsCommand(options_, /*include_inactive=*/true, out_, err_), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("2 actors (learner at policy version 42)"));
  EXPECT_THAT(out_.str(), HasSubstr("connected"));
  EXPECT_THAT(out_.str(), HasSubstr("disconnected"));
  options_.json = true;
  std::ostringstream json;
  ASSERT_EQ(ActorsCommand(options_, false, json, err_), 0);
  EXPECT_EQ(nlohmann::json::parse(json.str())["actors"].size(), 1u);
}

TEST_F(ClientCommandsTest, WatchPrintsOneLinePerUpdateUntilTheStreamEnds) {
  ASSERT_EQ(WatchCommand(options_, /*count=*/0, out_, err_), 0) << err_.str();
  const std::vector<std::string> lines = absl::StrSplit(out_.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], AllOf(HasSubstr("update 1 "), HasSubstr("return -")));
  EXPECT_THAT(lines[2], AllOf(HasSubstr("update 3 "), HasSubstr("steps 1536"),
                              HasSubstr("return 20.50")));
}

TEST_F(ClientCommandsTest, WatchCountStopsEarlyAndJsonIsOneObjectPerLine) {
  options_.json = true;
  ASSERT_EQ(WatchCommand(options_, /*count=*/2, out_, err_), 0) << err_.str();
  const std::vector<std::string> lines = absl::StrSplit(out_.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["update"], "1");
  EXPECT_EQ(nlohmann::json::parse(lines[0])["mean_episode_return"], "NaN");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["env_steps"], "1024");
}

TEST_F(ClientCommandsTest, CheckpointPauseResume) {
  ASSERT_EQ(CheckpointCommand(options_, "best", out_, err_), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("checkpoint written: /runs/ckpt-42-best.pt (version 42"));
  std::ostringstream p1, p2, r1, r2;
  EXPECT_EQ(PauseCommand(options_, p1, err_), 0);
  EXPECT_EQ(p1.str(), "paused at policy version 42\n");
  EXPECT_EQ(PauseCommand(options_, p2, err_), 0);
  EXPECT_EQ(p2.str(), "already paused at policy version 42\n");
  EXPECT_EQ(ResumeCommand(options_, r1, err_), 0);
  EXPECT_EQ(r1.str(), "resumed at policy version 42\n");
  EXPECT_EQ(ResumeCommand(options_, r2, err_), 0);
  EXPECT_EQ(r2.str(), "was not paused at policy version 42\n");
}

TEST_F(ClientCommandsTest, SetPrintsAppliedValues) {
  auto values = ParseAssignments({"learning-rate=1e-3", "clip_coef = 0.1"});
  ASSERT_TRUE(values.ok()) << values.status();
  ASSERT_EQ(SetCommand(options_, *values, false, out_, err_), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("learning_rate = 0.001\n"));
  EXPECT_THAT(out_.str(), HasSubstr("clip_coef = 0.1\n"));
  EXPECT_THAT(out_.str(), HasSubstr("effective from update 43"));
}

TEST_F(ClientCommandsTest, SetReportsEveryRefusedKeyAndExitsTwo) {
  auto values = ParseAssignments({"no_such_key=1", "clip_coef=-1", "learning_rate=0.1"});
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(SetCommand(options_, *values, false, out_, err_), 2);
  EXPECT_THAT(err_.str(), HasSubstr("proxima set: no_such_key: unknown key"));
  EXPECT_THAT(err_.str(), HasSubstr("proxima set: clip_coef: must be > 0"));
  EXPECT_THAT(err_.str(), HasSubstr("nothing changed"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("learning_rate")));
}

TEST(ParseAssignmentsTest, RejectsMalformedArguments) {
  EXPECT_THAT(ParseAssignments({}), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("KEY=VALUE")));
  EXPECT_THAT(ParseAssignments({"lr"}), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'lr'")));
  EXPECT_THAT(ParseAssignments({"=1"}), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("non-empty")));
  EXPECT_THAT(ParseAssignments({"lr="}), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("non-empty")));
  EXPECT_THAT(ParseAssignments({"ent-coef=1", "ent_coef=2"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("given twice")));
  auto ok = ParseAssignments({"target-kl=0.02"});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->at("target_kl"), "0.02");
}

TEST_F(ClientCommandsTest, HealthIsZeroOnlyWhenServing) {
  ASSERT_EQ(HealthCommand(options_, out_, err_), 0) << err_.str();
  EXPECT_EQ(out_.str(), "SERVING\n");
  server_->server()->GetHealthCheckService()->SetServingStatus(false);
  std::ostringstream out, err;
  EXPECT_EQ(HealthCommand(options_, out, err), 1);
  EXPECT_EQ(err.str(), absl::StrCat("proxima health: learner at ", options_.learner,
                                    " is NOT_SERVING\n"));
}

TEST_F(ClientCommandsTest, UnaryCallsHaveADeadline) {
  options_.timeout = absl::Milliseconds(300);
  EXPECT_EQ(CheckpointCommand(options_, "slow", out_, err_), 1);
  EXPECT_THAT(err_.str(), HasSubstr(absl::StrCat("proxima checkpoint: no answer from learner at ",
                                                 options_.learner, " before the deadline")));
  EXPECT_THAT(err_.str(), HasSubstr("DEADLINE_EXCEEDED"));
}

TEST(ClientCommandsUnreachableTest, EveryCommandNamesTheAddressAndStatus) {
  // A port that was just free: bind it, then close the server.
  std::string address;
  {
    FakeMonitor monitor;  // a server needs at least one service
    testing::LoopbackServer server{&monitor};
    ASSERT_TRUE(server.started());
    address = server.address();
    server.Shutdown();
  }
  ClientOptions options;
  options.learner = address;
  const std::string expected = absl::StrCat("cannot reach learner at ", address, ": UNAVAILABLE");
  std::ostringstream out, e1, e2, e3, e4;
  EXPECT_EQ(StatusCommand(options, out, e1), 1);
  EXPECT_THAT(e1.str(), HasSubstr("proxima status: " + expected));
  EXPECT_EQ(HealthCommand(options, out, e2), 1);
  EXPECT_THAT(e2.str(), HasSubstr("proxima health: " + expected));
  EXPECT_EQ(SetCommand(options, {{"lr", "1"}}, false, out, e3), 1);
  EXPECT_THAT(e3.str(), HasSubstr("proxima set: " + expected));
  EXPECT_EQ(WatchCommand(options, 0, out, e4), 1);
  EXPECT_THAT(e4.str(), HasSubstr("proxima watch: " + expected));
  EXPECT_EQ(out.str(), "");
}

TEST(FormatTest, UpdateLineAndMissingReturn) {
  v1::UpdateMetrics u;
  u.set_update(7);
  u.set_policy_version(7);
  u.set_env_steps(3584);
  u.set_mean_lag(0.5);
  u.set_max_lag(2);
  u.set_mean_episode_return(std::nan(""));
  const std::string line = FormatUpdateLine(u);
  EXPECT_THAT(line, HasSubstr("update 7  version 7  steps 3584"));
  EXPECT_THAT(line, HasSubstr("return -"));
  EXPECT_THAT(line, HasSubstr("lag 0.50/2  dropped 0 (0.0%)"));
  u.set_dropped_steps(128);
  u.set_dropped_fraction(0.2);
  EXPECT_THAT(FormatUpdateLine(u), HasSubstr("lag 0.50/2  dropped 128 (20.0%)"));
}

// `proxima status`: the run's drops over what was received, next to the
// newest update's lag.
TEST(FormatTest, StatusShowsLagAndTheRunsDrops) {
  v1::LearnerStatus s;
  s.set_transitions_received(51200);
  s.set_transitions_trained(49152);
  s.set_transitions_queued(512);
  v1::DropCount* d = s.add_chunks_dropped();
  d->set_reason(v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG);
  d->set_chunks(3);
  d->set_transitions(1536);
  s.mutable_last_update()->set_update(9);
  s.mutable_last_update()->set_mean_lag(1.02);
  s.mutable_last_update()->set_max_lag(2);
  const std::string text = FormatLearnerStatus(s);
  EXPECT_THAT(text, HasSubstr("received 51200  trained 49152  queued 512  dropped 1536 (3.0%)"));
  EXPECT_THAT(text, HasSubstr("lag 1.02 (max 2) dropped 3.0%"));
}

// `proxima status` of a paused learner: the buffer's "queue" and the
// accounting's "queued" are different counts, and the status says how the one
// makes up the other instead of showing "1024 / 1024" next to "queued 2048".
TEST(FormatTest, StatusQueueLineAddsUpToTheQueuedTransitions) {
  v1::LearnerStatus s;
  s.set_queue_transitions(1024);
  s.set_queue_capacity(1024);
  s.set_transitions_received(2048);
  s.set_transitions_queued(2048);
  const std::string text = FormatLearnerStatus(s);
  EXPECT_THAT(text, HasSubstr("queue           1024 / 1024 transitions buffered, "
                              "+ 1024 held by streams or in the batch = 2048 queued\n"));
  EXPECT_THAT(text, HasSubstr("received 2048  trained 0  queued 2048"));
  // All of it in the buffer: nothing to add up.
  s.set_transitions_queued(1024);
  EXPECT_THAT(FormatLearnerStatus(s), HasSubstr("1024 / 1024 transitions buffered\n"));
}

// `proxima actors`: the learner numbers actors in the order they registered,
// which need not be the order of their names (actor-1 may register first), so
// the table leads with the name, in name order, each row with its own id.
TEST(FormatTest, ActorTableIsInNameOrderEachRowWithItsOwnId) {
  google::protobuf::RepeatedPtrField<v1::ActorInfo> actors;
  for (const auto& [id, name] : std::vector<std::pair<uint32_t, std::string>>{
           {0, "actor-1"}, {1, "actor-10"}, {2, "actor-0"}, {3, "actor-2"}}) {
    v1::ActorInfo* a = actors.Add();
    a->set_actor_id(id);
    a->set_name(name);
    a->set_env_steps(1000 + id);
  }
  const std::vector<std::string> lines =
      absl::StrSplit(FormatActorTable(actors, google::protobuf::Timestamp()), '\n',
                     absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[0], ::testing::StartsWith("  name               id state"));
  EXPECT_THAT(lines[1], ::testing::StartsWith("  actor-0             2 "));
  EXPECT_THAT(lines[1], HasSubstr(" 1002 "));
  EXPECT_THAT(lines[2], ::testing::StartsWith("  actor-1             0 "));
  EXPECT_THAT(lines[3], ::testing::StartsWith("  actor-2             3 "));
  EXPECT_THAT(lines[4], ::testing::StartsWith("  actor-10            1 "));
  EXPECT_THAT(lines[4], HasSubstr(" 1001 "));
}

// `proxima status`: where the time goes over the recent window, as shares,
// and the bottleneck line; absent from a learner that does not measure.
TEST(FormatTest, StatusShowsTimeSharesAndTheBottleneck) {
  v1::LearnerStatus s;
  EXPECT_THAT(FormatLearnerStatus(s), Not(HasSubstr("bottleneck")));
  v1::TimeBreakdown* t = s.mutable_time_recent();
  t->set_wall_seconds(10);
  t->set_learner_update_seconds(9.1);
  t->set_learner_wait_batch_seconds(0.5);
  t->set_actor_env_seconds(3);
  t->set_actor_weights_wait_seconds(6.4);
  t->set_actor_inference_seconds(0.6);
  t->set_actor_wall_seconds(10);
  t->set_chunks(37);
  s.set_bottleneck("learner-bound: update 91% busy; actors idle 64% waiting for weights");
  const std::string text = FormatLearnerStatus(s);
  EXPECT_THAT(text, HasSubstr("learner: update 91%  publish 0%  waiting for data 5%  ingest 0%;  "
                              "actors: env 30%  inference 6%  send window 0%  weights 64%  "
                              "(last 10s, 37 chunks)"));
  EXPECT_THAT(text, HasSubstr("bottleneck      learner-bound: update 91% busy; actors idle 64% "
                              "waiting for weights"));
}

}  // namespace
}  // namespace proxima

// Bad input over real loopback gRPC: random bytes sent with a generic stub to
// every method of every service the learner serves (bit-flipped chunks on a
// trajectory stream: bit_flipped_chunks_test.cc). Each call must end with a
// clean status (or a clean reply) well before its deadline, the server must
// keep working (a normal actor registers and trains), the accounting
// invariant received = trained + dropped + queued must hold and the published
// weights must stay finite.
//
// Expectations per kind of body:
//  * a body that does not parse as the method's request: a non-OK status
//    (gRPC's own for typed methods; the learner's INVALID_ARGUMENT for the raw
//    ones, WatchWeights and StreamTrajectories, which also counts a chunk that
//    does not parse as received + REJECTED_INVALID);
//  * a body that parses (random bytes often do: an empty buffer is the
//    default message, unknown fields are kept) is a real request and gets a
//    real answer — e.g. Admin.Pause pauses, which is why the test resumes
//    afterwards. Server-streaming methods may then stay open (WatchMetrics,
//    Health.Watch): the call's deadline ends them, DEADLINE_EXCEEDED is fine.
//  * Admin.Shutdown only gets bodies that do NOT parse as ShutdownRequest: a
//    parseable one (even empty) is a legitimate request to stop the learner,
//    and it would obey (unless tokens are configured, docs/security.md).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "proxima/v1/admin_service.pb.h"
#include "proxima/v1/monitor_service.pb.h"
#include "tests/learner/learner_server_fixture.h"
#include "tests/learner/raw_grpc_call.h"

namespace proxima {
namespace {

using ::proxima::testing::CallResult;
using ::proxima::testing::Dropped;
using ::proxima::testing::Exchange;
using ::proxima::testing::ExpectInvariant;
using ::proxima::testing::SnapshotIsFinite;

enum class Kind { kUnary, kServerStream, kBidi };

struct Method {
  std::string path;
  Kind kind;
  // The request type, to tell whether a body parses; null where the test
  // has no generated type (the standard health and reflection services).
  const google::protobuf::Message* request;
};

std::vector<Method> AllMethods() {
  return {
      {"/proxima.v1.Learner/Register", Kind::kUnary, &v1::RegisterRequest::default_instance()},
      {"/proxima.v1.Learner/StreamTrajectories", Kind::kBidi,
       &v1::TrajectoryChunk::default_instance()},
      {"/proxima.v1.Learner/WatchWeights", Kind::kServerStream,
       &v1::WatchWeightsRequest::default_instance()},
      {"/proxima.v1.Monitor/GetStatus", Kind::kUnary, &v1::GetStatusRequest::default_instance()},
      {"/proxima.v1.Monitor/WatchMetrics", Kind::kServerStream,
       &v1::WatchMetricsRequest::default_instance()},
      {"/proxima.v1.Monitor/ListActors", Kind::kUnary,
       &v1::ListActorsRequest::default_instance()},
      {"/proxima.v1.Admin/SaveCheckpoint", Kind::kUnary,
       &v1::SaveCheckpointRequest::default_instance()},
      {"/proxima.v1.Admin/Pause", Kind::kUnary, &v1::PauseRequest::default_instance()},
      {"/proxima.v1.Admin/Resume", Kind::kUnary, &v1::ResumeRequest::default_instance()},
      {"/proxima.v1.Admin/SetHyperparameters", Kind::kUnary,
       &v1::SetHyperparametersRequest::default_instance()},
      {"/grpc.health.v1.Health/Check", Kind::kUnary, nullptr},
      {"/grpc.health.v1.Health/Watch", Kind::kServerStream, nullptr},
      {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", Kind::kBidi, nullptr},
      // Last, and only with bodies that do not parse (see the file comment).
      {"/proxima.v1.Admin/Shutdown", Kind::kUnary, &v1::ShutdownRequest::default_instance()},
  };
}

bool Parses(const google::protobuf::Message* type, const std::string& bytes) {
  std::unique_ptr<google::protobuf::Message> m(type->New());
  return m->ParseFromString(bytes);
}

// Random buffers of several sizes, plus a few hostile shapes: a varint that
// never ends, a length far beyond the buffer, deeply nested groups.
std::vector<std::string> GarbageBodies(uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  for (size_t size : {0, 1, 2, 3, 5, 8, 16, 64, 300, 4096}) {
    std::string b(size, '\0');
    for (char& c : b) c = static_cast<char>(rng() & 0xff);
    out.push_back(b);
  }
  out.push_back(std::string(16, '\xff'));
  out.push_back(std::string("\x0a\xff\xff\xff\xff\x0f", 6));
  out.push_back(std::string(3000, '\x0b'));
  return out;
}

// Service names listed by server reflection (ServerReflectionRequest with
// list_services, decoded without the reflection protos).
std::set<std::string> ReflectedServices(const std::shared_ptr<grpc::Channel>& channel) {
  CallResult r = Exchange(channel, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                          {std::string("\x3a\x00", 2)}, std::chrono::seconds(10), 1);
  std::set<std::string> names;
  if (r.replies.empty()) return names;
  google::protobuf::UnknownFieldSet response;
  if (!response.ParseFromString(r.replies[0])) return names;
  for (int i = 0; i < response.field_count(); ++i) {
    if (response.field(i).number() != 6) continue;  // list_services_response
    google::protobuf::UnknownFieldSet list;
    if (!list.ParseFromString(response.field(i).length_delimited())) continue;
    for (int j = 0; j < list.field_count(); ++j) {
      google::protobuf::UnknownFieldSet service;
      if (list.field(j).number() == 1 &&
          service.ParseFromString(list.field(j).length_delimited()) &&
          service.field_count() > 0) {
        names.insert(service.field(0).length_delimited());
      }
    }
  }
  return names;
}

// Shared with bit_flipped_chunks_test.cc: one suite, one fixture type.
using GarbageInputTest = ::proxima::testing::LearnerServerFixture;

TEST_F(GarbageInputTest, RandomBytesToEveryMethodNeverCrashOrHang) {
  StartServer();
  const std::vector<Method> methods = AllMethods();

  // The table covers every service the learner serves.
  std::set<std::string> covered;
  for (const Method& m : methods) covered.insert(m.path.substr(1, m.path.rfind('/') - 1));
  EXPECT_EQ(ReflectedServices(channel_), covered)
      << "the learner serves a service this test does not send garbage to";

  int calls = 0, refused = 0, answered = 0, still_open = 0;
  uint64_t unparsable_chunks = 0;
  for (size_t mi = 0; mi < methods.size(); ++mi) {
    const Method& m = methods[mi];
    SCOPED_TRACE(m.path);
    const bool is_shutdown = absl::EndsWith(m.path, "/Shutdown");
    std::vector<std::string> bodies = GarbageBodies(static_cast<uint32_t>(1000 + mi));
    // Streams get several messages on one call; unary calls one (and, once,
    // two: a protocol violation the server must survive too).
    std::vector<std::vector<std::string>> sends;
    for (size_t i = 0; i < bodies.size(); ++i) {
      if (is_shutdown && Parses(m.request, bodies[i])) continue;
      if (m.kind == Kind::kBidi) {
        sends.push_back({bodies[i], bodies[(i + 3) % bodies.size()], bodies[(i + 7) % bodies.size()]});
      } else {
        sends.push_back({bodies[i]});
      }
    }
    if (m.kind != Kind::kBidi) {
      std::vector<std::string> two = {bodies[4], bodies[9]};
      if (!is_shutdown || (!Parses(m.request, two[0]) && !Parses(m.request, two[1]))) {
        sends.push_back(two);
      }
    }
    ASSERT_FALSE(sends.empty());
    for (const std::vector<std::string>& send : sends) {
      const bool all_parse = m.request != nullptr &&
                             std::all_of(send.begin(), send.end(), [&](const std::string& b) {
                               return Parses(m.request, b);
                             });
      const bool first_parses = m.request == nullptr || Parses(m.request, send[0]);
      const auto t0 = std::chrono::steady_clock::now();
      const auto timeout = m.kind == Kind::kUnary ? std::chrono::seconds(20)
                                                  : std::chrono::seconds(2);
      CallResult r = Exchange(channel_, m.path, send, timeout);
      const double took =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ++calls;
      SCOPED_TRACE(absl::StrCat("sizes ", send[0].size(), "... -> ", r.status.error_code(), " ",
                                r.status.error_message(), " after ", took, " s"));
      if (r.status.ok()) {
        ++answered;
      } else if (r.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                 r.status.error_code() == grpc::StatusCode::CANCELLED) {
        ++still_open;
      } else {
        ++refused;
      }
      // Never hung: unary calls always finish on their own; a stream may
      // only be left open by a request that parses (a real subscription).
      if (m.kind == Kind::kUnary) {
        EXPECT_NE(r.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
        EXPECT_LT(took, 10);
      } else if (m.kind == Kind::kServerStream && !first_parses) {
        EXPECT_NE(r.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
      }
      if (m.request != nullptr && !first_parses && m.kind != Kind::kBidi) {
        EXPECT_FALSE(r.status.ok()) << "a body that does not parse was accepted";
      }
      if (is_shutdown) {
        EXPECT_FALSE(r.status.ok());
      }
      if (absl::EndsWith(m.path, "/StreamTrajectories")) {
        // Acks of the chunks that parsed (none can be accepted: no random
        // chunk names a live session), then INVALID_ARGUMENT at the first
        // one that does not, or OK after the half-close.
        size_t parsed_prefix = 0;
        while (parsed_prefix < send.size() && Parses(m.request, send[parsed_prefix])) {
          ++parsed_prefix;
        }
        EXPECT_EQ(r.replies.size(), parsed_prefix);
        for (const std::string& reply : r.replies) {
          v1::ChunkAck ack;
          ASSERT_TRUE(ack.ParseFromString(reply));
          EXPECT_NE(ack.outcome(), v1::CHUNK_OUTCOME_ACCEPTED);
          EXPECT_FALSE(ack.reason().empty());
        }
        if (all_parse) {
          EXPECT_TRUE(r.status.ok()) << r.status.error_message();
        } else {
          EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
          EXPECT_THAT(r.status.error_message(), ::testing::HasSubstr("does not parse"));
          ++unparsable_chunks;
        }
      }
      if (absl::EndsWith(m.path, "/WatchWeights") && !first_parses) {
        EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      }
    }
  }
  std::fprintf(stderr, "%d calls: %d answered, %d refused, %d left open until the deadline\n",
               calls, answered, refused, still_open);
  EXPECT_GT(refused, 0);
  EXPECT_GT(unparsable_chunks, 0u);

  // Chunks that did not parse were counted (no transitions) and everything
  // adds up.
  v1::LearnerStatus st = server_->Status(false);
  EXPECT_GE(Dropped(st, v1::CHUNK_OUTCOME_REJECTED_INVALID), unparsable_chunks);
  ExpectInvariant(st);
  EXPECT_EQ(st.serving_state(), v1::SERVING_STATE_SERVING);

  // Health still says SERVING (HealthCheckResponse{status: SERVING} = 08 01).
  CallResult health = Exchange(channel_, "/grpc.health.v1.Health/Check", {std::string()},
                               std::chrono::seconds(10));
  ASSERT_TRUE(health.status.ok()) << health.status.error_message();
  ASSERT_EQ(health.replies.size(), 1u);
  EXPECT_EQ(health.replies[0], std::string("\x08\x01", 2));

  // A garbage Pause may have paused training; resume, then a normal actor
  // registers, streams and is trained on.
  server_->SetPaused(false);
  auto a = Actor("after-garbage");
  ASSERT_TRUE(a->WaitForWeights(0));
  const uint64_t trained_before = server_->Status(false).chunks_trained();
  for (int i = 0; i < 3; ++i) {
    auto ack = a->Send(a->Rollout());
    ASSERT_TRUE(ack.has_value());
    EXPECT_EQ(ack->outcome(), v1::CHUNK_OUTCOME_ACCEPTED) << ack->reason();
  }
  st = WaitStatus([&](const v1::LearnerStatus& s) {
    return s.chunks_trained() >= trained_before + 3 && s.chunks_queued() == 0;
  });
  EXPECT_GE(st.chunks_trained(), trained_before + 3);
  EXPECT_GE(st.updates(), 1u);
  ExpectInvariant(st);
  std::optional<v1::WeightSnapshot> snap = LatestSnapshot(*a);
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(snap->version(), server_->Status(false).policy_version());
  EXPECT_TRUE(SnapshotIsFinite(*snap));
}

}  // namespace
}  // namespace proxima

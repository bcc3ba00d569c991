// Bad input over real loopback gRPC: random bytes sent with a generic stub to
// every method of every service the learner serves, and bit-flipped copies of
// valid TrajectoryChunks on a trajectory stream. Each call must end with a
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
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
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

namespace proxima {
namespace {

using ::proxima::testing::Dropped;
using ::proxima::testing::ExpectInvariant;
using ::proxima::testing::SnapshotIsFinite;

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

void* Tag(intptr_t i) { return reinterpret_cast<void*>(i); }

// One call of any kind through grpc::GenericStub, driven synchronously on a
// private completion queue. Every wait is bounded by the call's deadline.
class RawCall {
 public:
  RawCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
          std::chrono::milliseconds timeout)
      : stub_(channel) {
    ctx_.set_deadline(std::chrono::system_clock::now() + timeout);
    call_ = stub_.PrepareCall(&ctx_, method, &cq_);
    call_->StartCall(Tag(1));
    started_ = Wait(Tag(1));
  }

  ~RawCall() {
    if (!finished_) {
      ctx_.TryCancel();
      (void)Finish();
    }
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  bool Write(const std::string& bytes) {
    if (!started_) return false;
    grpc::ByteBuffer buffer = ToBuffer(bytes);
    call_->Write(buffer, Tag(2));
    return Wait(Tag(2));
  }

  bool WritesDone() {
    if (!started_) return false;
    call_->WritesDone(Tag(3));
    return Wait(Tag(3));
  }

  bool Read(std::string* bytes) {
    if (!started_) return false;
    grpc::ByteBuffer buffer;
    call_->Read(&buffer, Tag(4));
    if (!Wait(Tag(4))) return false;
    *bytes = FromBuffer(buffer);
    return true;
  }

  void Cancel() { ctx_.TryCancel(); }

  grpc::Status Finish() {
    grpc::Status status;
    call_->Finish(&status, Tag(5));
    (void)Wait(Tag(5));
    finished_ = true;
    return status;
  }

 private:
  bool Wait(void* want) {
    void* tag = nullptr;
    bool ok = false;
    if (!cq_.Next(&tag, &ok)) return false;
    EXPECT_EQ(tag, want);
    return ok;
  }

  grpc::GenericStub stub_;
  grpc::ClientContext ctx_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  bool started_ = false;
  bool finished_ = false;
};

struct CallResult {
  grpc::Status status;
  std::vector<std::string> replies;
};

// Sends `messages` (then half-closes), reads up to `max_replies` and
// finishes; cancels a stream that is still sending after that.
CallResult Exchange(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                    const std::vector<std::string>& messages,
                    std::chrono::milliseconds timeout, int max_replies = 8) {
  RawCall call(channel, method, timeout);
  CallResult r;
  bool writable = true;
  for (const std::string& m : messages) {
    if (!call.Write(m)) {
      writable = false;
      break;
    }
  }
  if (writable) (void)call.WritesDone();
  std::string reply;
  while (static_cast<int>(r.replies.size()) < max_replies && call.Read(&reply)) {
    r.replies.push_back(reply);
  }
  if (static_cast<int>(r.replies.size()) == max_replies) call.Cancel();
  r.status = call.Finish();
  return r;
}

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

class GarbageInputTest : public ::proxima::testing::LearnerServerFixture {};

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

// A trajectory stream over the generic stub: raw bytes up, raw acks down.
class RawTrajectoryStream {
 public:
  explicit RawTrajectoryStream(const std::shared_ptr<grpc::Channel>& channel)
      : call_(std::make_unique<RawCall>(channel, "/proxima.v1.Learner/StreamTrajectories",
                                        std::chrono::seconds(120))) {}

  // Sends `bytes` and waits for its ack; false when the stream ended instead.
  bool Send(const std::string& bytes, v1::ChunkAck* ack) {
    std::string reply;
    if (!call_->Write(bytes) || !call_->Read(&reply)) return false;
    return ack->ParseFromString(reply);
  }

  grpc::Status Finish() { return call_->Finish(); }

 private:
  std::unique_ptr<RawCall> call_;
};

TEST_F(GarbageInputTest, BitFlippedChunksAreAcceptedRejectedOrRefusedAndCounted) {
  StartServer();
  auto a = Actor("flipper");
  ASSERT_TRUE(a->WaitForWeights(0));
  std::mt19937 rng(20240611);
  auto stream = std::make_unique<RawTrajectoryStream>(channel_);
  uint64_t next_seq = 0;
  uint64_t expect_received = 0, parse_failures = 0;
  std::map<int, int> outcomes;
  v1::TrajectoryChunk base;
  constexpr int kIterations = 300;
  for (int it = 0; it < kIterations; ++it) {
    SCOPED_TRACE(absl::StrCat("iteration ", it));
    if (it % 10 == 0) {
      (void)a->WaitForWeights(a->version(), 0.1);  // act with a recent version
      base = a->Rollout();
    }
    v1::TrajectoryChunk chunk = base;
    chunk.set_seq(next_seq);
    chunk.set_policy_version(a->version());
    std::string bytes = chunk.SerializeAsString();
    // 1-4 bit flips; half of the iterations aim at the header and the first
    // tags, where flips change structure rather than values.
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      const size_t span = (it % 2 == 0) ? std::min<size_t>(48, bytes.size()) : bytes.size();
      const size_t pos = rng() % span;
      bytes[pos] = static_cast<char>(bytes[pos] ^ (1 << (rng() % 8)));
    }
    v1::TrajectoryChunk probe;
    const bool parses = probe.ParseFromString(bytes);
    v1::ChunkAck ack;
    const bool acked = stream->Send(bytes, &ack);
    if (!parses) {
      // Refused by parsing: the stream ends with INVALID_ARGUMENT, counted.
      EXPECT_FALSE(acked);
      grpc::Status s = stream->Finish();
      EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
      ++parse_failures;
      ++expect_received;
      stream = std::make_unique<RawTrajectoryStream>(channel_);
      continue;
    }
    ASSERT_TRUE(acked) << "a chunk that parses got no ack";
    ++outcomes[ack.outcome()];
    if (ack.outcome() != v1::CHUNK_OUTCOME_ACCEPTED) {
      EXPECT_FALSE(ack.reason().empty()) << v1::ChunkOutcome_Name(ack.outcome());
    }
    if (ack.outcome() != v1::CHUNK_OUTCOME_DUPLICATE) ++expect_received;
    if (ack.outcome() != v1::CHUNK_OUTCOME_REJECTED_UNKNOWN_SESSION &&
        ack.outcome() != v1::CHUNK_OUTCOME_REJECTED_STALE_SESSION) {
      next_seq = ack.next_expected_seq();
    }
    // A flip that set `final` ends the session for good: start a new one.
    if (probe.final() && ack.outcome() == v1::CHUNK_OUTCOME_ACCEPTED) {
      ASSERT_TRUE(a->Register().ok());
      a->StartWatch();
      ASSERT_TRUE(a->WaitForWeights(0));
      base = a->Rollout();
      next_seq = 0;
      stream = std::make_unique<RawTrajectoryStream>(channel_);
    }
  }
  std::string summary;
  for (const auto& [outcome, n] : outcomes) {
    absl::StrAppend(&summary, v1::ChunkOutcome_Name(static_cast<v1::ChunkOutcome>(outcome)), " ",
                    n, ", ");
  }
  std::fprintf(stderr, "%d mutated chunks: %sdoes not parse %llu\n", kIterations,
               summary.c_str(), static_cast<unsigned long long>(parse_failures));
  EXPECT_GT(outcomes[v1::CHUNK_OUTCOME_ACCEPTED], 0);
  EXPECT_GT(outcomes[v1::CHUNK_OUTCOME_REJECTED_INVALID], 0);

  // Still works: valid chunks on the open stream are accepted and trained.
  for (int i = 0; i < 3; ++i) {
    (void)a->WaitForWeights(a->version(), 0.1);
    v1::TrajectoryChunk good = a->Rollout();
    good.set_seq(next_seq);
    v1::ChunkAck ack;
    ASSERT_TRUE(stream->Send(good.SerializeAsString(), &ack));
    EXPECT_EQ(ack.outcome(), v1::CHUNK_OUTCOME_ACCEPTED) << ack.reason();
    next_seq = ack.next_expected_seq();
    ++expect_received;
  }
  v1::LearnerStatus st =
      WaitStatus([](const v1::LearnerStatus& s) { return s.chunks_queued() == 0; });
  EXPECT_EQ(st.chunks_received(), expect_received);
  EXPECT_GE(Dropped(st, v1::CHUNK_OUTCOME_REJECTED_INVALID), parse_failures);
  EXPECT_GT(st.updates(), 0u);
  ExpectInvariant(st);
  std::optional<v1::WeightSnapshot> snap = LatestSnapshot(*a);
  ASSERT_TRUE(snap.has_value());
  EXPECT_TRUE(SnapshotIsFinite(*snap));
}

}  // namespace
}  // namespace proxima

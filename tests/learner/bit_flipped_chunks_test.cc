// Bit-flipped copies of valid TrajectoryChunks on a real trajectory stream
// (random bytes to every method: garbage_input_test.cc). A chunk that no
// longer parses ends its stream with INVALID_ARGUMENT and is counted as
// received + REJECTED_INVALID; one that parses is accepted, rejected with a
// reason, or acknowledged as a duplicate. Afterwards valid chunks on the open
// stream are still accepted and trained, the accounting invariant holds and
// the published weights stay finite.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/learner/learner_server_fixture.h"
#include "tests/learner/raw_grpc_call.h"

namespace proxima {
namespace {

using ::proxima::testing::Dropped;
using ::proxima::testing::ExpectInvariant;
using ::proxima::testing::RawCall;
using ::proxima::testing::SnapshotIsFinite;

// Shared with garbage_input_test.cc: one suite, one fixture type.
using GarbageInputTest = ::proxima::testing::LearnerServerFixture;

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

// Sequence chunks on the wire (protocol revision 2): the codec's round trip
// and layout, and ValidateSequenceChunk naming the rule of every malformed
// case (tests/lm/seq_chunk_cases.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "common/wire/chunk_validator.h"
#include "common/wire/seq_chunk_codec.h"
#include "common/wire/seq_chunk_validator.h"
#include "tests/lm/seq_chunk_cases.h"

namespace proxima {
namespace {

using ::proxima::testing::ChunkOf;
using ::proxima::testing::MalformedSequenceCases;
using ::proxima::testing::SeqCase;
using ::proxima::testing::ValidSequences;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const SequenceChunkSpec kSpec{19, 16, 2};

TEST(SeqWireTest, RoundTripKeepsEveryField) {
  SequenceChunk in = ValidSequences();
  in.temperature = 0.75f;
  in.top_k = 5;
  v1::TrajectoryChunk wire = ChunkOf(in);
  const v1::SequenceBatch& b = wire.sequences();
  EXPECT_EQ(b.num_sequences(), 4u);
  EXPECT_EQ(b.prompt_tokens().shape(1), 4);      // P
  EXPECT_EQ(b.completion_tokens().shape(1), 3);  // C
  EXPECT_EQ(b.completion_mask().data(), std::string("\1\1\0\1\1\1\1\0\0\1\1\0", 12));
  SequenceChunk out = DecodeSequenceBatch(b);
  EXPECT_EQ(out.group_size, 2);
  EXPECT_EQ(out.temperature, 0.75f);
  EXPECT_EQ(out.top_k, 5);
  ASSERT_EQ(out.sequences.size(), in.sequences.size());
  for (size_t i = 0; i < in.sequences.size(); ++i) {
    EXPECT_EQ(out.sequences[i].prompt, in.sequences[i].prompt) << i;
    EXPECT_EQ(out.sequences[i].completion, in.sequences[i].completion) << i;
    EXPECT_EQ(out.sequences[i].logprobs, in.sequences[i].logprobs) << i;
    EXPECT_EQ(out.sequences[i].reward, in.sequences[i].reward) << i;
    EXPECT_EQ(out.sequences[i].group_id, in.sequences[i].group_id) << i;
  }
  EXPECT_EQ(out.completion_tokens(), 8);
  EXPECT_EQ(ValidateSequenceChunk(wire, kSpec), std::nullopt);
}

TEST(SeqWireTest, EveryMalformedClassIsRejectedWithItsRule) {
  for (const SeqCase& c : MalformedSequenceCases()) {
    v1::TrajectoryChunk wire = ChunkOf(ValidSequences());
    c.spoil(&wire);
    std::optional<SeqRejection> r = ValidateSequenceChunk(wire, kSpec);
    ASSERT_TRUE(r.has_value()) << c.name << " was accepted";
    EXPECT_EQ(SeqRejectName(r->rule), c.rule) << c.name << ": " << r->message;
    EXPECT_THAT(r->reason(), StartsWith(c.rule + ": ")) << c.name;
  }
}

TEST(SeqWireTest, ASequenceLongerThanTheModelIsALengthError) {
  SequenceChunk s = ValidSequences();
  s.sequences[1].completion.assign(13, 5);  // 4 + 13 > 16 positions
  s.sequences[1].logprobs.assign(13, -1.0f);
  std::optional<SeqRejection> r = ValidateSequenceChunk(ChunkOf(s), kSpec);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->rule, SeqReject::kLength);
  EXPECT_THAT(r->message, HasSubstr("more than the model's 16 positions"));
}

TEST(SeqWireTest, AnEnvRunRefusesASequenceChunkAndTheReverse) {
  v1::TrajectoryChunk wire = ChunkOf(ValidSequences());
  ChunkSpec env;
  env.obs_dim = 4;
  env.action_space = Space::Discrete(2);
  env.num_envs = 1;
  env.rollout_length = 8;
  absl::Status st = ValidateChunkPayload(wire, env);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), StartsWith("sequences: this run steps an env"));
}

}  // namespace
}  // namespace proxima

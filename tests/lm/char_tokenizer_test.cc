#include "common/lm/char_tokenizer.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace proxima::lm {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CharTokenizerTest, DefaultVocabularyIsTheSpecialsThenTheAlphabet) {
  const CharTokenizer tok;
  EXPECT_EQ(tok.alphabet(), std::string(kDefaultAlphabet));
  EXPECT_EQ(tok.vocab_size(), 3 + 16);
  EXPECT_EQ(tok.TokenName(CharTokenizer::kPad), "<pad>");
  EXPECT_EQ(tok.TokenName(CharTokenizer::kBos), "<bos>");
  EXPECT_EQ(tok.TokenName(CharTokenizer::kEos), "<eos>");
  EXPECT_EQ(tok.TokenName(3), "0");
  EXPECT_EQ(tok.TokenName(tok.vocab_size()), "<id 19?>");
  auto ids = tok.Encode("09+=");
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_THAT(*ids, ElementsAre(3, 12, 13, 16));
}

TEST(CharTokenizerTest, EveryCharacterRoundTrips) {
  const CharTokenizer tok;
  const std::string text = "12+345=r40719=s40719=" + std::string(kDefaultAlphabet);
  auto ids = tok.Encode(text);
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_EQ(ids->size(), text.size());
  for (int id : *ids) {
    EXPECT_GE(id, CharTokenizer::kNumSpecial);
    EXPECT_LT(id, tok.vocab_size());
  }
  auto back = tok.Decode(*ids);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, text);

  auto prompt = tok.EncodePrompt("7+8=");
  ASSERT_TRUE(prompt.ok());
  ASSERT_EQ(prompt->size(), 5u);
  EXPECT_EQ(prompt->front(), CharTokenizer::kBos);
}

TEST(CharTokenizerTest, OutOfVocabularyCharacterIsNamedWithItsPosition) {
  const CharTokenizer tok;
  EXPECT_THAT(tok.Encode("12x3"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'x' (0x78)"), HasSubstr("position 2"),
                             HasSubstr("\"12x3\""), HasSubstr("not in the vocabulary"))));
  EXPECT_THAT(tok.Encode("1 2"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("' ' (0x20) at position 1")));
  EXPECT_THAT(tok.Encode("\xc3\xa9"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("byte 0xc3 at position 0")));
  EXPECT_THAT(tok.EncodePrompt("1?"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'?'")));
}

TEST(CharTokenizerTest, DecodeRefusesSpecialAndOutOfRangeIds) {
  const CharTokenizer tok;
  EXPECT_THAT(
      tok.Decode({3, CharTokenizer::kEos}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("<eos>"), HasSubstr("position 1"), HasSubstr("special token"))));
  EXPECT_THAT(tok.Decode({19}), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("outside the vocabulary [0, 19)")));
  EXPECT_THAT(tok.Decode({-1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("token id -1")));
}

TEST(CharTokenizerTest, DecodeCompletionStopsAtEosAndAllowsOnlyPaddingAfter) {
  const CharTokenizer tok;
  const int three = 6;  // '3'
  auto text = tok.DecodeCompletion({three, three, CharTokenizer::kEos, CharTokenizer::kPad});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "33");
  auto unstopped = tok.DecodeCompletion({three});
  ASSERT_TRUE(unstopped.ok());
  EXPECT_EQ(*unstopped, "3");
  EXPECT_THAT(tok.DecodeCompletion({CharTokenizer::kEos, three}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("position 1"), HasSubstr("follows <eos>"))));
}

TEST(CharTokenizerTest, CreateRejectsBadAlphabets) {
  EXPECT_THAT(CharTokenizer::Create(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(CharTokenizer::Create("0120"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'0'"), HasSubstr("position 3"), HasSubstr("twice"))));
  EXPECT_THAT(CharTokenizer::Create("ab c"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("position 2")));
  auto custom = CharTokenizer::Create("ab");
  ASSERT_TRUE(custom.ok()) << custom.status();
  EXPECT_EQ(custom->vocab_size(), 5);
  EXPECT_THAT(custom->Encode("ba").value(), ElementsAre(4, 3));
}

}  // namespace
}  // namespace proxima::lm

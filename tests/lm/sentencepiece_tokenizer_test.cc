// SentencePieceTokenizer (common/lm/sentencepiece_tokenizer.h): a model
// trained here on a small corpus the test writes; encode/decode round trips,
// the special ids shared with CharTokenizer, the spec round trip through
// MakeTokenizer, and the errors for missing, corrupt and unusable inputs.
#include "common/lm/sentencepiece_tokenizer.h"

#include <memory>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/lm/char_tokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/lm/sanitizer_build.h"
#include "tests/test_util.h"

namespace proxima::lm {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::HasSubstr;

// Arithmetic and a few sentences: enough text for a 48-piece model.
std::string WriteCorpus(const std::string& dir) {
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text += std::to_string(i * 37 % 1000) + "+" + std::to_string(i * 11 % 100) + "=" +
            std::to_string(i * 37 % 1000 + i * 11 % 100) + "\n";
    text += "the policy writes a completion and the rule scores it\n";
  }
  const std::string path = dir + "/corpus.txt";
  EXPECT_TRUE(WriteFileAtomic(path, text).ok());
  return path;
}

class SentencePieceTokenizerTest : public ::testing::Test {
 protected:
  // The bridge is opened with RTLD_DEEPBIND, which the sanitizer runtimes
  // refuse (common/lm/sentencepiece_bridge.h).
  void SetUp() override {
#ifdef PROXIMA_SANITIZED
    GTEST_SKIP() << "SentencePiece's bridge needs RTLD_DEEPBIND, refused under sanitizers";
#endif
  }
  static void SetUpTestSuite() {
#ifdef PROXIMA_SANITIZED
    return;
#endif
    dir_ = new std::string(proxima::MakeTempDir("spm"));
    model_ = new std::string(TrainSentencePieceModel(WriteCorpus(*dir_), 48).value());
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete model_;
  }
  static std::string* dir_;
  static std::string* model_;
};
std::string* SentencePieceTokenizerTest::dir_ = nullptr;
std::string* SentencePieceTokenizerTest::model_ = nullptr;

TEST_F(SentencePieceTokenizerTest, TextRoundTripsAndSpecialIdsAreProximas) {
  const auto tok = SentencePieceTokenizer::FromSerializedModel(*model_).value();
  EXPECT_EQ(tok->vocab_size(), 48);
  EXPECT_EQ(tok->TokenName(Tokenizer::kPad), "<pad>");
  EXPECT_EQ(tok->TokenName(Tokenizer::kBos), "<bos>");
  EXPECT_EQ(tok->TokenName(Tokenizer::kEos), "<eos>");
  EXPECT_EQ(tok->TokenName(48), "<id 48?>");
  for (const std::string text : {"12+345=357", "the rule scores it", "999+99=1098", "a"}) {
    const std::vector<int> ids = tok->Encode(text).value();
    ASSERT_FALSE(ids.empty());
    for (int id : ids) {
      EXPECT_GT(id, Tokenizer::kEos) << text;  // no special token inside text
      EXPECT_LT(id, tok->vocab_size());
    }
    EXPECT_EQ(tok->Decode(ids).value(), text);
    const std::vector<int> prompt = tok->EncodePrompt(text).value();
    EXPECT_EQ(prompt.front(), Tokenizer::kBos);
    std::vector<int> completion = ids;
    completion.push_back(Tokenizer::kEos);
    completion.push_back(Tokenizer::kPad);
    EXPECT_EQ(tok->DecodeCompletion(completion).value(), text);
  }
  // Multi-character pieces: the corpus's words are shorter as pieces.
  EXPECT_LT(tok->Encode("the policy writes a completion").value().size(), 30u);
}

TEST_F(SentencePieceTokenizerTest, DecodeRefusesSpecialAndOutOfRangeIds) {
  const auto tok = SentencePieceTokenizer::FromSerializedModel(*model_).value();
  const int a = tok->Encode("1").value().front();
  EXPECT_THAT(tok->Decode({a, Tokenizer::kBos}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("token id 1 (<bos>) at position 1 is a special token")));
  EXPECT_THAT(tok->Decode({a, 48}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("token id 48 at position 1 is outside the vocabulary [0, 48)")));
  EXPECT_THAT(tok->DecodeCompletion({a, Tokenizer::kEos, a}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("follows <eos>")));
}

TEST_F(SentencePieceTokenizerTest, SpecRoundTripsThroughMakeTokenizer) {
  const auto tok = SentencePieceTokenizer::FromSerializedModel(*model_).value();
  const TokenizerSpec spec = tok->spec();
  EXPECT_EQ(spec.kind, "sentencepiece");
  EXPECT_EQ(spec.data, *model_);
  const std::unique_ptr<Tokenizer> again = MakeTokenizer(spec).value();
  EXPECT_EQ(again->vocab_size(), 48);
  EXPECT_EQ(again->Encode("12+345=357").value(), tok->Encode("12+345=357").value());
  // The character tokenizer goes through the same factory.
  const std::unique_ptr<Tokenizer> chars = MakeTokenizer(CharTokenizer().spec()).value();
  EXPECT_EQ(chars->vocab_size(), CharTokenizer().vocab_size());
  EXPECT_THAT(MakeTokenizer({"bpe", ""}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown tokenizer kind")));
}

TEST_F(SentencePieceTokenizerTest, MissingCorruptAndUnusableInputsAreNamed) {
  EXPECT_THAT(SentencePieceTokenizer::FromFile(*dir_ + "/none.model").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("none.model")));
  ASSERT_TRUE(WriteFileAtomic(*dir_ + "/bad.model", "not a model").ok());
  EXPECT_THAT(SentencePieceTokenizer::FromFile(*dir_ + "/bad.model").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bad.model: not a SentencePiece model")));
  ASSERT_TRUE(WriteFileAtomic(*dir_ + "/cut.model", model_->substr(0, model_->size() / 2)).ok());
  EXPECT_THAT(SentencePieceTokenizer::FromFile(*dir_ + "/cut.model").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cut.model")));
  ASSERT_TRUE(WriteFileAtomic(*dir_ + "/good.model", *model_).ok());
  EXPECT_EQ(SentencePieceTokenizer::FromFile(*dir_ + "/good.model").value()->vocab_size(), 48);

  EXPECT_THAT(TrainSentencePieceModel(*dir_ + "/none.txt", 48).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("none.txt")));
  EXPECT_THAT(TrainSentencePieceModel(*dir_ + "/corpus.txt", 4).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least 8")));
  EXPECT_THAT(TrainSentencePieceModel(*dir_ + "/corpus.txt", 100000).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot train")));
}

}  // namespace
}  // namespace proxima::lm

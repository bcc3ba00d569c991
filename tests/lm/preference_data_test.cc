// Preference files (learner/lm/preference_data.h): the round trip (true
// scores, noise marks and awkward strings kept exactly), blank and CRLF lines,
// and every bad-row class, each an InvalidArgument naming the file, the line
// and the field.
#include "learner/lm/preference_data.h"

#include <string>
#include <vector>

#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace proxima::lm {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string WriteText(const std::string& text) {
  const std::string path = MakeTempDir("prefs") + "/prefs.jsonl";
  EXPECT_TRUE(WriteFileAtomic(path, text).ok());
  return path;
}

TEST(PreferenceDataTest, RoundTripKeepsEveryField) {
  std::vector<PreferencePair> pairs(3);
  pairs[0] = {"12+345=", "357", "358", 1.1, 0.2, false};
  pairs[1] = {"9+9=", "18....", "19", 0.30000000000000004, -1e-300, true};
  pairs[2] = {"quote \" and \\ and \t tab", "ünïcödé", "x", std::nullopt, std::nullopt, false};
  const std::string path = MakeTempDir("prefs") + "/out.jsonl";
  ASSERT_TRUE(WritePreferences(path, pairs).ok());
  absl::StatusOr<std::vector<PreferencePair>> read = ReadPreferences(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    EXPECT_EQ((*read)[i].prompt, pairs[i].prompt) << i;
    EXPECT_EQ((*read)[i].chosen, pairs[i].chosen) << i;
    EXPECT_EQ((*read)[i].rejected, pairs[i].rejected) << i;
    EXPECT_EQ((*read)[i].true_chosen, pairs[i].true_chosen) << i;  // bit for bit
    EXPECT_EQ((*read)[i].true_rejected, pairs[i].true_rejected) << i;
    EXPECT_EQ((*read)[i].noisy, pairs[i].noisy) << i;
  }
}

TEST(PreferenceDataTest, BlankAndCrlfLinesAndDefaults) {
  const std::string path = WriteText(
      "\n{\"prompt\": \"1+1=\", \"chosen\": \"2\", \"rejected\": \"3\"}\r\n   \n"
      "{\"prompt\": \"2+2=\", \"chosen\": \"4\", \"rejected\": \"5\", \"noisy\": true}");
  absl::StatusOr<std::vector<PreferencePair>> read = ReadPreferences(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_FALSE((*read)[0].noisy);
  EXPECT_FALSE((*read)[0].true_chosen.has_value());
  EXPECT_TRUE((*read)[1].noisy);
  EXPECT_EQ((*read)[1].chosen, "4");
}

TEST(PreferenceDataTest, EmptyFileIsNoPairs) {
  absl::StatusOr<std::vector<PreferencePair>> read = ReadPreferences(WriteText(""));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->empty());
}

TEST(PreferenceDataTest, MissingFileIsNotFound) {
  EXPECT_THAT(ReadPreferences(MakeTempDir("prefs") + "/none.jsonl"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("none.jsonl")));
}

struct BadRow {
  const char* row;
  const char* field;    // the field the message must name ("" for the row itself)
  const char* problem;  // a phrase of the message
};

TEST(PreferenceDataTest, EveryBadRowNamesFileLineAndField) {
  const std::string good = R"({"prompt": "1+1=", "chosen": "2", "rejected": "3"})";
  const std::vector<BadRow> cases = {
      {R"({"prompt": "1+1=", "chosen": "2")", "", "does not parse"},
      {R"(["1+1=", "2", "3"])", "", "not a JSON object"},
      {R"({"chosen": "2", "rejected": "3"})", "\"prompt\"", "non-empty string"},
      {R"({"prompt": "", "chosen": "2", "rejected": "3"})", "\"prompt\"", "non-empty string"},
      {R"({"prompt": "1+1=", "chosen": 2, "rejected": "3"})", "\"chosen\"", "non-empty string"},
      {R"({"prompt": "1+1=", "chosen": "2"})", "\"rejected\"", "non-empty string"},
      {R"({"prompt": "1+1=", "chosen": "2", "rejected": "2"})", "\"rejected\"", "must differ"},
      {R"({"prompt": "1+1=", "chosen": "2", "rejected": "3", "true_chosen": "1"})",
       "\"true_chosen\"", "finite number"},
      {R"({"prompt": "1+1=", "chosen": "2", "rejected": "3", "true_chosen": 1e999, )"
       R"("true_rejected": 0})",
       "", "number overflow"},  // JSON has no infinities: the parser refuses
      {R"({"prompt": "1+1=", "chosen": "2", "rejected": "3", "true_chosen": 1})",
       "\"true_rejected\"", "missing"},
      {R"({"prompt": "1+1=", "chosen": "2", "rejected": "3", "true_rejected": 1})",
       "\"true_chosen\"", "missing"},
      {R"({"prompt": "1+1=", "chosen": "2", "rejected": "3", "noisy": 1})", "\"noisy\"",
       "true or false"},
      {R"({"prompt": "1+1=", "chosen": "2", "rejected": "3", "choosen": "2"})", "\"choosen\"",
       "unknown key"},
      {R"({"prompt": "1+1=", "chosen": "2", "rejected": "3", "true_chosen": NaN, )"
       R"("true_rejected": 0})",
       "", "does not parse"},
  };
  for (const BadRow& c : cases) {
    // The bad row is line 3, after a good row and a blank line.
    const std::string path = WriteText(good + "\n\n" + c.row + "\n" + good + "\n");
    EXPECT_THAT(ReadPreferences(path),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(path + " line 3: " + c.field), HasSubstr(c.problem))))
        << c.row;
  }
}

TEST(PreferenceDataTest, WriteRefusesBadPairsAndNamesTheWriteError) {
  const std::string dir = MakeTempDir("prefs");
  std::vector<PreferencePair> same = {{"1+1=", "2", "2", std::nullopt, std::nullopt, false}};
  EXPECT_THAT(WritePreferences(dir + "/a.jsonl", same),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pair 0")));
  std::vector<PreferencePair> half = {{"1+1=", "2", "3", 1.0, std::nullopt, false}};
  EXPECT_THAT(WritePreferences(dir + "/a.jsonl", half),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("true_rejected")));
  std::vector<PreferencePair> ok = {{"1+1=", "2", "3", std::nullopt, std::nullopt, false}};
  absl::Status s = WritePreferences(dir + "/no/such/dir/a.jsonl", ok);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("no/such/dir"));
}

}  // namespace
}  // namespace proxima::lm

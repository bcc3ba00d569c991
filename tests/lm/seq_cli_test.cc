// `proxima eval` and `proxima export` on a sequence-policy checkpoint, through
// the real `proxima` binary: a tiny `proxima lm sft --run-dir` run (in
// process), then eval (text and --json) and export of its run directory,
// and the errors for a bad --prompts and a damaged checkpoint; and the
// `generation` and `sequpdate` bench suites' rows (never how fast).
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/lm/lm_command.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::testing::HasSubstr;

std::string Proxima(const std::string& args) { return absl::StrCat(BinPath("proxima"), " ", args); }

class SeqCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    run_ = new std::string(MakeTempDir("seq_cli"));
    std::vector<std::string> args = {"lm",          "sft",           "--task=lm/Addition-v0",
                                     "--steps=10",  "--warmup=2",    "--eval-prompts=10",
                                     "--layers=1",  "--width=32",    "--heads=2",
                                     "--batch-size=8", "--run-dir", *run_};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    std::ostringstream out, err;
    ASSERT_EQ(RunLmCommand(static_cast<int>(argv.size()), argv.data(), out, err), 0) << err.str();
  }
  static void TearDownTestSuite() { delete run_; }
  static std::string* run_;
};
std::string* SeqCliTest::run_ = nullptr;

TEST_F(SeqCliTest, EvalReportsHeldOutExactMatch) {
  const CommandResult text = RunCommand(Proxima("eval --checkpoint " + *run_ + " --prompts 20"));
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_THAT(text.output, HasSubstr("lm/Addition-v0: 20 held-out prompts (greedy, seed 1): "
                                     "exact match "));
  const CommandResult json =
      RunCommand(Proxima("eval --json --checkpoint " + *run_ + " --prompts 20 --seed 3"));
  ASSERT_EQ(json.exit_code, 0) << json.output;
  const nlohmann::json j = nlohmann::json::parse(json.output.substr(json.output.find('{')));
  EXPECT_EQ(j["prompts"], 20);
  EXPECT_EQ(j["seed"], 3);
  EXPECT_EQ(j["task"], "lm/Addition-v0");
  EXPECT_GE(j["accuracy"].get<double>(), 0.0);
  EXPECT_LE(j["mean_partial_credit"].get<double>(), 1.0);

  const CommandResult bad = RunCommand(Proxima("eval --checkpoint " + *run_ + " --prompts 0"));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_THAT(bad.output, HasSubstr("--prompts must be >= 1"));
}

TEST_F(SeqCliTest, ExportWritesATorchScriptModule) {
  const std::string pt = *run_ + "/policy.pt";
  const CommandResult r = RunCommand(Proxima("export --checkpoint " + *run_ + " --out " + pt));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("sequence policy for lm/Addition-v0, vocab 19"));
  EXPECT_TRUE(ReadFile(pt).ok());
}

TEST_F(SeqCliTest, DamagedCheckpointExits2NamingIt) {
  const std::string dir = MakeTempDir("seq_cli_bad");
  const std::string bytes = ReadFile(*run_ + "/checkpoints/ckpt-000000000000-sft.pt").value();
  const std::string path = dir + "/ckpt-000000000000.pt";
  ASSERT_TRUE(WriteFileAtomic(path, bytes.substr(0, bytes.size() - 100)).ok());
  const CommandResult r = RunCommand(Proxima("eval --checkpoint " + path));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("corrupted archive"));
}

// `proxima bench --suite <suite> --quick --json`: the suite's rows.
std::vector<nlohmann::json> QuickSuiteRows(const std::string& suite) {
  const std::string json = MakeTempDir("seq_bench_" + suite) + "/bench.json";
  const CommandResult r = RunCommand(Proxima("bench --suite " + suite + " --quick --json " + json));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::vector<nlohmann::json> rows;
  if (r.exit_code != 0) return rows;
  const nlohmann::json report = nlohmann::json::parse(ReadFile(json).value());
  for (const nlohmann::json& row : report.at("rows")) {
    if (row.at("suite") == suite) rows.push_back(row);
  }
  return rows;
}

TEST(SeqBenchTest, GenerationSuiteReportsEveryCase) {
  std::vector<std::string> names;
  for (const nlohmann::json& row : QuickSuiteRows("generation")) {
    names.push_back(row.at("name").get<std::string>());
    EXPECT_GT(row.at("metrics").at("tokens_per_second").get<double>(), 0.0) << row;
    EXPECT_EQ(row.at("params").at("new_tokens"), 23) << row;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"batch=1/kv-cache", "batch=1/no-cache",
                                             "batch=8/kv-cache", "batch=8/no-cache",
                                             "batch=64/kv-cache", "batch=64/no-cache"}));
}

// --quick: 2 chunks (64 sequences) per update, 2 timed updates per algorithm.
TEST(SeqBenchTest, SeqUpdateSuiteReportsGrpoAndPpo) {
  std::vector<std::string> names;
  for (const nlohmann::json& row : QuickSuiteRows("sequpdate")) {
    names.push_back(row.at("name").get<std::string>());
    const nlohmann::json& m = row.at("metrics");
    EXPECT_GT(m.at("tokens_per_second").get<double>(), 0.0) << row;
    EXPECT_GT(m.at("ms_per_update").get<double>(), 0.0) << row;
    EXPECT_GT(m.at("generate_tokens_per_second").get<double>(), 0.0) << row;
    // Every batch is real generation: 2 chunks of 4 prompts x 8 completions,
    // each 1..6 tokens long.
    EXPECT_EQ(m.at("sequences_per_update"), 64) << row;
    EXPECT_GE(m.at("completion_tokens_per_sequence").get<double>(), 1.0) << row;
    EXPECT_LE(m.at("completion_tokens_per_sequence").get<double>(), 6.0) << row;
    // Each batch comes from the weights it is trained from (sync mode).
    EXPECT_LT(m.at("first_ratio_max_deviation").get<double>(), 1e-4) << row;
    EXPECT_EQ(row.at("params").at("group_size"), 8) << row;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"grpo", "ppo"}));
}

}  // namespace
}  // namespace proxima

// `proxima plot` over real run directories (in-process and local-cluster runs
// made by the `proxima` binary), and the learner server's TensorBoard event
// file in the cluster run, read back by the CRC-checking test reader.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/learner/event_file_reader.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

namespace fs = std::filesystem;
using ::proxima::testing::FindEventFiles;
using ::proxima::testing::ReadEventFile;
using ::testing::HasSubstr;

uint32_t BigEndian32(const std::string& bytes, size_t pos) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[pos + i]);
  return v;
}

// Three short runs shared by the tests: two in-process seeds and one local
// cluster (learner server + one actor process).
class PlotTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(MakeTempDir("plot"));
    for (int seed : {1, 2}) {
      const std::string dir = absl::StrCat(*root_, "/cartpole-seed", seed);
      CommandResult r = RunCommand(absl::StrCat(
          BinPath("proxima"), " train --in-process --env CartPole-v1 --total-steps 8192 --seed ",
          seed, " --quiet --run-dir ", dir));
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    CommandResult r = RunCommand(absl::StrCat(
        BinPath("proxima"),
        " train --env CartPole-v1 --actors 1 --total-steps 4096 --seed 3 --quiet --run-dir ",
        *root_, "/cluster"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  static std::string Run(const std::string& name) { return *root_ + "/" + name; }
  static std::string* root_;
};
std::string* PlotTest::root_ = nullptr;

TEST_F(PlotTest, DrawsOverlaidRunsAtTheRequestedSize) {
  const std::string out_dir = MakeTempDir("plotout");
  const std::string tmp = MakeTempDir("plottmp");
  const std::string png = out_dir + "/curves.png";
  CommandResult r = RunCommand(absl::StrCat("TMPDIR=", tmp, " ", BinPath("proxima"), " plot ",
                                            Run("cartpole-seed1"), " ", Run("cartpole-seed2"),
                                            "/ ", Run("cluster"), " --out ", png,
                                            " --title 'CartPole-v1 \"3 runs\"' --width 640 "
                                            "--height=360"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("wrote " + png + " (3 runs"));
  const std::string bytes = ReadFile(png).value_or("");
  ASSERT_GE(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(BigEndian32(bytes, 8), 13u);  // IHDR length
  EXPECT_EQ(bytes.substr(12, 4), "IHDR");
  EXPECT_EQ(BigEndian32(bytes, 16), 640u);
  EXPECT_EQ(BigEndian32(bytes, 20), 360u);
  EXPECT_GT(bytes.size(), 5000u);  // lines and labels, not a blank image
  // Nothing left behind: the script and data lived in a removed temp dir, and
  // the image was drawn to a temporary name beside --out.
  EXPECT_TRUE(fs::is_empty(tmp));
  EXPECT_EQ(std::distance(fs::directory_iterator(out_dir), fs::directory_iterator()), 1);
}

TEST_F(PlotTest, DefaultSizeAndOneRun) {
  const std::string png = MakeTempDir("plotout") + "/one.png";
  CommandResult r =
      RunCommand(absl::StrCat(BinPath("proxima"), " plot ", Run("cartpole-seed1"), " --out=", png));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string bytes = ReadFile(png).value_or("");
  ASSERT_GE(bytes.size(), 24u);
  EXPECT_EQ(BigEndian32(bytes, 16), 1200u);
  EXPECT_EQ(BigEndian32(bytes, 20), 450u);
}

TEST_F(PlotTest, BadInputExitsTwoWithAClearMessage) {
  const std::string dir = MakeTempDir("plotbad");
  fs::create_directories(dir + "/empty");
  std::ofstream(dir + "/empty/metrics.csv").close();
  fs::create_directories(dir + "/header-only");
  std::ofstream(dir + "/header-only/metrics.csv") << "update,env_steps,wall_seconds,mean_return\n";
  fs::create_directories(dir + "/no-episode");
  std::ofstream(dir + "/no-episode/metrics.csv")
      << "update,env_steps,wall_seconds,mean_return\n1,512,0.1,nan\n";
  const std::string proxima = BinPath("proxima");
  const std::string out = " --out " + dir + "/x.png";
  struct Case {
    std::string command;
    std::string message;
  } cases[] = {
      {proxima + " plot " + dir + "/missing" + out,
       "run directory '" + dir + "/missing' does not exist"},
      {proxima + " plot " + dir + out, "no metrics.csv in '" + dir + "'"},
      {proxima + " plot " + dir + "/empty" + out, "metrics.csv' is empty"},
      {proxima + " plot " + dir + "/header-only" + out, "is empty (no update has finished yet)"},
      {proxima + " plot " + dir + "/no-episode" + out, "no episode has finished in any run"},
      {"PATH=" + dir + " " + proxima + " plot " + Run("cartpole-seed1") + out,
       "gnuplot not found in PATH; install it with `apt-get install gnuplot-nox`"},
      {proxima + " plot " + Run("cartpole-seed1"), "--out FILE.png is required"},
      {proxima + " plot" + out, "give at least one RUN_DIR"},
      {proxima + " plot " + Run("cartpole-seed1") + out + " --width 10",
       "--width must be in [200, 10000] pixels (got 10)"},
      {proxima + " plot " + Run("cartpole-seed1") + out + " --height tall",
       "invalid value 'tall' for flag --height"},
      {proxima + " plot " + Run("cartpole-seed1") + out + " --colour red", "unknown flag --colour"},
      {proxima + " plot " + Run("cartpole-seed1") + " " + dir + "/nowhere/x.png --out",
       "flag --out needs a value"},
      {proxima + " plot " + Run("cartpole-seed1") + " --out " + dir + "/nowhere/x.png",
       "--out: directory '" + dir + "/nowhere' does not exist"},
  };
  for (const Case& c : cases) {
    CommandResult r = RunCommand(c.command);
    EXPECT_EQ(r.exit_code, 2) << c.command << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.message)) << c.command;
  }
  EXPECT_FALSE(fs::exists(dir + "/x.png"));
}

// A sequence run's metrics.csv (learner/server/seq_run_files.h) is drawn as
// held-out accuracy against completion tokens; rows without an evaluation
// are skipped; it does not mix with MLP runs.
TEST_F(PlotTest, SequenceRunDrawsHeldOutAccuracy) {
  const std::string dir = MakeTempDir("plotseq");
  fs::create_directories(dir + "/grpo");
  std::ofstream(dir + "/grpo/metrics.csv")
      << "update,wall_seconds,sequences,tokens,batch_tokens,update_seconds,mean_reward,"
         "solved_fraction,kl_to_ref,seq_kl_to_ref,policy_loss,value_loss,clip_fraction,"
         "grad_norm,max_lag,held_out_accuracy\n"
         "1,1.0,256,900,900,0.5,0.4,0.4,0.01,0.02,0,0,0.01,5,3,\n"
         "2,2.0,512,1800,900,0.5,0.5,0.5,0.01,0.02,0,0,0.01,5,3,0.52\n"
         "3,3.0,768,2700,900,0.5,0.5,0.5,0.01,0.02,0,0,0.01,5,3,\n"
         "4,4.0,1024,3600,900,0.5,0.5,0.5,0.01,0.02,0,0,0.01,5,3,0.55\n";
  fs::create_directories(dir + "/no-eval");
  std::ofstream(dir + "/no-eval/metrics.csv")
      << "update,wall_seconds,tokens,held_out_accuracy\n1,1.0,900,\n";
  const std::string png = dir + "/seq.png";
  CommandResult r = RunCommand(BinPath("proxima") + " plot " + dir + "/grpo --out " + png);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GT(ReadFile(png).value_or("").size(), 1000u);
  r = RunCommand(BinPath("proxima") + " plot " + dir + "/grpo " + Run("cartpole-seed1") +
                 " --out " + dir + "/mixed.png 2>&1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("one plot holds runs of one kind"));
  r = RunCommand(BinPath("proxima") + " plot " + dir + "/no-eval --out " + dir + "/none.png 2>&1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("no held-out evaluation in '" + dir + "/no-eval' (1 updates)"));
}

TEST_F(PlotTest, RunWithoutEpisodesIsLeftOutWithAWarning) {
  const std::string dir = MakeTempDir("plotwarn");
  fs::create_directories(dir + "/no-episode");
  std::ofstream(dir + "/no-episode/metrics.csv")
      << "update,env_steps,wall_seconds,mean_return\n1,512,0.1,nan\n";
  CommandResult r = RunCommand(absl::StrCat(BinPath("proxima"), " plot ", dir, "/no-episode ",
                                            Run("cartpole-seed2"), " --out ", dir, "/w.png"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("warning: no episode has finished in '" + dir + "/no-episode'"));
  EXPECT_THAT(r.output, HasSubstr("(1 run,"));
  EXPECT_TRUE(fs::exists(dir + "/w.png"));
}

// The learner server's TrainerLoop writes the same event file as the
// in-process trainer (tensorboard_test covers that one in detail).
TEST_F(PlotTest, ClusterRunHasAValidEventFile) {
  const std::vector<std::string> files = FindEventFiles(Run("cluster"));
  ASSERT_EQ(files.size(), 1u);
  auto events = ReadEventFile(files[0]);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_GE(events->size(), 2u);
  EXPECT_EQ((*events)[0].file_version(), "brain.Event:2");
  std::ifstream csv(Run("cluster") + "/metrics.csv");
  std::string line;
  int64_t rows = -1;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(static_cast<int64_t>(events->size()) - 1, rows);
  std::set<std::string> tags;
  int64_t last_step = 0;
  for (size_t i = 1; i < events->size(); ++i) {
    EXPECT_GT((*events)[i].step(), last_step);
    last_step = (*events)[i].step();
    for (const auto& v : (*events)[i].summary().value()) tags.insert(v.tag());
  }
  EXPECT_GE(last_step, 4096);
  for (const char* tag : {"charts/episodic_return", "losses/value_loss", "losses/approx_kl",
                          "perf/env_steps_per_second", "lag/mean_lag", "lag/max_lag",
                          "lag/dropped_steps", "lag/dropped_fraction", "perf/batch_chunks"}) {
    EXPECT_EQ(tags.count(tag), 1u) << tag;
  }
}

}  // namespace
}  // namespace proxima

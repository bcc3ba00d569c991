// The over-optimisation plot of `proxima plot` (learner/cli/rlhf_plot.h) on
// synthetic `proxima lm rl --reward-model` run directories: which points of
// metrics.csv and summary.json become which series, the β label, the
// smoothing, the gnuplot script, a PNG of the requested size (skipped,
// saying so, without gnuplot), and the errors.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "learner/cli/plot_command.h"
#include "learner/cli/rlhf_plot.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// The columns `proxima lm rl --reward-model` writes (rl_command.cc), in its
// order, with `rows` iterations: batch KL 0.1·i, learned reward −2 + 0.05·i,
// true score 0.6 + 0.01·i; kl_coef β on every row; held-out cells filled
// every 10th iteration (KL 0.1·i + 0.05, learned −2 + 0.04·i, true
// 0.65 + 0.005·i).
std::string WriteRun(const std::string& dir, double beta, int rows, bool summary) {
  fs::create_directories(dir);
  std::ofstream csv(dir + "/metrics.csv");
  csv << "iteration,seconds,sequences,tokens,mean_reward,solved_fraction,mean_completion_length,"
         "kl_to_ref,seq_kl_to_ref,entropy,loss,policy_loss,value_loss,clip_fraction,approx_kl,"
         "grad_norm,first_ratio_deviation,kl_coef,degenerate_groups,groups,held_out_accuracy,"
         "held_out_partial_credit,held_out_sampled_accuracy,learned_reward,true_reward,"
         "true_rule,true_style,held_out_learned_reward,held_out_true_reward,held_out_exact,"
         "held_out_seq_kl_to_ref\n";
  for (int i = 1; i <= rows; ++i) {
    csv << absl::StrFormat("%d,%d,256,900,0.1,0.4,3,0.01,%g,1.2,0,0,0,0,0,1,0,%g,0,32,", i, i,
                           0.1 * i, beta);
    if (i % 10 == 0) {
      csv << absl::StrFormat("0.5,0.6,,%g,%g,0.4,0.2,%g,%g,0.4,%g\n", -2 + 0.05 * i,
                             0.6 + 0.01 * i, -2 + 0.04 * i, 0.65 + 0.005 * i, 0.1 * i + 0.05);
    } else {
      csv << absl::StrFormat(",,,%g,%g,0.4,0.2,,,,\n", -2 + 0.05 * i, 0.6 + 0.01 * i);
    }
  }
  if (summary) {
    std::ofstream(dir + "/summary.json")
        << "{\"method\": \"ppo\", \"before\": {\"prompts\": 500, \"true_reward\": 0.675, "
           "\"learned_reward\": -2.008, \"exact\": 0.4, \"seq_kl_to_ref\": 0}}\n";
  }
  return dir;
}

uint32_t BigEndian32(const std::string& bytes, size_t pos) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[pos + i]);
  return v;
}

TEST(RlhfPlotTest, ReadsBatchAndHeldOutSeriesWithTheBetaLabel) {
  const std::string root = MakeTempDir("rlhfplot");
  const std::string run = WriteRun(root + "/ppo_b0.05/", 0.05, 30, /*summary=*/true);
  ASSERT_TRUE(IsRlhfRun(run));
  absl::StatusOr<RlhfCurve> c = ReadRlhfCurve(run);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->label, "ppo_b0.05 (β 0.05)");
  EXPECT_DOUBLE_EQ(c->beta, 0.05);
  EXPECT_EQ(c->rows, 30);
  // Held out: summary.json's "before" at KL 0, then iterations 10, 20, 30.
  ASSERT_EQ(c->held_kl.size(), 4u);
  EXPECT_DOUBLE_EQ(c->held_kl[0], 0);
  EXPECT_DOUBLE_EQ(c->held_learned[0], -2.008);
  EXPECT_DOUBLE_EQ(c->held_true[0], 0.675);
  EXPECT_DOUBLE_EQ(c->held_kl[3], 3.05);
  EXPECT_DOUBLE_EQ(c->held_learned[2], -2 + 0.8);
  EXPECT_DOUBLE_EQ(c->held_true[1], 0.7);
  // Batches: a centred mean over RlhfSmoothWindow(30) = 3 iterations, cut
  // at the ends: point 0 averages iterations 1..3, point 10 iterations
  // 10..12, point 29 iterations 29..30.
  EXPECT_EQ(RlhfSmoothWindow(30), 3);
  EXPECT_EQ(RlhfSmoothWindow(200), 20);
  EXPECT_EQ(RlhfSmoothWindow(1000), 30);
  EXPECT_EQ(RlhfSmoothWindow(3), 1);
  ASSERT_EQ(c->batch_kl.size(), 30u);
  EXPECT_NEAR(c->batch_kl[0], 0.2, 1e-12);
  EXPECT_NEAR(c->batch_kl[10], 1.1, 1e-12);
  EXPECT_NEAR(c->batch_learned[10], -2 + 0.05 * 11, 1e-12);
  EXPECT_NEAR(c->batch_true[29], 0.6 + 0.01 * 29.5, 1e-12);

  const std::string data = RlhfPlotData(*c);
  EXPECT_THAT(data, HasSubstr("\n\n\n# held-out samples"));  // gnuplot's index 1
  EXPECT_THAT(data, HasSubstr("# held-out samples: kl learned true\n0 -2.00"));
  // Without summary.json the held-out series starts at the first evaluation.
  const std::string bare = WriteRun(root + "/bare", 0.2, 30, /*summary=*/false);
  absl::StatusOr<RlhfCurve> b = ReadRlhfCurve(bare);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->held_kl.size(), 3u);
  EXPECT_EQ(b->label, "bare (β 0.2)");

  PlotOptions o;
  const std::string script =
      RlhfPlotScript(o, {*c, *b}, {"/d/a.dat", "/d/b.dat"}, "/out/x.png");
  EXPECT_THAT(script, HasSubstr("set output \"/out/x.png\""));
  EXPECT_THAT(script, HasSubstr("\"/d/a.dat\" index 0 using 1:2 with lines"));
  EXPECT_THAT(script, HasSubstr("\"/d/b.dat\" index 1 using 1:3 with linespoints"));
  EXPECT_THAT(script, HasSubstr("title \"ppo_b0.05 (β 0.05)\""));
  EXPECT_THAT(script, HasSubstr("KL to the reference (nats per sequence)"));
  EXPECT_THAT(script, HasSubstr("mean of 3 iterations"));
  EXPECT_FALSE(IsRlhfRun(root));  // no metrics.csv
}

// A cluster run (`proxima train --reward-model`, seq_run_files.h's columns):
// row 0 is the evaluated start with held-out cells only, no kl_coef column,
// the β in config.json.
TEST(RlhfPlotTest, ReadsAClusterRunWhoseRowZeroHasHeldOutCellsOnly) {
  const std::string run = MakeTempDir("rlhfplot_cluster");
  {
    std::ofstream csv(run + "/metrics.csv");
    csv << "update,wall_seconds,sequences,tokens,batch_tokens,update_seconds,mean_reward,"
           "solved_fraction,kl_to_ref,seq_kl_to_ref,policy_loss,value_loss,clip_fraction,"
           "grad_norm,max_lag,held_out_accuracy,learned_reward,true_reward,true_rule,true_style,"
           "held_out_learned_reward,held_out_true_reward,held_out_exact,held_out_seq_kl_to_ref\n";
    csv << "0,7.0,0,0,0,0.0000,0,0,0,0,0,0,0,0,0,0.506,,,,,-1.95,0.71,0.44,0\n";
    for (int i = 1; i <= 4; ++i) {
      csv << absl::StrFormat("%d,%d,256,900,900,1,0.1,0.5,0.01,%g,0,0,0,1,1,", i, 7 + i, 0.1 * i);
      csv << absl::StrFormat("%s,%g,%g,0.45,0.27,", i == 4 ? "0.53" : "", -1.9 + 0.05 * i,
                             0.7 + 0.01 * i);
      csv << (i == 4 ? "-1.8,0.72,0.45,0.3\n" : ",,,\n");
    }
  }
  std::ofstream(run + "/config.json") << "{\"kind\": \"sequence\", \"kl_beta\": 0.05}\n";
  ASSERT_TRUE(IsRlhfRun(run));
  absl::StatusOr<RlhfCurve> c = ReadRlhfCurve(run);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->rows, 4);  // row 0 is not a batch
  EXPECT_DOUBLE_EQ(c->beta, 0.05);
  EXPECT_THAT(c->label, HasSubstr("(β 0.05)"));
  ASSERT_EQ(c->held_kl.size(), 2u);  // the start and update 4
  EXPECT_DOUBLE_EQ(c->held_kl[0], 0);
  EXPECT_DOUBLE_EQ(c->held_learned[0], -1.95);
  EXPECT_DOUBLE_EQ(c->held_true[1], 0.72);
  ASSERT_EQ(c->batch_kl.size(), 4u);
  EXPECT_NEAR(c->batch_learned[0], -1.85, 1e-12);  // window 1: update 1 itself
  // A config.json from before "kl_beta" was recorded: no β in the label.
  std::ofstream(run + "/config.json") << "{\"kind\": \"sequence\"}\n";
  c = ReadRlhfCurve(run);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(std::isnan(c->beta));
  EXPECT_EQ(c->label.find("β"), std::string::npos) << c->label;
}

TEST(RlhfPlotTest, DrawsAPngOfTheRequestedSize) {
  if (!fs::exists("/usr/bin/gnuplot")) GTEST_SKIP() << "gnuplot not installed (gnuplot-nox)";
  const std::string root = MakeTempDir("rlhfplotpng");
  PlotOptions o;
  for (double beta : {0.01, 0.05, 0.2}) {
    o.run_dirs.push_back(WriteRun(absl::StrCat(root, "/b", beta), beta, 40, true));
  }
  o.out = root + "/over.png";
  o.width = 900;
  o.height = 400;
  std::ostringstream out, err;
  ASSERT_EQ(PlotCommand(o, out, err), 0) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("wrote " + o.out + " (over-optimisation: 3 RLHF runs"));
  const std::string bytes = ReadFile(o.out).value_or("");
  ASSERT_GE(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(BigEndian32(bytes, 16), 900u);
  EXPECT_EQ(BigEndian32(bytes, 20), 400u);
  EXPECT_GT(bytes.size(), 5000u);  // curves and labels, not a blank image
}

TEST(RlhfPlotTest, BadRunsExitTwoNamingTheRun) {
  const std::string root = MakeTempDir("rlhfplotbad");
  const std::string good = WriteRun(root + "/good", 0.05, 20, false);
  fs::create_directories(root + "/mlp");
  std::ofstream(root + "/mlp/metrics.csv")
      << "update,env_steps,wall_seconds,mean_return\n1,512,0.1,20\n";
  const std::string bad = WriteRun(root + "/bad", 0.05, 3, false);
  std::ofstream(bad + "/metrics.csv", std::ios::app) << "4,4,256\n";
  const std::string empty = root + "/empty";
  fs::create_directories(empty);
  std::ofstream(empty + "/metrics.csv") << "iteration,seq_kl_to_ref,learned_reward,true_reward\n";
  const struct {
    std::vector<std::string> runs;
    std::string message;
  } cases[] = {
      {{good, root + "/mlp"}, "is not a `proxima lm rl --reward-model` run; one plot holds runs"},
      {{root + "/mlp", good}, "is an RLHF run; one plot holds runs of one kind"},
      {{good, root + "/missing"}, "run directory '" + root + "/missing' does not exist"},
      {{bad}, "metrics.csv' line 5 is malformed: 4,4,256"},
      {{empty}, "nothing to plot: no iteration in any run"},
  };
  for (const auto& c : cases) {
    PlotOptions o;
    o.run_dirs = c.runs;
    o.out = root + "/x.png";
    std::ostringstream out, err;
    EXPECT_EQ(PlotCommand(o, out, err), 2) << c.message;
    EXPECT_THAT(err.str(), HasSubstr(c.message));
  }
  EXPECT_FALSE(fs::exists(root + "/x.png"));
}

}  // namespace
}  // namespace proxima

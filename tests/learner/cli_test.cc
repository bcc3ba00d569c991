// The `proxima` executable's command-line contract: bad input exits with status
// 2 and one clear message naming the flag, before any work starts; per-command
// help, presets and flag files. Run directories and --resume: cli_runs_test.cc
// (the same cli_test binary).
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/learner/train_run.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Case {
  std::string args;
  std::string message;
};

TEST(CliTest, BadInputExitsTwoNamingTheProblem) {
  const std::string dir = MakeTempDir("cli");
  const std::string base = BinPath("proxima") + " train --in-process --total-steps 512 --quiet --run-dir " + dir;
  const Case cases[] = {
      {"--env CartPole-v9", "unknown environment id \"CartPole-v9\""},
      {"--lr 0", "--learning-rate must be > 0"},
      {"--learning-rate=-1", "--learning-rate must be > 0"},
      {"--clip-coef 0", "--clip-coef must be > 0"},
      {"--gamma 1.5", "--gamma must be in [0, 1]"},
      {"--gae-lambda=-0.5", "--gae-lambda must be in [0, 1]"},
      {"--num-minibatches 3", "--num-minibatches must divide"},
      {"--hidden-sizes 64,0", "--hidden-sizes must be a list of sizes >= 1"},
      {"--no-such-flag 1", "unknown flag --no-such-flag"},
      {"--num-envs abc", "invalid value 'abc' for flag --num-envs"},
  };
  for (const Case& c : cases) {
    CommandResult r = RunCommand(base + " " + c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.message)) << c.args;
  }
  // Nothing was started: no run files were written.
  EXPECT_FALSE(std::filesystem::exists(dir + "/metrics.csv"));
}

TEST(CliTest, FlagfileIsReadAndCheckedToo) {
  const std::string dir = MakeTempDir("cliff");
  const std::string ff = dir + "/bad.flags";
  ASSERT_EQ(std::system(("printf -- '--env=CartPole-v1\\n# comment\\n--gamma=2\\n' > " + ff).c_str()), 0);
  CommandResult r = RunCommand(BinPath("proxima") + " train --in-process --quiet --flagfile " + ff);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--gamma must be in [0, 1]"));
}

// Containers configure the binaries through PROXIMA_LEARNER_* / PROXIMA_ACTOR_*
// variables: a typo or a bad value stops the process with status 2 and a
// message naming the variable.
TEST(CliTest, EnvironmentConfigurationIsCheckedToo) {
  const std::string learner = BinPath("proxima-learner");
  const std::string actor = BinPath("proxima-actor");
  const Case cases[] = {
      {"PROXIMA_LEARNER_TOTL_STEPS=5 " + learner,
       "environment variable PROXIMA_LEARNER_TOTL_STEPS: no such flag --totl-steps"},
      {"PROXIMA_LEARNER_TOTAL_STEPS=lots " + learner,
       "environment variable PROXIMA_LEARNER_TOTAL_STEPS: invalid value 'lots'"},
      {"PROXIMA_LEARNER_METRICS_LISTEN=9464 " + learner,
       "--metrics-listen must be HOST:PORT"},
      {"PROXIMA_LEARNER_MODE=fast " + learner, "--mode must be sync or async"},
      {"PROXIMA_LEARNER_MAX_UNACKED_CHUNKS=0 " + learner,
       "--max-unacked-chunks must be in [1, 1024]"},
      {"PROXIMA_ACTOR_THREADS=two " + actor,
       "environment variable PROXIMA_ACTOR_THREADS: invalid value 'two'"},
      {"PROXIMA_ACTOR_LERNER=learner:50051 " + actor,
       "environment variable PROXIMA_ACTOR_LERNER: no such flag --lerner"},
      {actor, "--learner is required (or the environment variable PROXIMA_ACTOR_LEARNER)"},
  };
  for (const Case& c : cases) {
    CommandResult r = RunCommand("env -u PROXIMA_ACTOR_LEARNER " + c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.message)) << c.args;
  }
}

TEST(CliTest, EnvironmentSetsLearnerFlagsAndCommandLineWins) {
  const std::string dir = MakeTempDir("cli_env");
  // Runs until SIGTERM (no actors), then checkpoints and exits 0.
  CommandResult r = RunCommand(
      "PROXIMA_LEARNER_LISTEN=127.0.0.1:0 PROXIMA_LEARNER_METRICS_LISTEN=127.0.0.1:0 "
      "PROXIMA_LEARNER_TOTAL_STEPS=123456 PROXIMA_LEARNER_SEED=9 PROXIMA_LEARNER_QUIET=true "
      "PROXIMA_LEARNER_RUN_DIR=/nonexistent/overridden timeout --preserve-status -s TERM 3 " +
      BinPath("proxima-learner") + " --seed 4 --run-dir " + dir);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("proxima-learner: metrics on http://127.0.0.1:"));
  const nlohmann::json config = LoadJsonOrDie(dir + "/config.json");
  EXPECT_EQ(config["total_steps"], 123456) << config.dump();
  EXPECT_EQ(config["seed"], 4) << config.dump();

  // Resuming (as a restarted container does) keeps the checkpoint's settings
  // but takes a new step budget; a setting that defines the run is refused.
  r = RunCommand("PROXIMA_LEARNER_RESUME=" + dir + " PROXIMA_LEARNER_LISTEN=127.0.0.1:0 " +
                 BinPath("proxima-learner") + " --seed 7");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--seed cannot change when resuming: the checkpoint's run has 4, "
                                  "got 7"));
  r = RunCommand("PROXIMA_LEARNER_RESUME=" + dir +
                 " PROXIMA_LEARNER_LISTEN=127.0.0.1:0 PROXIMA_LEARNER_QUIET=true"
                 " timeout --preserve-status -s TERM 3 " +
                 BinPath("proxima-learner") + " --total-steps 654321 --seed 4");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("step budget 654321 (was 123456 in the checkpoint)"));
  const nlohmann::json resumed = LoadJsonOrDie(dir + "/config.json");
  EXPECT_EQ(resumed["total_steps"], 654321) << resumed.dump();
  EXPECT_EQ(resumed["seed"], 4) << resumed.dump();  // from the checkpoint

  // A deployment restarts the learner with --resume on one volume: the first
  // start, before any checkpoint, is a new run only with --resume-or-start.
  const std::string volume = MakeTempDir("cli_env_volume");
  r = RunCommand("PROXIMA_LEARNER_RESUME=" + volume + " PROXIMA_LEARNER_LISTEN=127.0.0.1:0 " +
                 BinPath("proxima-learner"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--resume " + volume + ": no checkpoint in " + volume));
  r = RunCommand("PROXIMA_LEARNER_RESUME=" + volume + " PROXIMA_LEARNER_RESUME_OR_START=true"
                 " PROXIMA_LEARNER_LISTEN=127.0.0.1:0 PROXIMA_LEARNER_QUIET=true"
                 " timeout --preserve-status -s TERM 2 " + BinPath("proxima-learner"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(volume + "/config.json"));
}

TEST(CliTest, ShortInProcessRunWritesRunDirectory) {
  const std::string dir = MakeTempDir("clirun");
  CommandResult r = RunCommand(BinPath("proxima") +
                               " train --env CartPole-v1 --in-process --seed 3 --total-steps 2048"
                               " --quiet --run-dir " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // It starts by saying what will run: the preset, what flags changed, the
  // key values and where results go (learner/cli/command_help.h).
  EXPECT_THAT(r.output, HasSubstr("proxima train: CartPole-v1, preset from CleanRL ppo.py; "
                                  "from flags: seed=3 total_steps=2048\n"
                                  "  4 envs x 128 steps, 4 epochs x 4 minibatches, "
                                  "lr 0.00025 (annealed)\n"));
  EXPECT_THAT(r.output, HasSubstr("  run directory: " + dir + "\n"));
  for (const char* f : {"config.json", "metrics.csv", "summary.json"}) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + f)) << f;
  }
  nlohmann::json s = LoadJsonOrDie(dir + "/summary.json");
  for (const char* key : {"env", "seed", "total_env_steps", "wall_seconds", "env_steps_per_second",
                          "episodes", "mean_return_last_100", "solved_at_step",
                          "solved_at_seconds"}) {
    EXPECT_TRUE(s.contains(key)) << key;
  }
  EXPECT_EQ(s["total_env_steps"], 2048);
  EXPECT_EQ(s["seed"], 3);
  EXPECT_TRUE(s["solved_at_step"].is_null());
  // In-process: everything collected is trained, nothing dropped, no lag.
  EXPECT_EQ(s["transitions_collected"], 2048) << s.dump();
  EXPECT_EQ(s["transitions_trained"], 2048);
  EXPECT_EQ(s["transitions_dropped"], 0);
  EXPECT_EQ(s["transitions_dropped_by_reason"], nlohmann::json::object());
  EXPECT_EQ(s["dropped_fraction"], 0.0);
  EXPECT_EQ(s["mean_lag"], 0.0);
  EXPECT_EQ(s["max_lag"], 0);
  // The summary printed at the end is for reading: 5 significant digits, not
  // 17; summary.json keeps full precision.
  EXPECT_THAT(r.output, Not(::testing::ContainsRegex("[0-9]\\.[0-9]{10}"))) << r.output;
  const size_t open = r.output.find("\n{\n");
  const size_t close = r.output.find("\n}\n", open);
  ASSERT_TRUE(open != std::string::npos && close != std::string::npos) << r.output;
  const nlohmann::json printed = nlohmann::json::parse(r.output.substr(open, close + 2 - open));
  EXPECT_EQ(printed["total_env_steps"], 2048);
  EXPECT_NEAR(printed["mean_return_last_100"].get<double>(),
              s["mean_return_last_100"].get<double>(), 1e-3);
  CommandResult csv = RunCommand("wc -l < " + dir + "/metrics.csv");
  EXPECT_EQ(std::stoi(csv.output), 1 + 4);  // header + 2048 / 512 updates
  // config.json holds how the run was launched too (learner/cli/train_plan.h).
  const nlohmann::json run = LoadJsonOrDie(dir + "/config.json")["run"];
  EXPECT_EQ(run["launch"], "in-process") << run.dump();
  EXPECT_EQ(run["mode"], "in-process");
  EXPECT_EQ(run["actors"], 0);
  EXPECT_EQ(run["env_columns"], 4);
}

// A local cluster's config.json names its mode, actors and env columns; its
// actors run the inference engine --engine names.
TEST(CliTest, ClusterConfigJsonHoldsModeActorsAndColumns) {
  const TrainRun r = TrainIntoNewDir(
      "cli_cluster_config",
      "--env CartPole-v1 --actors 2 --mode sync --total-steps 1024 --engine torch --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string& dir = r.dir;
  EXPECT_THAT(r.output, HasSubstr("proxima train: CartPole-v1, preset from CleanRL ppo.py; "
                                  "from flags: total_steps=1024 engine=torch\n"));
  EXPECT_THAT(r.output, HasSubstr("  run directory: " + dir + "\n"));
  for (const char* actor : {"actor-0", "actor-1"}) {
    absl::StatusOr<std::string> log = ReadFile(dir + "/logs/" + actor + ".log");
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_THAT(*log, HasSubstr(std::string(actor) + " --num-envs 2 --engine torch\n"));
    EXPECT_THAT(*log, HasSubstr("inference engine: torch (--engine=torch)"));
  }
  const nlohmann::json config = LoadJsonOrDie(dir + "/config.json");
  const nlohmann::json& run = config["run"];
  EXPECT_EQ(run["launch"], "local-cluster") << config.dump();
  EXPECT_EQ(run["mode"], "sync");
  EXPECT_EQ(run["actors"], 2);
  EXPECT_EQ(run["env_columns_per_actor"], 2);
  EXPECT_EQ(run["env_columns"], 4);
  EXPECT_EQ(run["actor_threads"], 1);
  EXPECT_EQ(config["num_envs"], 4);
}

// summary.json's "actors" counts the actors that took part: in a run too
// short for the last one to start in time, async mode's first update waits
// for every actor the local cluster started (--min-actors N).
TEST(CliTest, ShortAsyncClusterRunHasEveryActorTakePart) {
  const TrainRun r =
      TrainIntoNewDir("cli_cluster_actors", "--env CartPole-v1 --actors 2 --total-steps 1024 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json s = LoadJsonOrDie(r.dir + "/summary.json");
  EXPECT_EQ(s["mode"], "async");
  EXPECT_EQ(s["actors"], 2) << s.dump();
}

TEST(CliTest, EnvReplayAcceptsGoldenDirAndRejectsMissingDir) {
  // The whole reference set: classic_control/ and mujoco/ below it.
  CommandResult ok = RunCommand(BinPath("proxima") + " env replay --golden " + GoldenDir());
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_THAT(ok.output, HasSubstr("CartPole-v1"));
  EXPECT_THAT(ok.output, HasSubstr("HumanoidStandup-v5"));
  EXPECT_THAT(ok.output, HasSubstr("max_ulp"));
  EXPECT_THAT(ok.output, HasSubstr("all environments match"));
  CommandResult missing = RunCommand(BinPath("proxima") + " env replay --golden /nonexistent");
  EXPECT_NE(missing.exit_code, 0);
}

// A MuJoCo env whose model file is missing is a usage error at start-up,
// naming the file, before anything runs; so is a bad env option.
TEST(CliTest, MissingMujocoModelOrBadEnvOptionExitsTwoNamingIt) {
  const std::string empty = MakeTempDir("no_mujoco_assets");
  CommandResult missing = RunCommand("PROXIMA_MUJOCO_ASSETS=" + empty + " " + BinPath("proxima") +
                                     " train --env Hopper-v4 --total-steps 1000");
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("hopper.xml not found"));
  CommandResult learner = RunCommand("PROXIMA_MUJOCO_ASSETS=" + empty + " " +
                                     BinPath("proxima-learner") + " --env Ant-v5 --listen 127.0.0.1:0");
  EXPECT_EQ(learner.exit_code, 2) << learner.output;
  EXPECT_THAT(learner.output, HasSubstr("ant.xml not found"));
  CommandResult option =
      RunCommand(BinPath("proxima") + " train --env 'Hopper-v4?healthy_rewrd=2' --total-steps 1000");
  EXPECT_EQ(option.exit_code, 2) << option.output;
  EXPECT_THAT(option.output, HasSubstr("unknown option \"healthy_rewrd\""));
}

// `cmake --install` puts the executables and the MuJoCo model files side by
// side; the installed binary loads its models from there (not from the build
// or source tree).
TEST(CliTest, InstalledBinaryFindsItsMujocoModels) {
  const std::string prefix = MakeTempDir("install");
  CommandResult install = RunCommand("cmake --install " + BinaryDir() +
                                     " --prefix " + prefix + " > /dev/null");
  ASSERT_EQ(install.exit_code, 0) << install.output;
  CommandResult list = RunCommand("env -u PROXIMA_MUJOCO_ASSETS " + prefix + "/bin/proxima env list");
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_THAT(list.output,
              HasSubstr("model files: " + prefix + "/bin/../share/proxima/mujoco"));
  EXPECT_THAT(list.output, HasSubstr("Humanoid-v5"));
}

TEST(CliTest, EnvListShowsEveryMujocoEnv) {
  CommandResult list = RunCommand(BinPath("proxima") + " env list");
  ASSERT_EQ(list.exit_code, 0) << list.output;
  for (const char* id : {"HalfCheetah-v4", "Hopper-v5", "Walker2d-v4", "Ant-v5", "Humanoid-v4",
                         "HumanoidStandup-v5", "InvertedPendulum-v4", "InvertedDoublePendulum-v5",
                         "Reacher-v4", "Swimmer-v5", "Pusher-v4"}) {
    EXPECT_THAT(list.output, HasSubstr(id));
  }
  EXPECT_THAT(list.output, HasSubstr("Box(-inf, inf, (376,), float32)"));  // Humanoid-v4
}

// Each command's --help lists its own flags; train's show the values of
// --env's preset and where they come from.
TEST(CliTest, HelpIsPerCommandWithResolvedPresetValues) {
  // A command's help: what it must say, what it must not, and (when > 0)
  // fewer lines than max_lines.
  struct HelpCase {
    const char* args;
    std::vector<std::string> says, not_said;
    int max_lines = 0;
  };
  const HelpCase cases[] = {
      {"train --env Hopper-v4 --help",
       {"--learning-rate\n      Adam learning rate, > 0 (Hopper-v4: 0.0003, "
        "CleanRL ppo_continuous_action.py)",
        "--in-process", "--print-config"},
       {"[preset", "--episodes"}},
      {"eval --help", {"--episodes", "(default: the policy's env)"}, {"--learning-rate", "--actors"}},
      {"export --help", {"--out"}, {"--gamma"}, 10},
  };
  for (const HelpCase& c : cases) {
    const CommandResult r = RunCommand(BinPath("proxima") + " " + c.args);
    ASSERT_EQ(r.exit_code, 0) << c.args << "\n" << r.output;
    for (const std::string& s : c.says) EXPECT_THAT(r.output, HasSubstr(s)) << c.args;
    for (const std::string& s : c.not_said) EXPECT_THAT(r.output, Not(HasSubstr(s))) << c.args;
    if (c.max_lines > 0) {
      EXPECT_LT(std::count(r.output.begin(), r.output.end(), '\n'), c.max_lines) << r.output;
    }
  }
}

TEST(CliTest, PresetsAndPrintConfigShowWhatWillRun) {
  const std::string proxima = BinPath("proxima");
  CommandResult all = RunCommand(proxima + " presets");
  ASSERT_EQ(all.exit_code, 0) << all.output;
  EXPECT_THAT(all.output, HasSubstr("CartPole-v1"));
  EXPECT_THAT(all.output, HasSubstr("CleanRL ppo_continuous_action.py"));
  EXPECT_THAT(all.output, HasSubstr("learning_rate=0.0003"));
  CommandResult one = RunCommand(proxima + " presets Walker2d-v4");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_THAT(one.output, HasSubstr("clip_action"));
  EXPECT_THAT(one.output, HasSubstr("Proxima default"));

  // --print-config: the config as the run would write it, and nothing runs.
  const std::string dir = MakeTempDir("cli_print_config") + "/run";
  CommandResult printed = RunCommand(proxima + " train --env Hopper-v4 --actors 2 --lr 1e-3"
                                     " --print-config --run-dir " + dir + " 2>/dev/null");
  ASSERT_EQ(printed.exit_code, 0) << printed.output;
  const nlohmann::json config = nlohmann::json::parse(printed.output);
  EXPECT_EQ(config["learning_rate"], 1e-3);
  EXPECT_EQ(config["num_envs"], 2);  // the MuJoCo column, split over 2 actors
  EXPECT_EQ(config["rollout_length"], 1024);
  EXPECT_EQ(config["run"]["actors"], 2);
  EXPECT_EQ(config["run"]["env_columns_per_actor"], 1);
  EXPECT_FALSE(std::filesystem::exists(dir));
}

// Flag files take `--flag value` as well as `--flag=value`; their errors name
// the file and line. Unknown env ids and flags get a "did you mean".
TEST(CliTest, FlagFileLinesAndDidYouMean) {
  const std::string dir = MakeTempDir("cli_flagfile");
  const std::string ff = dir + "/run.flags";
  ASSERT_EQ(std::system(("printf -- '# comment\n\n--learning_rate 3e-4\n--hidden-sizes=32,32\n"
                         "--normalize-obs true\n--totl-steps 5\n' > " + ff).c_str()), 0);
  CommandResult bad = RunCommand(BinPath("proxima") + " train --in-process --flagfile " + ff);
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_THAT(bad.output, HasSubstr(ff + ":6: unknown flag --totl-steps; did you mean "
                                         "--total-steps?"));
  ASSERT_EQ(std::system(("sed -i '$d' " + ff).c_str()), 0);
  CommandResult good =
      RunCommand(BinPath("proxima") + " train --in-process --print-config --flagfile " + ff);
  ASSERT_EQ(good.exit_code, 0) << good.output;
  const nlohmann::json config = nlohmann::json::parse(good.output);
  EXPECT_EQ(config["learning_rate"], 3e-4);
  EXPECT_EQ(config["hidden_sizes"], nlohmann::json({32, 32}));
  EXPECT_EQ(config["normalize_obs"], true);

  CommandResult env = RunCommand(BinPath("proxima") + " train --in-process --env CartPole-v0");
  EXPECT_EQ(env.exit_code, 2) << env.output;
  EXPECT_THAT(env.output, HasSubstr("unknown environment id \"CartPole-v0\"; did you mean "
                                    "\"CartPole-v1\"?"));
}

// Flags that contradict each other exit 2 naming both, before anything runs.
TEST(CliTest, ConflictingFlagsExitTwoNamingBoth) {
  const std::string dir = MakeTempDir("cli_conflicts") + "/run";
  const std::string base = BinPath("proxima") + " train --quiet --total-steps 1024 --run-dir " + dir;
  const Case cases[] = {
      {"--in-process --actors 4", "--in-process and --actors conflict"},
      {"--in-process --mode sync", "--in-process and --mode conflict"},
      {"--in-process --env Pendulum-v1 --stop-when-solved",
       "--stop-when-solved and --env Pendulum-v1 conflict"},
      {"--actors 3 --num-envs 4",
       "--actors 3 and --num-envs 4 conflict: 4 env columns do not split evenly over 3 actors"},
  };
  for (const Case& c : cases) {
    CommandResult r = RunCommand(base + " " + c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.message)) << c.args;
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(CliTest, UnknownCommandIsAUsageError) {
  EXPECT_EQ(RunCommand(BinPath("proxima") + " frobnicate").exit_code, 2);
  // `env bench` became `proxima bench --suite env` (bench_cli_test).
  EXPECT_EQ(RunCommand(BinPath("proxima") + " env bench").exit_code, 2);
}

}  // namespace
}  // namespace proxima

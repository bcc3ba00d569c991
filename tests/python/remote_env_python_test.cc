// RemoteEnv against the real Python env server (deploy/python/
// proxima_env_server.py) serving pure-Python CartPole-v1 and Pendulum-v1
// (tests/python/classic_envs.py): the trajectories match the C++ envs, errors
// on the Python side reach the C++ side with their message, `proxima train`
// trains on remote://HOST:PORT in process and as a local cluster, and the
// throughput of a remote env is measured against the local one (reported,
// not asserted: no speed decides a test here). Batched sessions are in
// remote_env_batch_python_test.cc; the server and the fixture in
// python_env_server_fixture.h.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/envs/cartpole.h"
#include "common/envs/pendulum.h"
#include "common/envs/registry.h"
#include "common/envs/remote_env.h"
#include "common/envs/vector_env.h"
#include "common/rng.h"
#include "gtest/gtest.h"
#include "tests/python/python_env_server_fixture.h"
#include "tests/support/child_process.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::HasSubstr;

// Steps a local env (after SetState) and a remote one (reset to the same
// state through the test option initial_state) with the same actions until
// the episode ends; every observation agrees to 1e-5 and rewards and flags
// exactly. Returns the episode length.
int CompareEpisode(Env& local, Env& remote, const std::vector<double>& state,
                   const std::function<float(const std::vector<float>&, int)>& policy) {
  const EnvSpec& spec = local.spec();
  std::vector<float> lo(spec.obs_dim()), ro(spec.obs_dim());
  EXPECT_TRUE(local.SetState(state).ok());
  local.set_elapsed_steps(0);
  remote.Reset(ro.data());
  EXPECT_TRUE(remote.status().ok()) << remote.status();
  for (int t = 1; t <= 10000; ++t) {
    const std::vector<float> a(spec.action_dim(), policy(ro, t));
    const StepResult l = local.Step(a.data(), lo.data());
    const StepResult r = remote.Step(a.data(), ro.data());
    EXPECT_TRUE(remote.status().ok()) << remote.status();
    for (int i = 0; i < spec.obs_dim(); ++i) {
      EXPECT_NEAR(lo[i], ro[i], 1e-5) << "t=" << t << " i=" << i;
    }
    EXPECT_NEAR(l.reward, r.reward, 1e-9) << "t=" << t;
    EXPECT_EQ(l.terminated, r.terminated) << "t=" << t;
    EXPECT_EQ(l.truncated, r.truncated) << "t=" << t;
    if (::testing::Test::HasFailure()) return -1;
    if (l.terminated || l.truncated) return t;
  }
  return 0;
}

TEST_F(RemotePythonEnvTest, CartPoleMatchesTheCppCartPole) {
  // A balancing controller (runs into the 500-step time limit) and random
  // actions (the pole falls), from several initial states.
  const std::vector<std::vector<double>> states = {
      {0.01, -0.02, 0.03, 0.04}, {0.0, 0.0, 0.0, 0.0}, {-0.04, 0.03, -0.02, 0.05}};
  Rng rng(5);
  auto balance = [](const std::vector<float>& o, int) {
    return o[2] + 0.5f * o[3] > 0 ? 1.0f : 0.0f;
  };
  auto random = [&rng](const std::vector<float>&, int) {
    return static_cast<float>(rng.UniformInt(2));
  };
  for (const std::vector<double>& state : states) {
    SCOPED_TRACE(StateOption(state));
    auto remote = MakeEnv(Id("CartPole-v1", StateOption(state)));
    ASSERT_TRUE(remote.ok()) << remote.status() << "\n" << server_->Log();
    CartPole local;
    EXPECT_EQ(CompareEpisode(local, **remote, state, balance), 500);
    const int fallen = CompareEpisode(local, **remote, state, random);
    EXPECT_GT(fallen, 0);
    EXPECT_LT(fallen, 500);
  }
}

TEST_F(RemotePythonEnvTest, PendulumMatchesTheCppPendulumWithClippedActions) {
  const std::vector<double> state = {2.5, -0.7};
  auto remote = MakeEnv(Id("Pendulum-v1", StateOption(state)));
  ASSERT_TRUE(remote.ok()) << remote.status();
  EXPECT_FALSE((*remote)->spec().action_space.is_discrete());
  Pendulum local;
  Rng rng(2);
  // Actions up to ±3 on a ±2 Box: both envs clip.
  auto policy = [&rng](const std::vector<float>&, int) {
    return static_cast<float>(rng.Uniform(-3.0, 3.0));
  };
  EXPECT_EQ(CompareEpisode(local, **remote, state, policy), 200);
}

TEST_F(RemotePythonEnvTest, SpecAndSeedsComeFromThePythonEnv) {
  auto spec = GetEnvSpec(Id("CartPole-v1"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  const EnvSpec& want = CartPole::Spec();
  EXPECT_EQ(spec->observation_space.DebugString(), want.observation_space.DebugString());
  EXPECT_EQ(spec->action_space.DebugString(), want.action_space.DebugString());
  EXPECT_EQ(spec->max_episode_steps, 500);
  EXPECT_TRUE(spec->has_reward_threshold);
  EXPECT_EQ(spec->reward_threshold, 475.0);

  auto first_obs = [&](std::optional<uint64_t> seed) {
    std::vector<float> obs(4);
    auto env = MakeEnv(Id("CartPole-v1"));
    EXPECT_TRUE(env.ok()) << env.status();
    if (seed) (*env)->Seed(*seed);
    (*env)->Reset(obs.data());
    return obs;
  };
  EXPECT_EQ(first_obs(7), first_obs(7));
  EXPECT_NE(first_obs(7), first_obs(8));
  EXPECT_EQ(first_obs(std::nullopt), first_obs(0));  // a new env is seeded with 0
}

TEST_F(RemotePythonEnvTest, PythonErrorsReachTheCppSide) {
  EXPECT_THAT(MakeEnv(Id("Nope-v0")).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("CartPole-v1")));
  EXPECT_THAT(MakeEnv(Id("CartPole-v1", "no_such_option=1")).status(),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("no_such_option")));

  auto env = MakeEnv(Id("Broken-v0", "fail_after=2"));
  ASSERT_TRUE(env.ok()) << env.status();
  std::vector<float> obs(1);
  const float action = 1;
  (*env)->Reset(obs.data());
  EXPECT_FALSE((*env)->Step(&action, obs.data()).terminated);
  EXPECT_FALSE((*env)->Step(&action, obs.data()).terminated);
  EXPECT_TRUE((*env)->Step(&action, obs.data()).terminated);
  EXPECT_THAT((*env)->status(),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("the simulator crashed at step 3")));
}

TEST_F(RemotePythonEnvTest, AKilledServerIsUnavailable) {
  auto other = PythonServer::Start(*dir_ + "/other");
  ASSERT_FALSE(other->address.empty()) << other->Log();
  const std::string id = absl::StrCat("remote://", other->address, "/CartPole-v1");
  auto env = MakeEnv(id);
  ASSERT_TRUE(env.ok()) << env.status();
  std::vector<float> obs(4);
  (*env)->Reset(obs.data());
  other->process->Signal(SIGKILL);
  other->process->Wait(30);
  const float action = 0;
  EXPECT_TRUE((*env)->Step(&action, obs.data()).terminated);
  EXPECT_THAT((*env)->status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(other->address)));
  RemoteEnvOptions quick;
  quick.connect_timeout = absl::Milliseconds(300);
  EXPECT_THAT(RemoteEnv::Connect(id, quick), StatusIs(absl::StatusCode::kUnavailable,
                                                      HasSubstr(other->address)));
}

// Env steps per second, single thread, random actions, resets included.
// Expects the envs to stay healthy and to finish episodes (a random CartPole
// policy ends one every ~20 steps).
double StepsPerSecond(VectorEnv& envs, int64_t vector_steps) {
  Rng rng(1);
  std::vector<float> actions(envs.num_envs());
  std::vector<EpisodeStat> done;
  int64_t episodes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t t = 0; t < vector_steps; ++t) {
    for (float& a : actions) a = static_cast<float>(rng.UniformInt(2));
    envs.Step(actions.data());
    envs.TakeFinishedEpisodes(&done);
    episodes += static_cast<int64_t>(done.size());
    done.clear();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(envs.status().ok()) << envs.status();
  EXPECT_GE(episodes, vector_steps * envs.num_envs() / 100);
  return static_cast<double>(vector_steps * envs.num_envs()) / seconds;
}

// Figures for docs/python.md ("Cost of a remote env"); no `proxima bench`
// suite starts the Python server, so they are measured here and only
// reported.
TEST_F(RemotePythonEnvTest, MeasuresARemoteEnvAgainstTheLocalOne) {
  VectorEnvOptions unbatched;
  unbatched.remote_batched = false;
  auto local = VectorEnv::Create("CartPole-v1", 1, 1);
  auto remote1 = VectorEnv::Create(Id("CartPole-v1"), 1, 1, unbatched);
  auto remote8 = VectorEnv::Create(Id("CartPole-v1"), 8, 1, unbatched);
  auto batched16 = VectorEnv::Create(Id("CartPole-v1"), 16, 1);
  auto batched64 = VectorEnv::Create(Id("CartPole-v1"), 64, 1);
  auto noop1 = VectorEnv::Create(Id("NoOp-v0"), 1, 1);
  auto noop16 = VectorEnv::Create(Id("NoOp-v0"), 16, 1);
  auto noop256 = VectorEnv::Create(Id("NoOp-v0"), 256, 1);
  ASSERT_TRUE(local.ok() && remote1.ok() && remote8.ok() && batched16.ok() && batched64.ok() &&
              noop1.ok() && noop16.ok() && noop256.ok());
  const double local_sps = StepsPerSecond(**local, 2000000);
  const double remote1_sps = StepsPerSecond(**remote1, 5000);
  const double remote8_sps = StepsPerSecond(**remote8, 1000);
  const double batched16_sps = StepsPerSecond(**batched16, 2000);
  const double batched64_sps = StepsPerSecond(**batched64, 1000);
  const double noop1_sps = StepsPerSecond(**noop1, 2000);
  const double noop16_sps = StepsPerSecond(**noop16, 2000);
  const double noop256_sps = StepsPerSecond(**noop256, 500);
  // Microseconds per batched round trip with 1, 16 and 256 no-op columns:
  // the slope is what one more column costs the server and the protocol.
  const double noop1_us = 1e6 / noop1_sps;
  const double noop16_us = 16e6 / noop16_sps;
  const double noop256_us = 256e6 / noop256_sps;
  const double per_column_us = (noop256_us - noop1_us) / 255;
  const std::string report = absl::StrFormat(
      "CartPole-v1 env steps/s (1 thread, random actions): local C++ %.0f; remote Python "
      "server, 1 env %.0f (%.0f us/step); 8 envs stepped in turn %.0f; local/remote %.0fx; "
      "batched session of 16 columns %.0f (%.1fx the 8 envs in turn), of 64 columns %.0f. "
      "NoOp-v0 batched: 1 column %.0f us per round trip, 16 columns %.0f us, 256 columns %.0f "
      "us (%.2f us per extra column)",
      local_sps, remote1_sps, 1e6 / remote1_sps, remote8_sps, local_sps / remote1_sps,
      batched16_sps, batched16_sps / remote8_sps, batched64_sps, noop1_us, noop16_us,
      noop256_us, per_column_us);
  std::printf("%s\n", report.c_str());
  RecordProperty("local_cpp_steps_per_second", static_cast<int>(local_sps));
  RecordProperty("remote_python_steps_per_second", static_cast<int>(remote1_sps));
  RecordProperty("remote_python_8envs_steps_per_second", static_cast<int>(remote8_sps));
  RecordProperty("remote_python_batched16_steps_per_second", static_cast<int>(batched16_sps));
  RecordProperty("remote_python_batched64_steps_per_second", static_cast<int>(batched64_sps));
  RecordProperty("noop_batched_us_per_extra_column", static_cast<int>(per_column_us * 1000));
}

// `proxima train` on a remote env, as a user runs it; returns summary.json.
nlohmann::json Train(const std::string& env_id, const std::string& args,
                     const std::string& run_dir) {
  const CommandResult r = RunCommand(absl::StrCat(BinPath("proxima"), " train --env ", env_id,
                                                  " ", args, " --total-steps 20480 --quiet",
                                                  " --run-dir ", run_dir));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  if (r.exit_code != 0) return nlohmann::json::object();
  const nlohmann::json summary = LoadJsonOrDie(run_dir + "/summary.json");
  EXPECT_EQ(summary.value("env", ""), env_id) << summary.dump();
  EXPECT_GE(summary.value("total_env_steps", 0), 20480) << summary.dump();
  EXPECT_GE(summary.value("updates", 0), 1) << summary.dump();
  EXPECT_GT(summary.value("episodes", 0), 0) << summary.dump();
  return summary;
}

TEST_F(RemotePythonEnvTest, TrainsInProcessOnARemoteEnv) {
  const nlohmann::json summary =
      Train(Id("CartPole-v1"), "--in-process", *dir_ + "/train-in-process");
  // A random policy averages about 22; 20k steps of PPO (seed 1) reach ~70.
  const nlohmann::json mean = summary.value("mean_return_last_100", nlohmann::json());
  ASSERT_TRUE(mean.is_number()) << summary.dump();
  EXPECT_GT(mean.get<double>(), 40.0) << summary.dump();
}

TEST_F(RemotePythonEnvTest, TrainingStopsWithTheErrorOfAFailingRemoteEnv) {
  const CommandResult r = RunCommand(absl::StrCat(
      BinPath("proxima"), " train --env '", Id("Broken-v0", "fail_after=50"),
      "' --in-process --total-steps 20480 --quiet --run-dir ", *dir_, "/train-broken"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("RuntimeError: the simulator crashed at step 51"));
  EXPECT_THAT(r.output, HasSubstr(server_->address));
}

TEST_F(RemotePythonEnvTest, TrainsAsALocalClusterOnARemoteEnv) {
  const nlohmann::json summary = Train(Id("CartPole-v1"), "--actors 2", *dir_ + "/train-cluster");
  EXPECT_EQ(summary.value("actors", 0), 2) << summary.dump();
}

}  // namespace
}  // namespace proxima

// The whole system as users run it: the real proxima-learner, proxima-actor
// and `proxima train` binaries talking gRPC over loopback.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/envs/registry.h"
#include "common/listening_line.h"
#include "gtest/gtest.h"
#include "learner/checkpoint.h"
#include "proxima/v1/monitor_service.grpc.pb.h"
#include "tests/learner/same_updater_state.h"
#include "tests/support/child_process.h"
#include "tests/support/learner_status.h"
#include "tests/support/poll.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

// Learner address from its first stdout line "proxima-learner: listening on A".
std::string ReadAddress(ChildProcess& learner) {
  const absl::StatusOr<std::string> address = learner.ReadListeningAddress(kLearnerProgram, 60);
  EXPECT_TRUE(address.ok()) << address.status();
  return address.ok() ? *address : "";
}

class Monitor {
 public:
  explicit Monitor(const std::string& address)
      : stub_(v1::Monitor::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))) {}

  // Status, or nullopt when the learner does not answer.
  std::optional<v1::LearnerStatus> Status() {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    v1::GetStatusRequest req;
    req.set_include_actors(true);
    v1::LearnerStatus st;
    if (!stub_->GetStatus(&ctx, req, &st).ok()) return std::nullopt;
    return st;
  }

  // Polls every 50 ms (PollUntil) until `pred` holds (true) or `timeout`
  // passes (false); *last gets the newest status seen.
  template <typename Pred>
  bool WaitFor(Pred pred, double timeout, v1::LearnerStatus* last = nullptr) {
    return testing::PollUntil(
        [&] {
          std::optional<v1::LearnerStatus> st = Status();
          if (st && last) *last = *st;
          return st && pred(*st);
        },
        absl::Seconds(timeout), absl::Milliseconds(50));
  }

 private:
  std::unique_ptr<v1::Monitor::Stub> stub_;
};

using ::proxima::testing::FindActor;

std::vector<std::string> LearnerArgs(const std::string& dir, const std::string& listen) {
  return {BinPath("proxima-learner"), "--env", "CartPole-v1", "--listen", listen, "--run-dir",
          dir, "--total-steps", "50000000", "--quiet", "--checkpoint-every-updates", "5"};
}

std::unique_ptr<ChildProcess> StartActor(const std::string& address, const std::string& name,
                                         const std::string& dir) {
  return std::make_unique<ChildProcess>(
      std::vector<std::string>{BinPath("proxima-actor"), "--learner", address, "--name", name,
                               "--num-envs", "2"},
      dir + "/" + name + ".log");
}

// The README's first command, on the local cluster, in both modes; `extra`
// flags are added to it. Returns the run directory.
std::string ExpectClusterSolves(const std::string& mode, const std::string& extra = "") {
  const std::string dir = MakeTempDir("cluster_" + mode);
  CommandResult r = RunCommand(BinPath("proxima") +
                               " train --env CartPole-v1 --actors 2 --seed 1 --stop-when-solved "
                               "--quiet --total-steps 500000 --mode " +
                               mode + " --run-dir " + dir + " " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json s = LoadJsonOrDie(dir + "/summary.json");
  EXPECT_EQ(s["mode"], mode);
  EXPECT_EQ(s["actors"], 2);
  if (s["solved_at_step"].is_null()) {
    ADD_FAILURE() << "not solved: " << s.dump(2);
    return dir;
  }
  // Solved: the last-100 mean reached 475 at solved_at_step. Episodes that
  // ended after that update still count in the final mean (473.87 seen).
  EXPECT_GE(s["mean_return_last_100"].get<double>(), 450.0);
  std::printf("%s %s: solved at step %lld after %.2f s, %.0f env steps/s\n", mode.c_str(),
              extra.c_str(),
              static_cast<long long>(s["solved_at_step"].get<int64_t>()),
              s["solved_at_seconds"].get<double>(), s["env_steps_per_second"].get<double>());
  // The run directory holds what the issue promises.
  for (const char* f : {"/config.json", "/metrics.csv", "/learner.addr"}) {
    std::ifstream in(dir + f);
    EXPECT_TRUE(in.good()) << f;
  }
  return dir;
}

TEST(ClusterTest, TwoActorsSolveCartPoleInSyncMode) { ExpectClusterSolves("sync"); }

TEST(ClusterTest, TwoActorsSolveCartPoleInAsyncMode) { ExpectClusterSolves("async"); }

// V-trace targets end to end: async, so chunks arrive with policy lag and the
// importance weights are not 1.
TEST(ClusterTest, TwoActorsSolveCartPoleWithVtraceInAsyncMode) {
  const std::string dir = ExpectClusterSolves("async", "--advantage vtrace");
  const nlohmann::json cfg = LoadJsonOrDie(dir + "/config.json");
  EXPECT_NE(cfg.dump().find("\"vtrace\""), std::string::npos) << cfg.dump(2);
}

// Sync mode is reproducible for a fixed seed and actor count: two runs end
// with the same policy, bit for bit. Each learner checkpoints when its step
// budget is reached; both final checkpoints are loaded into updaters and every
// tensor the next update would read is compared (weights, Adam's moments and
// step, shuffle generator, KL β, normalizer statistics).
TEST(ClusterTest, SyncModeIsReproducible) {
  constexpr int kUpdates = 10;
  std::vector<std::unique_ptr<PpoUpdater>> finals;
  std::vector<std::string> names;
  for (int run = 0; run < 2; ++run) {
    const std::string dir = MakeTempDir("cluster_repro");
    CommandResult r = RunCommand(BinPath("proxima") +
                                 " train --env CartPole-v1 --actors 2 --seed 3 --quiet "
                                 "--mode sync --total-steps " +
                                 std::to_string(kUpdates * 512) + " --run-dir " + dir);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    absl::StatusOr<LoadedCheckpoint> ckpt = FindLatestCheckpoint(dir + "/checkpoints");
    ASSERT_TRUE(ckpt.ok()) << ckpt.status();
    EXPECT_EQ(ckpt->counters.updates, kUpdates);
    names.push_back(ckpt->path.substr(ckpt->path.rfind('/')));
    absl::StatusOr<EnvSpec> spec = GetEnvSpec(ckpt->config.env_id);
    ASSERT_TRUE(spec.ok()) << spec.status();
    absl::StatusOr<std::unique_ptr<PpoUpdater>> u =
        PpoUpdater::Create(ckpt->config, *spec, torch::Device(torch::kCPU));
    ASSERT_TRUE(u.ok()) << u.status();
    ASSERT_TRUE(RestoreCheckpoint(ckpt->path, **u).ok());
    finals.push_back(*std::move(u));
  }
  EXPECT_EQ(names[0], names[1]);  // the same policy version
  testing::ExpectSameUpdaterState(*finals[0], *finals[1]);
}

// Actors join mid-run and contribute, a killed actor does not stall the
// learner, and a learner restarted with --resume is found again by its actors
// and continues the version count.
TEST(ClusterTest, ActorsComeAndGoAndSurviveALearnerRestart) {
  const std::string dir = MakeTempDir("cluster_life");
  auto learner = std::make_unique<ChildProcess>(LearnerArgs(dir, "127.0.0.1:0"),
                                                dir + "/learner.log");
  const std::string address = ReadAddress(*learner);
  ASSERT_FALSE(address.empty());
  Monitor monitor(address);
  auto a = StartActor(address, "a", dir);
  auto b = StartActor(address, "b", dir);
  v1::LearnerStatus st;
  ASSERT_TRUE(monitor.WaitFor(
      [](const v1::LearnerStatus& s) { return s.actors_connected() == 2 && s.policy_version() >= 5; },
      60, &st))
      << st.DebugString();

  // b dies without a word; the learner keeps training with a.
  b->Signal(SIGKILL);
  EXPECT_EQ(b->Wait(10), 128 + SIGKILL);
  const uint64_t v_kill = st.policy_version();
  ASSERT_TRUE(monitor.WaitFor(
      [&](const v1::LearnerStatus& s) {
        return s.actors_connected() == 1 && s.policy_version() >= v_kill + 10;
      },
      60, &st))
      << st.DebugString();

  // c joins mid-run, gets weights and contributes.
  auto c = StartActor(address, "c", dir);
  ASSERT_TRUE(monitor.WaitFor(
      [](const v1::LearnerStatus& s) {
        const v1::ActorInfo* ci = FindActor(s, "c");
        return ci != nullptr && ci->env_steps() > 0 && s.actors_connected() == 2;
      },
      60, &st))
      << st.DebugString();

  // The learner stops cleanly (SIGTERM) and comes back on the same port.
  learner->Signal(SIGTERM);
  EXPECT_EQ(learner->Wait(30), 0);
  const nlohmann::json summary = LoadJsonOrDie(dir + "/summary.json");
  const uint64_t v_stop = summary["updates"].get<uint64_t>();
  ASSERT_GT(v_stop, 0u);
  std::vector<std::string> args = LearnerArgs(dir, address);
  args.push_back("--resume");
  args.push_back(dir);
  learner = std::make_unique<ChildProcess>(args, dir + "/learner.log");
  ASSERT_EQ(ReadAddress(*learner), address);
  ASSERT_TRUE(monitor.WaitFor(
      [&](const v1::LearnerStatus& s) {
        return s.actors_connected() == 2 && s.policy_version() > v_stop + 2;
      },
      30, &st))
      << st.DebugString();
  EXPECT_GT(st.policy_version(), v_stop);

  // Actors leave cleanly on SIGTERM: final chunk sent, exit 0.
  a->Signal(SIGTERM);
  c->Signal(SIGTERM);
  EXPECT_EQ(a->Wait(20), 0);
  EXPECT_EQ(c->Wait(20), 0);
  ASSERT_TRUE(monitor.WaitFor(
      [](const v1::LearnerStatus& s) { return s.actors_connected() == 0; }, 20, &st));
  EXPECT_EQ(st.chunks_received(), st.chunks_trained() + st.chunks_queued() + [&] {
    uint64_t n = 0;
    for (const auto& d : st.chunks_dropped()) n += d.chunks();
    return n;
  }());
  learner->Signal(SIGTERM);
  EXPECT_EQ(learner->Wait(30), 0);
}

}  // namespace
}  // namespace proxima

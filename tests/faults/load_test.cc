// The learner under load: paused consumption (backpressure must stop the
// actors, not grow the learner's memory), an actor killed while its stream is
// held by backpressure, and SIGTERM during heavy traffic (health NOT_SERVING
// first, a final checkpoint, exit 0 within the grace period).
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/faults/fault_util.h"

namespace proxima::faults {
namespace {

namespace fs = std::filesystem;

constexpr double kMiB = 1024.0 * 1024.0;

TEST(LoadTest, PausedLearnerBlocksActorsAndKeepsItsMemoryBounded) {
  const std::string dir = MakeTempDir("faults_pause");
  const std::vector<std::string> names = {"p0", "p1", "p2", "p3"};
  Learner l = StartLearner(LearnerArgs(dir, "127.0.0.1:0"), dir + "/learner.log");
  ASSERT_FALSE(l.address.empty());
  LearnerClient client(l.address);
  std::vector<std::unique_ptr<ChildProcess>> actors = StartActors(l.address, names, dir);
  v1::LearnerStatus st;
  ASSERT_TRUE(client.WaitFor(
      [&](const v1::LearnerStatus& s) { return AllStreaming(s, names) && s.policy_version() >= 10; },
      60, &st))
      << st.DebugString();
  const int64_t rss_training = RssBytes(l.process->pid());

  // Consumption paused for 10 s while 4 actors keep producing.
  ASSERT_TRUE(client.Pause());
  const Clock::time_point paused = Clock::now();
  int64_t rss_max = 0;
  uint64_t queue_max = 0;
  std::optional<v1::LearnerStatus> at_5s;
  while (SecondsSince(paused) < 10) {
    rss_max = std::max(rss_max, RssBytes(l.process->pid()));
    std::optional<v1::LearnerStatus> s = client.Status();
    ASSERT_TRUE(s.has_value()) << "the paused learner must keep answering";
    queue_max = std::max(queue_max, s->queue_transitions());
    EXPECT_EQ(AccountingError(*s), "") << DropSummary(*s);
    if (!at_5s && SecondsSince(paused) >= 5) at_5s = *s;
    st = *s;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(at_5s.has_value());
  // Actors are blocked: nothing more was received in the last 5 s, every
  // actor is still alive and connected, and the queue never exceeded its
  // capacity.
  EXPECT_EQ(st.chunks_received(), at_5s->chunks_received());
  EXPECT_EQ(ChunksByName(st), ChunksByName(*at_5s));
  EXPECT_LE(queue_max, st.queue_capacity());
  EXPECT_EQ(st.actors_connected(), names.size());
  for (auto& a : actors) EXPECT_TRUE(a->running());
  for (const std::string& n : names) {
    const std::string log = ReadWholeFile(dir + "/" + n + ".log");
    EXPECT_EQ(log.find("RESOURCE_EXHAUSTED"), std::string::npos) << n;
  }
  // The documented bound (docs/learner.md "Memory bound").
  constexpr int64_t kRssBound = 512LL << 20;
  EXPECT_LE(rss_max, kRssBound);

  // An actor dies while its stream is held by backpressure: the learner
  // notices at once (the stream is cancelled), it does not wait for room.
  actors[3]->Signal(SIGKILL);
  EXPECT_EQ(actors[3]->Wait(10), 128 + SIGKILL);
  const Clock::time_point killed = Clock::now();
  ASSERT_TRUE(client.WaitFor(
      [&](const v1::LearnerStatus& s) {
        const v1::ActorInfo* a = FindActor(s, "p3");
        return s.actors_connected() == 3 && a != nullptr &&
               a->state() == v1::ACTOR_STATE_DISCONNECTED;
      },
      10, &st))
      << st.DebugString();
  const double noticed = SecondsSince(killed);

  // Resumed: training continues with the other three.
  const uint64_t v = st.policy_version();
  const std::map<std::string, uint64_t> before = ChunksByName(st);
  ASSERT_TRUE(client.Resume());
  ASSERT_TRUE(client.WaitFor(
      [&](const v1::LearnerStatus& s) {
        return s.policy_version() >= v + 5 && AllStreaming(s, {"p0", "p1", "p2"}, before);
      },
      30, &st))
      << st.DebugString();
  EXPECT_EQ(AccountingError(st), "") << DropSummary(st);
  for (int i = 0; i < 3; ++i) actors[i]->Signal(SIGTERM);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(actors[i]->Wait(30), 0);
  l.process->Signal(SIGTERM);
  EXPECT_EQ(l.process->Wait(30), 0);
  std::printf("RSS training %.1f MiB, max while paused 10 s with 4 actors %.1f MiB (bound %.0f "
              "MiB); queue max %llu of %llu transitions; killed blocked actor noticed after "
              "%.2f s\n",
              rss_training / kMiB, rss_max / kMiB, kRssBound / kMiB,
              static_cast<unsigned long long>(queue_max),
              static_cast<unsigned long long>(st.queue_capacity()), noticed);
}

// The learner's memory grows by what its queue holds and by little else:
// docs/learner.md "Memory bound". The queue is made large (1.5 M CartPole
// transitions, 45 MiB decoded) so that the data dwarfs the noise of the
// ~180 MiB process, then filled while training is paused: one more copy of
// each chunk anywhere in the learner would show as ~45 MiB more.
TEST(LoadTest, FullQueueGrowsTheLearnersMemoryByTheDocumentedBound) {
  // CartPole-v1: obs_dim 4, one discrete action (held as one float).
  constexpr int64_t kObsDim = 4, kActionDim = 1;
  constexpr int64_t kBytesPerTransition = 4 * (kObsDim + kActionDim + 2) + 2;  // b = 30
  constexpr int kRollout = 128, kEnvs = 32;
  constexpr int64_t kChunk = kRollout * kEnvs;  // transitions per filler chunk
  constexpr int64_t kCapacity = 384 * kChunk;
  // Per chunk held: its bootstrap observations and the headers of its eight
  // tensors (TensorImpl, StorageImpl, aligned allocations; 3.3 KB measured,
  // docs/learner.md).
  auto held_bytes = [](int64_t envs) { return envs * kObsDim * 4 + 4096; };
  // On the wire a transition is 4·obs_dim + 8 (int64 action) + 4 + 4 + 2
  // bytes; a chunk adds episode summaries and framing (16 KiB is generous).
  auto wire_bytes = [](int64_t envs) { return kRollout * envs * (4 * kObsDim + 18) + (16 << 10); };
  constexpr int kMaxUnacked = 8;  // --max-unacked-chunks (the default)
  // Measured: growth 1.05–1.09 × data, 2–6 MiB beyond it (docs/learner.md).
  constexpr double kSlack = 0.05;
  constexpr int64_t kFixedBytes = 8LL << 20;

  const std::string dir = MakeTempDir("faults_memory");
  Learner l = StartLearner(
      LearnerArgs(dir, "127.0.0.1:0",
                  {"--rollout-length", absl::StrCat(kRollout), "--queue-capacity",
                   absl::StrCat(kCapacity), "--max-unacked-chunks", absl::StrCat(kMaxUnacked),
                   "--checkpoint-every-seconds", "0",
                   // Actors that ignore flow control (older ones, or target
                   // 0): the worst case the bound is for.
                   "--target-policy-lag", "0"}),
      dir + "/learner.log");
  ASSERT_FALSE(l.address.empty());
  LearnerClient client(l.address);
  // Training, fed by one slow actor (one env) that the trainer keeps up
  // with: the trainer's, LibTorch's and BLAS's working memory exist, the
  // queue is nearly empty. Paused there: the base.
  std::vector<std::unique_ptr<ChildProcess>> actors;
  actors.push_back(StartActor(l.address, "w0", dir, 1));
  v1::LearnerStatus st;
  ASSERT_TRUE(client.WaitFor(
      [&](const v1::LearnerStatus& s) { return AllStreaming(s, {"w0"}) && s.policy_version() >= 3; },
      60, &st))
      << st.DebugString();
  ASSERT_TRUE(client.Pause());
  const std::optional<v1::LearnerStatus> base = client.Status();
  const int64_t rss_base = RssBytes(l.process->pid());
  ASSERT_TRUE(base.has_value());
  ASSERT_LE(base->transitions_queued(), kCapacity / 4) << "the trainer fell far behind";

  // Three fast actors fill the queue. Full: no filler chunk fits any more
  // and every stream holds one chunk it could not queue (FIFO: once one is
  // held, w0's next one is held too).
  const std::vector<std::string> fillers = {"m0", "m1", "m2"};
  for (const std::string& n : fillers) actors.push_back(StartActor(l.address, n, dir, kEnvs));
  const uint64_t held_full = fillers.size() * kChunk + kRollout;
  // Beyond the queue there may also be w0 chunks the trainer took into its
  // next batch before it saw the pause (the async batcher stops taking
  // chunks at the pause, not mid-batch): a multiple of w0's chunk, less than
  // a batch. Counted as queued, they are not in the queue.
  auto held_as_full = [&](uint64_t beyond) {
    return beyond >= held_full && (beyond - held_full) % kRollout == 0 &&
           beyond - held_full < static_cast<uint64_t>(kChunk);
  };
  const bool filled = client.WaitFor(
      [&](const v1::LearnerStatus& s) {
        return s.queue_transitions() + kChunk > static_cast<uint64_t>(kCapacity) &&
               held_as_full(s.transitions_queued() - s.queue_transitions());
      },
      90, &st);
  ASSERT_TRUE(filled) << "queue " << st.queue_transitions() << " of " << kCapacity
                      << ", held beyond it " << st.transitions_queued() - st.queue_transitions()
                      << " of " << held_full << "; " << DropSummary(st);
  // Chunks still arriving in the streams' receive windows land in the next
  // second: the largest RSS seen over it.
  int64_t rss_full = 0;
  for (int i = 0; i < 10; ++i) {
    rss_full = std::max(rss_full, RssBytes(l.process->pid()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::optional<v1::LearnerStatus> after = client.Status();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->transitions_queued(), st.transitions_queued()) << "taken in while full";
  EXPECT_EQ(AccountingError(*after), "") << DropSummary(*after);

  // The documented bound for what was added: the decoded data, plus what
  // gRPC may hold (per stream, the rest of the actor's send window), plus a
  // fixed allowance for allocator and gRPC slack and the new connections.
  const int64_t added_transitions =
      static_cast<int64_t>(after->transitions_queued() - base->transitions_queued());
  const int64_t added_chunks = static_cast<int64_t>(after->chunks_queued() - base->chunks_queued());
  const double data = static_cast<double>(added_transitions * kBytesPerTransition +
                                          added_chunks * held_bytes(kEnvs));
  const double in_flight = static_cast<double>(
      (kMaxUnacked - 1) * (fillers.size() * wire_bytes(kEnvs) + wire_bytes(1)));
  const double bound = data * (1 + kSlack) + in_flight + kFixedBytes;
  const double growth = static_cast<double>(rss_full - rss_base);
  EXPECT_LE(growth, bound);
  // The data is most of what the bound allows (a leak of one more copy of
  // each chunk exceeds it), and RSS does follow it.
  EXPECT_GE(added_transitions, kCapacity * 3 / 4);
  EXPECT_GE(growth, 0.5 * data) << "RSS did not follow the queued data";

  for (auto& a : actors) a->Signal(SIGTERM);
  for (auto& a : actors) EXPECT_EQ(a->Wait(30), 0);
  l.process->Signal(SIGTERM);
  EXPECT_EQ(l.process->Wait(30), 0) << ReadWholeFile(dir + "/learner.log");
  std::printf("RSS base %.1f MiB (queue %llu), full %.1f MiB (queue %llu of %lld + %llu held): "
              "growth %.1f MiB for %.1f MiB of data (%lld transitions, %lld chunks) = %.3f x; "
              "bound %.1f MiB (slack %.0f%%, in flight %.1f MiB, fixed %.0f MiB)\n",
              rss_base / kMiB, static_cast<unsigned long long>(base->queue_transitions()),
              rss_full / kMiB, static_cast<unsigned long long>(after->queue_transitions()),
              static_cast<long long>(kCapacity), static_cast<unsigned long long>(held_full),
              growth / kMiB, data / kMiB, static_cast<long long>(added_transitions),
              static_cast<long long>(added_chunks), growth / data, bound / kMiB, kSlack * 100,
              in_flight / kMiB, kFixedBytes / kMiB);
}

// grpc.health.v1.Health/Watch for the whole server: every status it sends,
// with the time, until the stream ends.
class HealthWatcher {
 public:
  explicit HealthWatcher(const std::string& address)
      : stub_(grpc::health::v1::Health::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))) {
    thread_ = std::thread([this] {
      grpc::health::v1::HealthCheckRequest req;
      auto reader = stub_->Watch(&ctx_, req);
      grpc::health::v1::HealthCheckResponse resp;
      while (reader->Read(&resp)) {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.emplace_back(Clock::now(), resp.status());
        // Seen what we wait for: end the watch, so that it is not one of the
        // calls the server's shutdown waits for.
        if (resp.status() == grpc::health::v1::HealthCheckResponse::NOT_SERVING) ctx_.TryCancel();
      }
      reader->Finish();
      std::lock_guard<std::mutex> lock(mu_);
      ended_ = Clock::now();
    });
  }
  ~HealthWatcher() {
    ctx_.TryCancel();
    thread_.join();
  }
  std::vector<std::pair<Clock::time_point, int>> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  std::optional<Clock::time_point> ended() {
    std::lock_guard<std::mutex> lock(mu_);
    return ended_;
  }

 private:
  std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
  grpc::ClientContext ctx_;
  std::mutex mu_;
  std::vector<std::pair<Clock::time_point, int>> seen_;
  std::optional<Clock::time_point> ended_;
  std::thread thread_;
};

TEST(LoadTest, SigtermUnderHeavyTrafficGoesNotServingCheckpointsAndExitsZero) {
  const std::string dir = MakeTempDir("faults_term");
  const std::vector<std::string> names = {"t0", "t1", "t2", "t3"};
  constexpr double kGrace = 10;
  // Small chunks (8 steps × 1 env), many of them; no periodic checkpoint, so
  // the one found afterwards is the final one.
  Learner l = StartLearner(LearnerArgs(dir, "127.0.0.1:0",
                                       {"--rollout-length", "8", "--num-envs", "16",
                                        "--num-minibatches", "2", "--checkpoint-every-seconds",
                                        "0", "--grace-period", "10"}),
                           dir + "/learner.log");
  ASSERT_FALSE(l.address.empty());
  LearnerClient client(l.address);
  std::vector<std::unique_ptr<ChildProcess>> actors = StartActors(l.address, names, dir, 1);
  v1::LearnerStatus st;
  ASSERT_TRUE(client.WaitFor(
      [&](const v1::LearnerStatus& s) { return AllStreaming(s, names) && s.chunks_received() >= 2000; },
      60, &st))
      << st.DebugString();
  EXPECT_TRUE(fs::is_empty(dir + "/checkpoints"));
  HealthWatcher health(l.address);
  ASSERT_TRUE(client.WaitFor(
      [&](const v1::LearnerStatus&) {
        auto seen = health.seen();
        return !seen.empty() && seen.back().second == grpc::health::v1::HealthCheckResponse::SERVING;
      },
      10));
  const uint64_t rate_before = st.chunks_received();
  std::this_thread::sleep_for(std::chrono::seconds(1));  // traffic sample
  const std::optional<v1::LearnerStatus> st1 = client.Status();
  ASSERT_TRUE(st1.has_value());
  const double chunks_per_second = static_cast<double>(st1->chunks_received() - rate_before);

  const Clock::time_point term = Clock::now();
  l.process->Signal(SIGTERM);
  const int code = l.process->Wait(kGrace + 5);
  const double exit_seconds = SecondsSince(term);
  const std::optional<Clock::time_point> watch_ended = health.ended();
  std::printf("health watch ended %.3f s after SIGTERM\n",
              watch_ended ? std::chrono::duration<double>(*watch_ended - term).count() : -1.0);
  EXPECT_EQ(code, 0) << ReadWholeFile(dir + "/learner.log");
  EXPECT_LT(exit_seconds, kGrace);
  // Health said NOT_SERVING before the process was gone.
  double not_serving_after = -1;
  for (const auto& [t, status] : health.seen()) {
    if (status == grpc::health::v1::HealthCheckResponse::NOT_SERVING) {
      not_serving_after = std::chrono::duration<double>(t - term).count();
      break;
    }
  }
  EXPECT_GE(not_serving_after, 0) << "no NOT_SERVING seen before exit";
  // The final checkpoint, at the final version.
  const nlohmann::json summary = LoadJsonOrDie(dir + "/summary.json");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir + "/checkpoints")) {
    files.push_back(e.path().filename().string());
  }
  ASSERT_EQ(files.size(), 1u);
  const std::string log = ReadWholeFile(dir + "/learner.log");
  EXPECT_NE(log.find("stopped (SIGTERM)"), std::string::npos) << log;
  // Actors learn that the learner is gone and keep retrying; stop them.
  for (auto& a : actors) a->Signal(SIGTERM);
  for (auto& a : actors) EXPECT_EQ(a->Wait(30), 0);
  std::printf("SIGTERM at ~%.0f chunks/s from 4 actors: NOT_SERVING after %.3f s, exit 0 after "
              "%.2f s (grace %.0f s), final checkpoint %s (%lld updates)\n",
              chunks_per_second, not_serving_after, exit_seconds, kGrace, files[0].c_str(),
              static_cast<long long>(summary["updates"].get<int64_t>()));
}

}  // namespace
}  // namespace proxima::faults

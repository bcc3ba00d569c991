// The gRPC suites of `proxima bench` (bench.h): "ingest" and "broadcast".
//
// Both start a real proxima-learner subprocess (learner/cli/learner_main.cc)
// on loopback and play its actors from threads of this process, so the
// figures include protobuf parsing, HTTP/2 and the learner's reactors:
//  * ingest: N synthetic actors (no env, no policy) resend one valid chunk
//    as fast as the learner acknowledges it, with the trainer paused
//    (Admin.Pause) so that acceptance is measured, not training.
//  * broadcast: one feeder keeps the learner training, N watcher sessions
//    apply every WeightSnapshot the way an actor does and record the time
//    from WeightSnapshot.published_at to "applied".
// The clients run on the same cores as the learner (two on the reference
// machine), so they compete with it for CPU: the figures are lower bounds of
// what a learner with its own machine achieves. Ingest therefore also
// reports transitions per learner CPU-second (from /proc/PID/stat), which
// does not depend on how much CPU the clients took.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <numeric>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc/grpc_util.h"
#include "common/policy/policy_snapshot.h"
#include "common/wire/run_config.h"
#include "common/file_util.h"
#include "common/rng.h"
#include "common/status_macros.h"
#include "grpcpp/client_context.h"
#include "learner/cli/bench/bench.h"
#include "learner/cli/bench/bench_process.h"
#include "learner/cli/client_commands.h"
#include "proxima/v1/admin_service.grpc.pb.h"
#include "proxima/v1/learner_service.grpc.pb.h"
#include "proxima/v1/monitor_service.grpc.pb.h"

namespace proxima::bench {
namespace {

constexpr char kEnv[] = "CartPole-v1";
// A budget no run here reaches: the learner must not stop by itself.
constexpr char kHugeTotalSteps[] = "1000000000000";
constexpr absl::Duration kUnaryDeadline = absl::Seconds(10);
constexpr absl::Duration kStartupTimeout = absl::Seconds(60);
// After SIGTERM the learner finishes its update and checkpoints; then SIGKILL.
constexpr absl::Duration kStopGrace = absl::Seconds(5);
// Sent-but-unacknowledged chunks per ingest actor: the real actor's window
// (ChannelHints.max_unacked_chunks).
constexpr int kIngestWindow = 8;
// The broadcast feeder keeps its window small so that its chunks, stamped
// with the newest version it knows, are never beyond --max-policy-lag when
// they enter a batch.
constexpr int kFeederWindow = 2;

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
}

std::string TailOf(const std::string& path, int lines) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return "";
  std::vector<std::string> all = absl::StrSplit(*text, '\n', absl::SkipEmpty());
  if (all.size() > static_cast<size_t>(lines)) all.erase(all.begin(), all.end() - lines);
  return absl::StrJoin(all, "\n");
}

// utime + stime of `pid` in seconds (/proc/PID/stat fields 14 and 15); NaN
// if unreadable. Fields are counted after the ")" that ends the command name,
// which may itself contain spaces.
double ProcessCpuSeconds(pid_t pid) {
  absl::StatusOr<std::string> stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return NAN;
  const size_t paren = stat->rfind(')');
  if (paren == std::string::npos) return NAN;
  std::vector<absl::string_view> f =
      absl::StrSplit(absl::string_view(*stat).substr(paren + 2), ' ', absl::SkipEmpty());
  // f[0] is field 3 (state), so utime (14) is f[11] and stime (15) f[12].
  uint64_t utime = 0, stime = 0;
  if (f.size() < 13 || !absl::SimpleAtoi(f[11], &utime) || !absl::SimpleAtoi(f[12], &stime)) {
    return NAN;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// A "Vm...:" line of /proc/PID/status ("VmRSS:  1234 kB") in bytes; null if
// absent.
nlohmann::json ProcessMemoryBytes(pid_t pid, absl::string_view key) {
  absl::StatusOr<std::string> status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  if (!status.ok()) return nullptr;
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    if (!absl::ConsumePrefix(&line, key) || !absl::ConsumePrefix(&line, ":")) continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    int64_t kb = 0;
    if (!parts.empty() && absl::SimpleAtoi(parts[0], &kb)) return kb * 1024;
  }
  return nullptr;
}

// A metric value: the number, or null when it could not be measured.
nlohmann::json Number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

// ---------------------------------------------------------------------------
// The learner subprocess: `proxima-learner FLAGS --listen 127.0.0.1:0
// --run-dir DIR --quiet`, its output in DIR/learner.log, its address read
// from DIR/learner.addr.

class LearnerProcess {
 public:
  static absl::StatusOr<std::unique_ptr<LearnerProcess>> Start(const BenchOptions& options,
                                                               const std::string& run_dir,
                                                               std::vector<std::string> flags) {
    std::error_code ec;
    std::filesystem::remove_all(run_dir, ec);  // the previous bench run's
    PROXIMA_RETURN_IF_ERROR(MakeDirs(run_dir));
    auto p = std::unique_ptr<LearnerProcess>(new LearnerProcess());
    p->log_path_ = run_dir + "/learner.log";
    for (const char* a : {"--listen", "127.0.0.1:0", "--run-dir"}) flags.push_back(a);
    flags.push_back(run_dir);
    flags.push_back("--quiet");
    const std::string binary = options.bin_dir + "/proxima-learner";
    absl::StatusOr<Child> child = StartChild(binary, flags, p->log_path_);
    if (!child.ok()) return p->Error(absl::StrCat("cannot start ", binary), child.status());
    p->child_ = *child;
    absl::StatusOr<std::string> address =
        WaitForLearnerAddress(run_dir, p->child_, kStartupTimeout);
    if (!address.ok()) {
      p->Stop();
      return p->Error("the learner did not start", address.status());
    }
    p->address_ = *address;
    return p;
  }

  ~LearnerProcess() { Stop(); }

  // SIGTERM, SIGKILL after kStopGrace, reap. Idempotent. Close this
  // process's channels to the learner first: the learner's gRPC
  // Server::Shutdown waits (up to a quarter of its --grace-period) for
  // connected channels to go away, idle ones included.
  void Stop() {
    if (child_.pid <= 0) return;
    StopChild(child_, kStopGrace);
    child_.pid = -1;
  }

  pid_t pid() const { return child_.pid; }
  const std::string& address() const { return address_; }

  // `what` and `cause`, the log's path and its last lines.
  absl::Status Error(absl::string_view what, const absl::Status& cause) const {
    return absl::Status(cause.code(),
                        absl::StrCat(what, ": ", cause.message(), " (log: ", log_path_, ")\n",
                                     TailOf(log_path_, 10)));
  }

 private:
  LearnerProcess() = default;

  Child child_;
  std::string log_path_, address_;
};

// ---------------------------------------------------------------------------
// Actor sessions.

struct Session {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Learner::Stub> stub;
  v1::RegisterResponse registration;
  ActorRunConfig config;
};

// Register(name) on a channel of its own, as a separate actor process would
// have (grpc_util's channels never share a connection).
absl::StatusOr<Session> Register(const std::string& address, const std::string& name) {
  Session s;
  s.channel = MakeLearnerChannel(address, v1::ChannelHints());
  s.stub = v1::Learner::NewStub(s.channel);
  grpc::ClientContext context;
  SetDeadline(&context, kUnaryDeadline);
  v1::RegisterRequest request;
  request.set_actor_name(name);
  request.set_protocol_version(v1::PROTOCOL_VERSION_1);
  request.set_pid(static_cast<uint32_t>(::getpid()));
  request.set_build_version("proxima bench");
  const grpc::Status status = s.stub->Register(&context, request, &s.registration);
  if (!status.ok()) {
    return absl::Status(ToAbslStatus(status).code(),
                        absl::StrCat("Register(", name, "): ", status.error_message()));
  }
  PROXIMA_ASSIGN_OR_RETURN(s.config, ActorRunConfigFromProto(s.registration.config()));
  return s;
}

// Sets `t` to `dtype` and `shape`, element i being value(i) of type V,
// written straight into the message (no staging copy).
template <typename V, typename Fn>
void FillTensor(v1::TensorProto* t, v1::DType dtype, std::initializer_list<int64_t> shape,
                Fn value) {
  t->set_dtype(dtype);
  size_t n = 1;
  for (int64_t d : shape) {
    t->add_shape(d);
    n *= static_cast<size_t>(d);
  }
  std::string* data = t->mutable_data();
  data->resize(n * sizeof(V));
  for (size_t i = 0; i < n; ++i) {
    const V v = value(i);
    std::memcpy(data->data() + i * sizeof(V), &v, sizeof(V));
  }
}

// A chunk of the session's shape (num_envs × rollout_length) that passes
// ValidateChunkPayload and looks like a real rollout: finite observations,
// actions inside the space, log-probs <= 0, unit rewards, and episodes that
// end every 10..200 steps per column — mostly terminated, some truncated
// with their final observation — each with its summary, in (t, e) order.
v1::TrajectoryChunk SyntheticChunk(const Session& s, uint64_t seed) {
  const ActorRunConfig& c = s.config;
  const int64_t T = c.rollout_length, E = c.num_envs, D = c.env_spec.obs_dim();
  const Space& space = c.env_spec.action_space;
  Rng rng(seed);
  auto uniform = [&rng](size_t) { return static_cast<float>(rng.Uniform(-1, 1)); };
  v1::TrajectoryChunk chunk;
  chunk.set_actor_id(s.registration.actor_id());
  chunk.set_session_id(s.registration.session_id());
  chunk.set_policy_version(s.registration.policy_version());
  chunk.set_num_steps(static_cast<uint32_t>(T));
  chunk.set_num_envs(static_cast<uint32_t>(E));
  FillTensor<float>(chunk.mutable_observations(), v1::DTYPE_FLOAT32, {T, E, D}, uniform);
  if (space.is_discrete()) {
    FillTensor<int64_t>(chunk.mutable_actions(), v1::DTYPE_INT64, {T, E}, [&](size_t) {
      return static_cast<int64_t>(rng.UniformInt(static_cast<uint64_t>(space.n)));
    });
  } else {
    FillTensor<float>(chunk.mutable_actions(), v1::DTYPE_FLOAT32, {T, E, space.flat_dim()},
                      [&](size_t) { return static_cast<float>(rng.Normal()); });
  }
  FillTensor<float>(chunk.mutable_behaviour_log_probs(), v1::DTYPE_FLOAT32, {T, E},
                    [&](size_t) { return static_cast<float>(-rng.Uniform(0.01, 3.0)); });
  FillTensor<float>(chunk.mutable_rewards(), v1::DTYPE_FLOAT32, {T, E}, [](size_t) { return 1.0f; });
  auto zero = [](size_t) { return uint8_t{0}; };
  FillTensor<uint8_t>(chunk.mutable_terminated(), v1::DTYPE_UINT8, {T, E}, zero);
  FillTensor<uint8_t>(chunk.mutable_truncated(), v1::DTYPE_UINT8, {T, E}, zero);
  FillTensor<float>(chunk.mutable_bootstrap_observations(), v1::DTYPE_FLOAT32, {E, D}, uniform);

  std::string& terminated = *chunk.mutable_terminated()->mutable_data();
  std::string& truncated = *chunk.mutable_truncated()->mutable_data();
  auto episode_length = [&rng] { return 10 + static_cast<int>(rng.UniformInt(191)); };
  std::vector<int> length(E, 0), ends_at(E);
  for (int& l : ends_at) l = episode_length();
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t e = 0; e < E; ++e) {
      if (++length[e] < ends_at[e]) continue;
      const bool truncation = rng.Uniform() < 0.1;
      (truncation ? truncated : terminated)[t * E + e] = 1;
      if (truncation) {
        v1::TruncatedObservation* o = chunk.add_truncated_observations();
        o->set_step(static_cast<uint32_t>(t));
        o->set_env(static_cast<uint32_t>(e));
        for (int64_t d = 0; d < D; ++d) o->add_observation(uniform(0));
      }
      v1::EpisodeSummary* ep = chunk.add_episodes();
      ep->set_step(static_cast<uint32_t>(t));
      ep->set_env(static_cast<uint32_t>(e));
      ep->set_episode_return(length[e]);
      ep->set_episode_length(static_cast<uint64_t>(length[e]));
      ep->set_truncated(truncation);
      length[e] = 0;
      ends_at[e] = episode_length();
    }
  }
  return chunk;
}

// One synthetic actor's StreamTrajectories: a writer thread resends one chunk
// with seq 0, 1, 2, ... (only seq and policy_version change, so the client
// costs one serialization per chunk), keeping at most `window` chunks
// unacknowledged like the real ChunkSender; policy_version is the newest
// learner version an ack reported. A reader thread counts the acks.
class ChunkStream {
 public:
  ChunkStream(Session session, int window, uint64_t seed)
      : session_(std::move(session)),
        window_(window),
        chunk_(SyntheticChunk(session_, seed)),
        version_(session_.registration.policy_version()) {}
  ~ChunkStream() { Stop(); }

  void Start() {
    stream_ = session_.stub->StreamTrajectories(&context_);
    writer_ = std::thread([this] { WriteLoop(); });
    reader_ = std::thread([this] { ReadLoop(); });
  }

  // Cancels the stream (which also frees a writer blocked by backpressure)
  // and joins both threads. Idempotent.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    context_.TryCancel();
    if (writer_.joinable()) writer_.join();
    if (reader_.joinable()) reader_.join();
    if (stream_ != nullptr) (void)stream_->Finish();
    stream_.reset();
  }

  const v1::TrajectoryChunk& chunk() const { return chunk_; }
  int64_t accepted() const { return accepted_; }
  int64_t refused() const { return refused_; }
  uint64_t learner_version() const { return version_; }
  std::string first_refusal() const {
    std::lock_guard<std::mutex> lock(mu_);
    return first_refusal_;
  }

 private:
  void WriteLoop() {
    for (uint64_t seq = 0;; ++seq) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || static_cast<int64_t>(seq) - acked_ < window_; });
        if (stopping_) return;
      }
      chunk_.set_seq(seq);
      chunk_.set_policy_version(version_);
      if (!stream_->Write(chunk_)) return;  // cancelled or broken: the reader sees why
    }
  }

  void ReadLoop() {
    v1::ChunkAck ack;
    while (stream_->Read(&ack)) {
      version_ = ack.learner_policy_version();
      if (ack.outcome() == v1::CHUNK_OUTCOME_ACCEPTED) {
        ++accepted_;
      } else if (refused_++ == 0) {
        std::lock_guard<std::mutex> lock(mu_);
        first_refusal_ = absl::StrCat(v1::ChunkOutcome_Name(ack.outcome()), ": ", ack.reason());
      }
      std::lock_guard<std::mutex> lock(mu_);
      ++acked_;
      cv_.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;  // the stream is over: nothing more to write
    cv_.notify_all();
  }

  Session session_;
  const int window_;
  v1::TrajectoryChunk chunk_;  // the writer's only
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::TrajectoryChunk, v1::ChunkAck>> stream_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  int64_t acked_ = 0;      // guarded by mu_
  std::string first_refusal_;  // guarded by mu_
  std::atomic<int64_t> accepted_{0}, refused_{0};
  std::atomic<uint64_t> version_;
  std::thread writer_, reader_;
};

int64_t TotalAccepted(const std::vector<std::unique_ptr<ChunkStream>>& streams) {
  int64_t n = 0;
  for (const auto& s : streams) n += s->accepted();
  return n;
}

absl::StatusOr<v1::LearnerStatus> GetStatus(const LearnerProcess& learner) {
  auto monitor = v1::Monitor::NewStub(MakeLearnerChannel(learner.address(), DefaultClientHints()));
  return FetchLearnerStatus(*monitor, false, kUnaryDeadline);
}

// ---------------------------------------------------------------------------
// ingest

// One case: `actors` synthetic actors against a paused learner whose queue
// never fills, or (`bounded`) has its default capacity.
absl::Status RunIngestCase(const BenchOptions& options, const std::string& name, int actors,
                           bool bounded, BenchReport* report) {
  std::vector<std::string> flags = {"--env", kEnv, "--total-steps", kHugeTotalSteps,
                                    "--checkpoint-every-seconds", "0"};
  if (!bounded) {
    // ~46 bytes per CartPole transition in the queue: a few GB at most, far
    // more than a window accepts.
    for (const char* f : {"--queue-capacity", "50000000"}) flags.push_back(f);
  }
  const std::string run_dir = absl::StrCat(options.work_dir, "/ingest-", name);
  PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<LearnerProcess> learner,
                           LearnerProcess::Start(options, run_dir, flags));
  {
    // Training paused before any data arrives: the queue only fills.
    auto admin = v1::Admin::NewStub(MakeLearnerChannel(learner->address(), DefaultClientHints()));
    grpc::ClientContext context;
    SetDeadline(&context, kUnaryDeadline);
    v1::PauseRequest request;
    request.set_reason("proxima bench ingest");
    v1::PauseResponse response;
    const grpc::Status s = admin->Pause(&context, request, &response);
    if (!s.ok()) return learner->Error("Admin.Pause failed", ToAbslStatus(s));
  }
  // Declared after `learner`, so that on every path the clients and their
  // channels are gone before the learner stops (see LearnerProcess::Stop).
  std::vector<std::unique_ptr<ChunkStream>> streams;
  for (int i = 0; i < actors; ++i) {
    absl::StatusOr<Session> session = Register(learner->address(), absl::StrCat("bench-", i));
    if (!session.ok()) return learner->Error("cannot register a synthetic actor", session.status());
    streams.push_back(std::make_unique<ChunkStream>(*std::move(session), kIngestWindow, i + 1));
  }
  for (auto& s : streams) s->Start();

  absl::SleepFor(absl::Milliseconds(300));  // warm-up: connections, allocator, queue growth
  // The bounded case looks at its last second, so it needs a longer window.
  const absl::Duration window = bounded        ? absl::Seconds(options.quick ? 2 : 3)
                                : options.quick ? absl::Milliseconds(700)
                                                : absl::Seconds(3);
  const int64_t accepted0 = TotalAccepted(streams);
  const double cpu0 = ProcessCpuSeconds(learner->pid());
  const absl::Time t0 = absl::Now();
  int64_t accepted_before_last_second = accepted0;
  absl::Time last_second_from = t0;
  if (window > absl::Seconds(1)) {
    absl::SleepFor(window - absl::Seconds(1));
    accepted_before_last_second = TotalAccepted(streams);
    last_second_from = absl::Now();
  }
  absl::SleepFor(t0 + window - absl::Now());
  const int64_t accepted1 = TotalAccepted(streams);
  const double cpu = ProcessCpuSeconds(learner->pid()) - cpu0;
  const absl::Time t1 = absl::Now();
  const double wall = absl::ToDoubleSeconds(t1 - t0);
  const nlohmann::json rss = ProcessMemoryBytes(learner->pid(), "VmRSS");
  const nlohmann::json peak = ProcessMemoryBytes(learner->pid(), "VmHWM");
  absl::StatusOr<v1::LearnerStatus> status = GetStatus(*learner);

  const v1::TrajectoryChunk& chunk = streams.front()->chunk();
  const int64_t chunk_transitions = static_cast<int64_t>(chunk.num_steps()) * chunk.num_envs();
  const size_t chunk_bytes = chunk.ByteSizeLong();
  std::string refusal;
  for (const auto& s : streams) {
    if (s->refused() > 0 && refusal.empty()) refusal = s->first_refusal();
  }
  streams.clear();  // and their channels, before the learner (LearnerProcess::Stop)
  learner->Stop();
  if (!refusal.empty()) {
    return absl::InternalError(absl::StrCat("the learner refused a synthetic chunk: ", refusal));
  }

  const double transitions = static_cast<double>((accepted1 - accepted0) * chunk_transitions);
  const double per_cpu_second = cpu > 0 ? transitions / cpu : NAN;
  auto from_status = [&status](uint64_t (v1::LearnerStatus::*field)() const) {
    return status.ok() ? nlohmann::json(((*status).*field)()) : nlohmann::json();
  };
  BenchRow row;
  row.suite = "ingest";
  row.name = name;
  row.params = {{"actors", actors},
                {"chunk_transitions", chunk_transitions},
                {"env", kEnv},
                {"queue", bounded ? "default" : "never full"}};
  row.metrics = {{"transitions_per_second", transitions / wall},
                 {"transitions_per_learner_cpu_second", Number(per_cpu_second)},
                 {"learner_cpu_utilization", Number(cpu / wall)},
                 {"chunks_accepted", accepted1 - accepted0},
                 {"chunk_bytes", chunk_bytes},
                 {"learner_rss_bytes", rss},
                 {"learner_peak_rss_bytes", peak},
                 {"queued_transitions", from_status(&v1::LearnerStatus::transitions_queued)}};
  if (bounded) {
    row.metrics["queue_transitions"] = from_status(&v1::LearnerStatus::queue_transitions);
    row.metrics["queue_capacity"] = from_status(&v1::LearnerStatus::queue_capacity);
    // ~0 when backpressure works: blocked clients, not a growing learner.
    row.metrics["acks_per_second_at_end"] =
        static_cast<double>(accepted1 - accepted_before_last_second) /
        absl::ToDoubleSeconds(t1 - last_second_from);
  }
  options.log(absl::StrFormat(
      "ingest %s: %.0f transitions/s, %.0f per learner CPU-second (%.2f cores), RSS %s", name,
      transitions / wall, per_cpu_second, cpu / wall, rss.dump()));
  report->Add(std::move(row));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// broadcast

// A watcher session: Learner.WatchWeights, and every snapshot applied as the
// actor's WeightWatcher does it (DecodeSnapshot: checksum, names and shapes
// verified, a fresh network built and loaded) before its latency is taken
// as system_clock now − published_at (one machine, one clock). The learner
// stamps published_at after encoding the weights, so serialization, the
// write, the transfer, parsing and the apply are all inside the figure.
class SnapshotWatcher {
 public:
  struct Sample {
    uint64_t version;
    double latency_ms;
  };

  explicit SnapshotWatcher(Session session) : session_(std::move(session)) {}
  ~SnapshotWatcher() { Stop(); }

  void Start() { thread_ = std::thread([this] { Loop(); }); }
  void Stop() {
    context_.TryCancel();
    if (thread_.joinable()) thread_.join();
  }
  void set_recording(bool on) { recording_ = on; }

  // After Stop().
  const std::vector<Sample>& samples() const { return samples_; }
  int64_t failures() const { return failures_; }
  size_t snapshot_bytes() const { return snapshot_bytes_; }
  const std::string& first_failure() const { return first_failure_; }

 private:
  void Loop() {
    const PolicyShape shape{session_.config.env_spec.obs_dim(),
                            session_.config.env_spec.action_space, session_.config.model};
    v1::WatchWeightsRequest request;
    request.set_actor_id(session_.registration.actor_id());
    request.set_session_id(session_.registration.session_id());
    auto reader = session_.stub->WatchWeights(&context_, request);
    v1::WeightSnapshot snapshot;
    for (bool first = true; reader->Read(&snapshot); first = false) {
      absl::StatusOr<std::shared_ptr<const PolicySnapshot>> applied =
          DecodeSnapshot(snapshot, shape);
      const auto now = std::chrono::system_clock::now().time_since_epoch();
      if (!applied.ok()) {
        if (failures_++ == 0) first_failure_ = applied.status().ToString();
        continue;
      }
      // The first one is the version current at subscription, not a fresh
      // publication.
      if (first) {
        snapshot_bytes_ = snapshot.ByteSizeLong();
        continue;
      }
      if (!recording_) continue;
      const int64_t published_ns = snapshot.published_at().seconds() * 1000000000 +
                                   snapshot.published_at().nanos();
      const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
      samples_.push_back({snapshot.version(), static_cast<double>(now_ns - published_ns) / 1e6});
    }
    (void)reader->Finish();
  }

  Session session_;
  grpc::ClientContext context_;
  std::atomic<bool> recording_{false};
  std::thread thread_;
  // Written by the watcher thread only, read after Stop().
  std::vector<Sample> samples_;
  int64_t failures_ = 0;
  size_t snapshot_bytes_ = 0;
  std::string first_failure_;
};

absl::Status RunBroadcastCase(const BenchOptions& options, int actors, BenchReport* report) {
  const std::string name = absl::StrCat("actors=", actors);
  const std::string run_dir = absl::StrCat(options.work_dir, "/broadcast-", name);
  // The default (async) configuration; only the budget and checkpoints are
  // kept out of the way.
  PROXIMA_ASSIGN_OR_RETURN(
      std::unique_ptr<LearnerProcess> learner,
      LearnerProcess::Start(options, run_dir,
                            {"--env", kEnv, "--total-steps", kHugeTotalSteps,
                             "--checkpoint-every-seconds", "0"}));
  // Declared after `learner`, so that on every path the clients and their
  // channels are gone before the learner stops (see LearnerProcess::Stop).
  std::vector<std::unique_ptr<SnapshotWatcher>> watchers;
  for (int i = 0; i < actors; ++i) {
    absl::StatusOr<Session> session = Register(learner->address(), absl::StrCat("watcher-", i));
    if (!session.ok()) return learner->Error("cannot register a watcher", session.status());
    watchers.push_back(std::make_unique<SnapshotWatcher>(*std::move(session)));
    watchers.back()->Start();
  }
  absl::StatusOr<Session> feeder_session = Register(learner->address(), "feeder");
  if (!feeder_session.ok()) {
    return learner->Error("cannot register the feeder", feeder_session.status());
  }
  // The feeder sends as fast as the learner takes chunks (its queue holds
  // two batches), so the trainer never waits for data.
  auto feeder = std::make_unique<ChunkStream>(*std::move(feeder_session), kFeederWindow, 1);
  feeder->Start();

  // Warm-up: until training runs (a few versions published).
  const absl::Time warmup_deadline = absl::Now() + absl::Seconds(60);
  while (feeder->learner_version() < 3) {
    if (absl::Now() > warmup_deadline) {
      return learner->Error("the learner did not train",
                            absl::DeadlineExceededError(absl::StrCat(
                                "version ", feeder->learner_version(), " after 60 s; feeder: ",
                                feeder->accepted(), " chunks accepted, ", feeder->refused(),
                                " refused ", feeder->first_refusal())));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  // Full runs: 8 s, longer if needed for 200 versions (at most 30 s).
  const absl::Duration window = options.quick ? absl::Seconds(3) : absl::Seconds(8);
  const uint64_t version0 = feeder->learner_version();
  for (auto& w : watchers) w->set_recording(true);
  const absl::Time t0 = absl::Now();
  while (true) {
    absl::SleepFor(absl::Milliseconds(100));
    const absl::Duration elapsed = absl::Now() - t0;
    if (elapsed >= window &&
        (options.quick || feeder->learner_version() - version0 >= 200 ||
         elapsed >= absl::Seconds(30))) {
      break;
    }
  }
  for (auto& w : watchers) w->set_recording(false);
  const double wall = absl::ToDoubleSeconds(absl::Now() - t0);
  feeder.reset();
  for (auto& w : watchers) w->Stop();

  std::vector<double> latencies;
  std::set<uint64_t> versions;
  int64_t failures = 0;
  std::string first_failure;
  for (const auto& w : watchers) {
    for (const SnapshotWatcher::Sample& s : w->samples()) {
      latencies.push_back(s.latency_ms);
      versions.insert(s.version);
    }
    if (w->failures() > 0 && failures == 0) first_failure = w->first_failure();
    failures += w->failures();
  }
  const size_t snapshot_bytes = watchers.front()->snapshot_bytes();
  watchers.clear();  // and their channels, before the learner (LearnerProcess::Stop)
  learner->Stop();
  if (failures > 0) {
    return absl::InternalError(absl::StrCat(failures, " snapshot(s) failed to apply: ",
                                            first_failure));
  }
  const double p50 = Percentile(latencies, 50), p99 = Percentile(latencies, 99);
  const double worst = Percentile(latencies, 100);
  const double mean =
      std::accumulate(latencies.begin(), latencies.end(), 0.0) / static_cast<double>(latencies.size());
  BenchRow row;
  row.suite = "broadcast";
  row.name = name;
  row.params = {{"actors", actors}, {"env", kEnv}, {"snapshot_bytes", snapshot_bytes}};
  row.metrics = {{"p50_ms", Number(p50)},
                 {"p99_ms", Number(p99)},
                 {"max_ms", Number(worst)},
                 {"mean_ms", Number(mean)},
                 {"samples", latencies.size()},
                 {"versions_published", versions.size()},
                 {"versions_per_second", static_cast<double>(versions.size()) / wall}};
  options.log(absl::StrFormat("broadcast %s: p50 %.2f ms, p99 %.2f ms, max %.2f ms over %d "
                              "samples (%d versions)",
                              name, p50, p99, worst, latencies.size(), versions.size()));
  report->Add(std::move(row));
  return absl::OkStatus();
}

}  // namespace

absl::Status RunIngestSuite(const BenchOptions& options, BenchReport* report) {
  for (int n : options.quick ? std::vector<int>{1, 4} : std::vector<int>{1, 4, 16}) {
    PROXIMA_RETURN_IF_ERROR(
        RunIngestCase(options, absl::StrCat("actors=", n), n, /*bounded=*/false, report));
  }
  // Trainer paused and the default queue: the learner's memory must stay
  // bounded, with the clients held back by backpressure.
  return RunIngestCase(options, "bounded-queue", 4, /*bounded=*/true, report);
}

absl::Status RunBroadcastSuite(const BenchOptions& options, BenchReport* report) {
  for (int n : options.quick ? std::vector<int>{1, 8} : std::vector<int>{1, 8, 32}) {
    PROXIMA_RETURN_IF_ERROR(RunBroadcastCase(options, n, report));
  }
  return absl::OkStatus();
}

}  // namespace proxima::bench

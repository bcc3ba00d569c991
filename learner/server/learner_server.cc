#include "learner/server/learner_server.h"

#include <grpcpp/alarm.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/wire/chunk_codec.h"
#include "common/cpu_threads.h"
#include "common/envs/registry.h"
#include "common/grpc/grpc_util.h"
#include "common/wire/run_config.h"
#include "common/policy/weight_codec.h"
#include "common/failpoint.h"
#include "common/grpc/channel_security.h"
#include "common/file_util.h"
#include "common/rng.h"
#include "common/running_stats.h"
#include "common/status_macros.h"
#include "common/wire/chunk_validator.h"
#include "learner/episode_tracker.h"
#include "learner/ppo_updater.h"
#include "learner/server/auth.h"
#include "learner/server/checkpoint.h"
#include "learner/server/prometheus_exporter.h"
#include "learner/server/rate_limiter.h"
#include "learner/server/rejected_call.h"
#include "learner/server/server_security.h"
#include "learner/tensorboard_writer.h"
#include "proxima/v1/admin_service.grpc.pb.h"
#include "proxima/v1/learner_service.grpc.pb.h"
#include "proxima/v1/monitor_service.grpc.pb.h"

namespace proxima {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t ns = absl::ToUnixNanos(t);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

void SetDuration(double seconds, google::protobuf::Duration* out) {
  const int64_t ns = static_cast<int64_t>(seconds * 1e9);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

// Steps/s over a window of (time, cumulative steps) samples: the newest
// sample is appended and samples older than 10 s dropped (two are kept).
using RateWindow = std::deque<std::pair<Clock::time_point, int64_t>>;

void AddRateSample(RateWindow* w, Clock::time_point now, int64_t steps) {
  w->emplace_back(now, steps);
  while (w->size() > 2 && Seconds(now - w->front().first) > 10) w->pop_front();
}

double RatePerSecond(const RateWindow& w) {
  if (w.size() < 2) return 0;
  return (w.back().second - w.front().second) /
         std::max(1e-9, Seconds(w.back().first - w.front().first));
}

// config.json's keys and values as strings (LearnerStatus.hyperparameters).
void ConfigToStrings(const PpoConfig& c, std::map<std::string, std::string>* out) {
  const nlohmann::json j = ConfigToJson(c);
  for (auto it = j.begin(); it != j.end(); ++it) {
    const nlohmann::json& v = it.value();
    (*out)[it.key()] = v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump();
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// State shared by reactors and the trainer.

struct QueuedChunk {
  uint64_t session_id = 0;
  uint32_t actor_id = 0;
  std::string actor_name;
  uint64_t seq = 0;
  uint64_t policy_version = 0;
  int64_t transitions = 0;
  RolloutBatch batch;
};

class TrajectoryStream;
class WeightStream;
class MetricsStream;

struct Session {
  uint64_t id = 0;
  uint32_t actor_id = 0;
  std::string name;
  int num_envs = 0;
  bool superseded = false;
  bool final_received = false;
  uint64_t next_seq = 0;  // last processed + 1
  std::shared_ptr<TrajectoryStream> stream;
  std::shared_ptr<WeightStream> watch;
  std::unique_ptr<RewardScaler> reward_scaler;
  std::string hostname, build_version;
  uint32_t pid = 0;
  absl::Time registered_at, last_seen;
  int64_t env_steps = 0;
  uint64_t chunks = 0, chunks_dropped = 0, rounds_missed = 0;
  uint64_t chunks_rate_limited = 0;  // reads delayed by --max-chunks-per-second
  uint64_t last_policy_version = 0, lag = 0;
  RateWindow rate;  // steps/s over the last chunks
  // Expected in sync rounds: registered, connected (an actor watches weights
  // from registration on, so a watch counts before its first chunk), not done.
  bool live() const {
    return (stream != nullptr || watch != nullptr) && !final_received && !superseded;
  }
};

// A trajectory chunk decision for the reactor.
struct ChunkDecision {
  v1::ChunkAck ack;
  bool blocked = false;  // held until the queue has room; the ack comes later
};

// The newest published version, serialized once.
struct Published {
  uint64_t version = 0;
  grpc::ByteBuffer bytes;
  Clock::time_point published;  // start of publication (the update has ended)
};

class LearnerServer::Impl {
 public:
  Impl(const PpoConfig& config, const LearnerOptions& options)
      : config_(config), options_(options) {}

  absl::Status Init();
  absl::Status Start();
  absl::StatusOr<RunSummary> Wait();
  void RequestStop(const std::string& reason, bool save = true);
  void SetPaused(bool paused);
  v1::LearnerStatus Status(bool include_actors) const;
  // In-process calls carry the internal token (all roles; it never leaves
  // this process), so they pass the same checks as calls from the network.
  std::shared_ptr<grpc::Channel> InProcessChannel() {
    return server_->experimental().InProcessChannelWithInterceptors(
        grpc::ChannelArguments(), ChannelSecurity::TokenOnly(internal_token_).Interceptors());
  }
  // The bearer-token check every handler makes first (learner/server/auth.h).
  grpc::Status Authorize(grpc::CallbackServerContext* ctx, Access access) const {
    return auth_->Check(ctx->client_metadata(), access);
  }
  std::string address() const { return address_; }
  std::string metrics_address() const { return metrics_ ? metrics_->address() : std::string(); }
  // A weight snapshot published at `published` was fully written to one actor.
  void WeightsDelivered(Clock::time_point published) {
    if (metrics_) metrics_->ObserveBroadcastSeconds(Seconds(Clock::now() - published));
  }
  const std::string& run_dir() const { return run_dir_; }

  // ----- called by reactors (never with a reactor lock held)
  grpc::Status Register(const v1::RegisterRequest& req, v1::RegisterResponse* resp);
  // `wire_bytes`: the chunk's serialized size as received.
  ChunkDecision HandleChunk(const std::shared_ptr<TrajectoryStream>& stream,
                            const v1::TrajectoryChunk& chunk, size_t wire_bytes);
  // A trajectory stream message of `wire_bytes` did not parse as a
  // TrajectoryChunk: counted as received and REJECTED_INVALID (the stream
  // ends; `session_id` is the stream's, 0 if it sent no chunk before).
  void CountUnparsable(uint64_t session_id, size_t wire_bytes);
  void StreamStarted(const std::shared_ptr<TrajectoryStream>& stream);
  void StreamDone(TrajectoryStream* stream, uint64_t session_id);
  grpc::Status AttachWatch(const v1::WatchWeightsRequest& req,
                           const std::shared_ptr<WeightStream>& w);
  void WatchDone(WeightStream* w, uint64_t session_id);
  std::shared_ptr<const Published> latest() const {
    absl::MutexLock l(&pub_mu_);
    return published_;
  }
  // Metrics history for WatchMetrics: entries with update > after.
  bool NextMetrics(uint64_t after, v1::UpdateMetrics* out) const;
  void AttachMetricsWatch(const std::shared_ptr<MetricsStream>& m);
  void MetricsWatchDone(MetricsStream* m);
  // Admin.
  void RequestCheckpoint(std::function<void(absl::StatusOr<v1::CheckpointInfo>)> done);
  v1::SetHyperparametersResponse SetHyperparameters(const v1::SetHyperparametersRequest& req);
  void RequestShutdown(bool save, std::function<void(v1::ShutdownResponse)> done);
  bool paused() const {
    absl::MutexLock l(&mu_);
    return paused_;
  }
  uint64_t version() const {
    absl::MutexLock l(&mu_);
    return version_;
  }
  const LearnerOptions& options() const { return options_; }

 private:
  friend class LearnerServer;
  void TrainerLoop();
  // Pulls chunks into `parts` until a batch is ready (false: stop requested).
  bool AssembleAsync(std::vector<QueuedChunk>* parts);
  bool AssembleSync(std::vector<QueuedChunk>* parts);
  // Pops the queue front (mu_ held) and refills from blocked streams.
  QueuedChunk PopLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RefillFromBlockedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropLocked(const QueuedChunk& c, v1::ChunkOutcome reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CountRejectLocked(v1::ChunkOutcome reason, int64_t transitions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes a token from the actor's bucket; when it is empty, tells `stream`
  // to wait before reading the actor's next chunk.
  void ThrottleLocked(Session* s, TrajectoryStream* stream) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Publish();
  void ServeTrainerRequests();
  absl::StatusOr<v1::CheckpointInfo> Checkpoint();
  void FlushResumes();
  void FillRunConfig(const Session& s, v1::RunConfig* rc) const;
  v1::ChunkAck MakeAck(uint64_t seq, v1::ChunkOutcome outcome, std::string reason,
                       uint64_t next_expected) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Shutdown();
  void PrintProgress(bool force);

  PpoConfig config_;  // trainer thread's copy lives in updater_->config()
  LearnerOptions options_;
  std::string run_dir_;
  std::string address_;
  std::string instance_id_;
  EnvSpec spec_;
  ChunkSpec chunk_spec_base_;
  std::unique_ptr<PpoUpdater> updater_;
  std::unique_ptr<MetricsCsv> csv_;
  std::unique_ptr<TensorBoardWriter> tensorboard_;  // RUN_DIR/events.out.tfevents.*
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::Service> learner_service_, monitor_service_, admin_service_;
  std::shared_ptr<grpc::ServerCredentials> credentials_;  // from LoadServerSecurity
  std::unique_ptr<CallAuthorizer> auth_;                  // set in Init()
  std::string internal_token_;                            // InProcessChannel()'s; empty: no tokens
  std::thread trainer_;
  Clock::time_point start_;
  absl::Time started_at_;
  double wall_before_ = 0;  // from a resumed checkpoint

  mutable absl::Mutex mu_;
  absl::CondVar cv_;  // queue, sessions or requests changed (used with mu_)
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_save_ ABSL_GUARDED_BY(mu_) = true;
  std::string stop_reason_ ABSL_GUARDED_BY(mu_);
  bool trainer_done_ ABSL_GUARDED_BY(mu_) = false;
  v1::ServingState serving_ ABSL_GUARDED_BY(mu_) = v1::SERVING_STATE_STARTING;
  std::map<uint64_t, std::shared_ptr<Session>> sessions_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint32_t> actor_ids_ ABSL_GUARDED_BY(mu_);
  std::map<uint32_t, uint64_t> latest_session_ ABSL_GUARDED_BY(mu_);  // actor id → session
  // Every open trajectory stream (bound to a session or not yet).
  std::map<TrajectoryStream*, std::shared_ptr<TrajectoryStream>> streams_ ABSL_GUARDED_BY(mu_);
  std::deque<QueuedChunk> queue_ ABSL_GUARDED_BY(mu_);
  int64_t queue_transitions_ ABSL_GUARDED_BY(mu_) = 0;
  struct Blocked {
    std::shared_ptr<TrajectoryStream> stream;
    QueuedChunk chunk;
    uint64_t seq;
  };
  std::deque<Blocked> blocked_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::shared_ptr<TrajectoryStream>, v1::ChunkAck>> resumes_
      ABSL_GUARDED_BY(mu_);
  // Counters (chunks / transitions).
  uint64_t chunks_received_ ABSL_GUARDED_BY(mu_) = 0, chunks_trained_ ABSL_GUARDED_BY(mu_) = 0,
           chunks_queued_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t transitions_received_ ABSL_GUARDED_BY(mu_) = 0,
          transitions_trained_ ABSL_GUARDED_BY(mu_) = 0,
          transitions_queued_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<int, std::pair<uint64_t, int64_t>> dropped_ ABSL_GUARDED_BY(mu_);
  uint64_t duplicates_ ABSL_GUARDED_BY(mu_) = 0;
  LearnerTestHooks test_hooks_;  // set before Start(), then read-only
  // --max-chunks-per-second: one bucket per actor id (so re-registering does
  // not refill it), and the number of reads it delayed.
  std::map<uint32_t, TokenBucket> rate_buckets_ ABSL_GUARDED_BY(mu_);
  uint64_t chunks_rate_limited_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t env_steps_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t updates_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t sync_rounds_ ABSL_GUARDED_BY(mu_) = 0, sync_exclusions_ ABSL_GUARDED_BY(mu_) = 0;
  std::unique_ptr<EpisodeTracker> tracker_ ABSL_GUARDED_BY(mu_);
  int64_t episodes_before_ ABSL_GUARDED_BY(mu_) = 0;
  // Transitions trained by the runs this one resumed (from the checkpoint).
  // Kept out of transitions_trained_, which, like every other accounting
  // counter, counts this process only — so that the invariant holds after a
  // --resume too.
  int64_t transitions_trained_before_ ABSL_GUARDED_BY(mu_) = 0;
  RateWindow rate_ ABSL_GUARDED_BY(mu_);
  std::optional<v1::CheckpointInfo> last_checkpoint_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> hyper_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> pending_hyper_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void(absl::StatusOr<v1::CheckpointInfo>)>> checkpoint_requests_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void(v1::ShutdownResponse)>> shutdown_requests_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::UpdateMetrics> metrics_history_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<MetricsStream>> metrics_watchers_ ABSL_GUARDED_BY(mu_);
  v1::UpdateMetrics last_update_ ABSL_GUARDED_BY(mu_);
  double last_progress_ = -1;
  bool shut_down_ = false;  // Wait() completed (main thread only)

  mutable absl::Mutex pub_mu_;
  std::shared_ptr<const Published> published_ ABSL_GUARDED_BY(pub_mu_);
  std::vector<std::weak_ptr<WeightStream>> weight_watchers_ ABSL_GUARDED_BY(pub_mu_);

  // Set in Start() before anything serves; declared last so that it stops
  // scraping Status() before any other member goes away.
  std::unique_ptr<PrometheusExporter> metrics_;
};

// ---------------------------------------------------------------------------
// Reactors. Lifetime: each is owned by a shared_ptr (its `self_` plus any
// copies the server holds); OnDone drops `self_`. Finish() may run OnDone
// inline, so it is only ever called with no lock held, by the one caller that
// claimed it (finish_claimed_) — everyone else checks that flag under the
// reactor's mutex before StartRead/StartWrite.

class TrajectoryStream : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  static TrajectoryStream* Create(LearnerServer::Impl* server);

  // The server ends this stream (superseded session, replaced stream,
  // shutdown). Takes effect once the write in flight, if any, completes.
  void Abort(grpc::Status status) {
    bool finish_now = false;
    {
      absl::MutexLock l(&mu_);
      if (finish_claimed_ || finish_wanted_) return;
      finish_wanted_ = true;
      finish_status_ = status;
      if (!writing_) finish_now = finish_claimed_ = true;
    }
    if (finish_now) Finish(status);
  }

  // A held (backpressured) chunk entered the queue: ack it and read on.
  void Resume(const v1::ChunkAck& ack) {
    absl::MutexLock l(&mu_);
    if (finish_claimed_ || finish_wanted_) return;
    QueueAckLocked(ack);
    ReadNextLocked();
  }

  // The actor's rate limit (--max-chunks-per-second): the next chunk is read
  // no earlier than `t`. Called by HandleChunk, before it returns.
  void DelayNextRead(Clock::time_point t) {
    read_not_before_.store(t.time_since_epoch().count(), std::memory_order_relaxed);
  }

 private:
  explicit TrajectoryStream(LearnerServer::Impl* server) : server_(server) {}

  void OnReadDone(bool ok) override {
    if (!ok) {
      bool finish_now = false;
      {
        absl::MutexLock l(&mu_);
        reads_done_ = true;
        if (!finish_claimed_) {
          if (!finish_wanted_) {
            finish_wanted_ = true;
            finish_status_ = grpc::Status::OK;
          }
          if (!writing_) finish_now = finish_claimed_ = true;
        }
      }
      if (finish_now) Finish(finish_status_);
      return;
    }
    ++messages_;
    const size_t bytes = in_raw_.Length();
    const bool parsed =
        grpc::SerializationTraits<v1::TrajectoryChunk>::Deserialize(&in_raw_, &in_).ok();
    in_raw_.Clear();
    if (!parsed) {
      server_->CountUnparsable(session_id_, bytes);
      EndAfterAcks(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("message ", messages_, " on this stream (", bytes,
                       " bytes) does not parse as a proxima.v1.TrajectoryChunk")));
      return;
    }
    if (session_id_ == 0) session_id_ = in_.session_id();
    std::shared_ptr<TrajectoryStream> me = self_;
    if (!me) return;
    ChunkDecision d = server_->HandleChunk(me, in_, bytes);
    if (d.blocked) return;  // Resume() acks and reads on
    absl::MutexLock l(&mu_);
    if (finish_claimed_ || finish_wanted_) return;
    QueueAckLocked(d.ack);
    ReadNextLocked();
  }

  void OnWriteDone(bool ok) override {
    bool finish_now = false;
    {
      absl::MutexLock l(&mu_);
      writing_ = false;
      if (!ok) {
        // The client is gone; the read side will fail too.
        acks_.clear();
      }
      if (!acks_.empty() && (!finish_wanted_ || flush_acks_)) {
        writing_ = true;
        WriteLocked(acks_.front());
        acks_.pop_front();
      } else if (finish_wanted_ && !finish_claimed_) {
        finish_now = finish_claimed_ = true;
      }
    }
    if (finish_now) Finish(finish_status_);
  }

  // The peer is gone (connection closed, keepalive timeout, deadline). A
  // stream whose chunk is held by backpressure has no read or write pending,
  // so no other callback would tell it: without this its session would look
  // connected until the queue drains. The held chunk stays held (received).
  void OnCancel() override { Abort(grpc::Status::CANCELLED); }

  void OnDone() override {
    server_->StreamDone(this, session_id_);
    std::shared_ptr<TrajectoryStream> keep = std::move(self_);
  }

  // Reads no more, sends the acks still queued, then finishes with `status`.
  void EndAfterAcks(grpc::Status status) {
    bool finish_now = false;
    {
      absl::MutexLock l(&mu_);
      reads_done_ = true;
      if (finish_claimed_ || finish_wanted_) return;
      finish_wanted_ = true;
      flush_acks_ = true;
      finish_status_ = std::move(status);
      if (!writing_) finish_now = finish_claimed_ = true;
    }
    if (finish_now) Finish(finish_status_);
  }

  void QueueAckLocked(const v1::ChunkAck& ack) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_) {
      acks_.push_back(ack);
      return;
    }
    writing_ = true;
    WriteLocked(ack);
  }

  void WriteLocked(const v1::ChunkAck& ack) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    current_.Clear();
    bool own = false;
    (void)grpc::SerializationTraits<v1::ChunkAck>::Serialize(ack, &current_, &own);
    StartWrite(&current_);
  }

  // Reads the next chunk now, or — when the actor is over its rate limit —
  // once DelayNextRead's time has come (a one-shot alarm; nothing polls).
  void ReadNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reads_done_) return;
    const Clock::time_point at{
        Clock::duration(read_not_before_.load(std::memory_order_relaxed))};
    const Clock::duration wait = at - Clock::now();
    if (wait <= Clock::duration::zero()) {
      StartRead(&in_raw_);
      return;
    }
    // The alarm holds only a weak reference: a stream that ends meanwhile is
    // destroyed, which cancels the alarm, and the callback finds nothing.
    std::weak_ptr<TrajectoryStream> weak = self_;
    alarm_ = std::make_unique<grpc::Alarm>();
    alarm_->Set(std::chrono::system_clock::now() + wait, [weak](bool) {
      if (std::shared_ptr<TrajectoryStream> me = weak.lock()) me->ReadAfterDelay();
    });
  }

  void ReadAfterDelay() {
    absl::MutexLock l(&mu_);
    if (finish_claimed_ || finish_wanted_ || reads_done_) return;
    StartRead(&in_raw_);
  }

  LearnerServer::Impl* server_;
  std::shared_ptr<TrajectoryStream> self_;
  grpc::ByteBuffer in_raw_;
  v1::TrajectoryChunk in_;
  uint64_t session_id_ = 0;  // of the first chunk (touched by reactor callbacks only)
  uint64_t messages_ = 0;    // messages read (reactor callbacks only)
  std::atomic<Clock::rep> read_not_before_{0};
  absl::Mutex mu_;
  grpc::ByteBuffer current_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::ChunkAck> acks_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<grpc::Alarm> alarm_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_wanted_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_claimed_ ABSL_GUARDED_BY(mu_) = false;
  bool flush_acks_ ABSL_GUARDED_BY(mu_) = false;  // send queued acks before finishing
  grpc::Status finish_status_;  // written before finish_claimed_, read after
};

TrajectoryStream* TrajectoryStream::Create(LearnerServer::Impl* server) {
  auto s = std::shared_ptr<TrajectoryStream>(new TrajectoryStream(server));
  s->self_ = s;
  server->StreamStarted(s);
  s->StartRead(&s->in_raw_);
  return s.get();
}

// A server stream that pulls its next message when the previous write is
// done or Notify() says there may be a new one — so a slow client never
// builds a backlog: it gets whatever is next when it is ready.
template <typename Msg>
class PullWriter : public grpc::ServerWriteReactor<Msg> {
 public:
  void Notify() {
    absl::MutexLock l(&mu_);
    MaybeWriteLocked();
  }

  void Abort(grpc::Status status) {
    bool finish_now = false;
    {
      absl::MutexLock l(&mu_);
      if (finish_claimed_ || finish_wanted_) return;
      finish_wanted_ = true;
      finish_status_ = status;
      if (!writing_) finish_now = finish_claimed_ = true;
    }
    if (finish_now) this->Finish(finish_status_);
  }

 protected:
  // The next message, or null when there is none yet. Called with mu_ held;
  // the message must stay valid until the next call.
  virtual const Msg* NextLocked() = 0;
  // The message NextLocked() returned last was written. Called with mu_ held.
  virtual void WrittenLocked() {}

  absl::Mutex mu_;

 private:
  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finish_wanted_ || finish_claimed_) return;
    const Msg* next = NextLocked();
    if (next == nullptr) return;
    writing_ = true;
    this->StartWrite(next);
  }

  void OnWriteDone(bool ok) override {
    bool finish_now = false;
    {
      absl::MutexLock l(&mu_);
      writing_ = false;
      if (ok) WrittenLocked();
      if (!ok && !finish_wanted_) {
        finish_wanted_ = true;
        finish_status_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed");
      }
      if (finish_wanted_) {
        if (!finish_claimed_) finish_now = finish_claimed_ = true;
      } else {
        MaybeWriteLocked();
      }
    }
    if (finish_now) this->Finish(finish_status_);
  }

  void OnCancel() override { Abort(grpc::Status::CANCELLED); }

  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_wanted_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_claimed_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_;  // written before finish_claimed_, read after
};

// WatchWeights: the newest published version it has not sent yet.
class WeightStream : public PullWriter<grpc::ByteBuffer> {
 public:
  static std::shared_ptr<WeightStream> Make(LearnerServer::Impl* server, uint64_t session_id,
                                            std::optional<uint64_t> have) {
    auto w = std::shared_ptr<WeightStream>(new WeightStream(server, session_id, have));
    w->self_ = w;
    return w;
  }

 private:
  WeightStream(LearnerServer::Impl* server, uint64_t session_id, std::optional<uint64_t> have)
      : server_(server), session_id_(session_id), sent_(have) {}

  const grpc::ByteBuffer* NextLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::shared_ptr<const Published> p = server_->latest();
    if (!p || (sent_.has_value() && p->version <= *sent_)) return nullptr;
    current_ = std::move(p);
    sent_ = current_->version;
    return &current_->bytes;
  }

  // Latency counts from publication, or from when this actor started
  // watching if that was later (the first snapshot it gets).
  void WrittenLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    server_->WeightsDelivered(std::max(current_->published, attached_));
  }

  void OnDone() override {
    server_->WatchDone(this, session_id_);
    std::shared_ptr<WeightStream> keep = std::move(self_);
  }

  LearnerServer::Impl* server_;
  std::shared_ptr<WeightStream> self_;
  const uint64_t session_id_;
  const Clock::time_point attached_ = Clock::now();
  std::optional<uint64_t> sent_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const Published> current_ ABSL_GUARDED_BY(mu_);
};

// WatchMetrics: every UpdateMetrics after `after_update`, in order.
class MetricsStream : public PullWriter<v1::UpdateMetrics> {
 public:
  static std::shared_ptr<MetricsStream> Make(LearnerServer::Impl* server, uint64_t after) {
    auto m = std::shared_ptr<MetricsStream>(new MetricsStream(server, after));
    m->self_ = m;
    return m;
  }

 private:
  MetricsStream(LearnerServer::Impl* server, uint64_t after) : server_(server), after_(after) {}

  const v1::UpdateMetrics* NextLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!server_->NextMetrics(after_, &current_)) return nullptr;
    after_ = current_.update();
    return &current_;
  }

  void OnDone() override {
    server_->MetricsWatchDone(this);
    std::shared_ptr<MetricsStream> keep = std::move(self_);
  }

  LearnerServer::Impl* server_;
  std::shared_ptr<MetricsStream> self_;
  uint64_t after_ ABSL_GUARDED_BY(mu_);
  v1::UpdateMetrics current_ ABSL_GUARDED_BY(mu_);
};

// ---------------------------------------------------------------------------
// Services.

using LearnerBase = v1::Learner::WithRawCallbackMethod_WatchWeights<
    v1::Learner::WithCallbackMethod_Register<
        v1::Learner::WithRawCallbackMethod_StreamTrajectories<v1::Learner::Service>>>;

class LearnerServiceImpl final : public LearnerBase {
 public:
  explicit LearnerServiceImpl(LearnerServer::Impl* s) : s_(s) {}

  grpc::ServerUnaryReactor* Register(grpc::CallbackServerContext* ctx,
                                     const v1::RegisterRequest* req,
                                     v1::RegisterResponse* resp) override {
    grpc::Status auth = s_->Authorize(ctx, Access::kLearner);
    if (!auth.ok()) return RejectUnary(ctx, auth);
    grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
    r->Finish(s_->Register(*req, resp));
    return r;
  }

  // Raw (ByteBuffer) so that a message which does not parse is seen, counted
  // and answered with INVALID_ARGUMENT instead of looking like a half-close.
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* StreamTrajectories(
      grpc::CallbackServerContext* ctx) override {
    grpc::Status auth = s_->Authorize(ctx, Access::kLearner);
    if (!auth.ok()) return RejectedBidiStream<grpc::ByteBuffer, grpc::ByteBuffer>::Create(auth);
    return TrajectoryStream::Create(s_);
  }

  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchWeights(
      grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* raw) override {
    grpc::Status auth = s_->Authorize(ctx, Access::kLearner);
    if (!auth.ok()) return RejectedWriteStream<grpc::ByteBuffer>::Create(auth);
    v1::WatchWeightsRequest req;
    grpc::ByteBuffer copy(*raw);
    grpc::Status parsed =
        grpc::SerializationTraits<v1::WatchWeightsRequest>::Deserialize(&copy, &req);
    std::optional<uint64_t> have;
    if (req.has_have_version()) have = req.have_version();
    std::shared_ptr<WeightStream> w = WeightStream::Make(s_, req.session_id(), have);
    grpc::Status s = parsed.ok() ? s_->AttachWatch(req, w)
                                 : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                                "WatchWeightsRequest does not parse");
    if (!s.ok()) {
      w->Abort(s);
    } else {
      w->Notify();
    }
    return w.get();
  }

 private:
  LearnerServer::Impl* s_;
};

class MonitorServiceImpl final : public v1::Monitor::CallbackService {
 public:
  explicit MonitorServiceImpl(LearnerServer::Impl* s) : s_(s) {}
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* ctx,
                                      const v1::GetStatusRequest* req,
                                      v1::LearnerStatus* resp) override {
    grpc::Status auth = s_->Authorize(ctx, Access::kMonitor);
    if (!auth.ok()) return RejectUnary(ctx, auth);
    *resp = s_->Status(req->include_actors());
    grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
  grpc::ServerUnaryReactor* ListActors(grpc::CallbackServerContext* ctx,
                                       const v1::ListActorsRequest* req,
                                       v1::ListActorsResponse* resp) override {
    grpc::Status auth = s_->Authorize(ctx, Access::kMonitor);
    if (!auth.ok()) return RejectUnary(ctx, auth);
    v1::LearnerStatus st = s_->Status(true);
    for (const v1::ActorInfo& a : st.actors()) {
      if (req->include_inactive() || a.state() == v1::ACTOR_STATE_CONNECTED) {
        *resp->add_actors() = a;
      }
    }
    resp->set_policy_version(st.policy_version());
    *resp->mutable_as_of() = st.as_of();
    grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
  grpc::ServerWriteReactor<v1::UpdateMetrics>* WatchMetrics(
      grpc::CallbackServerContext* ctx, const v1::WatchMetricsRequest* req) override {
    grpc::Status auth = s_->Authorize(ctx, Access::kMonitor);
    if (!auth.ok()) return RejectedWriteStream<v1::UpdateMetrics>::Create(auth);
    const uint64_t after =
        req->has_after_update() ? req->after_update() : s_->Status(false).updates();
    std::shared_ptr<MetricsStream> m = MetricsStream::Make(s_, after);
    s_->AttachMetricsWatch(m);
    m->Notify();
    return m.get();
  }

 private:
  LearnerServer::Impl* s_;
};

class AdminServiceImpl final : public v1::Admin::CallbackService {
 public:
  explicit AdminServiceImpl(LearnerServer::Impl* s) : s_(s) {}
  grpc::ServerUnaryReactor* SaveCheckpoint(grpc::CallbackServerContext* ctx,
                                           const v1::SaveCheckpointRequest*,
                                           v1::SaveCheckpointResponse* resp) override {
    grpc::Status auth = s_->Authorize(ctx, Access::kAdmin);
    if (!auth.ok()) return RejectUnary(ctx, auth);
    grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
    s_->RequestCheckpoint([r, resp](absl::StatusOr<v1::CheckpointInfo> info) {
      if (!info.ok()) {
        r->Finish(ToGrpcStatus(info.status()));
        return;
      }
      *resp->mutable_checkpoint() = *info;
      r->Finish(grpc::Status::OK);
    });
    return r;
  }
  grpc::ServerUnaryReactor* Pause(grpc::CallbackServerContext* ctx, const v1::PauseRequest* req,
                                  v1::PauseResponse* resp) override {
    grpc::Status auth = s_->Authorize(ctx, Access::kAdmin);
    if (!auth.ok()) return RejectUnary(ctx, auth);
    resp->set_was_paused(s_->paused());
    s_->SetPaused(true);
    std::fprintf(stderr, "proxima-learner: paused%s%s\n", req->reason().empty() ? "" : ": ",
                 req->reason().c_str());
    resp->set_policy_version(s_->version());
    grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
  grpc::ServerUnaryReactor* Resume(grpc::CallbackServerContext* ctx, const v1::ResumeRequest*,
                                   v1::ResumeResponse* resp) override {
    grpc::Status auth = s_->Authorize(ctx, Access::kAdmin);
    if (!auth.ok()) return RejectUnary(ctx, auth);
    resp->set_was_paused(s_->paused());
    s_->SetPaused(false);
    std::fprintf(stderr, "proxima-learner: resumed\n");
    resp->set_policy_version(s_->version());
    grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
  grpc::ServerUnaryReactor* SetHyperparameters(grpc::CallbackServerContext* ctx,
                                               const v1::SetHyperparametersRequest* req,
                                               v1::SetHyperparametersResponse* resp) override {
    grpc::Status auth = s_->Authorize(ctx, Access::kAdmin);
    if (!auth.ok()) return RejectUnary(ctx, auth);
    *resp = s_->SetHyperparameters(*req);
    grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
  grpc::ServerUnaryReactor* Shutdown(grpc::CallbackServerContext* ctx,
                                     const v1::ShutdownRequest* req,
                                     v1::ShutdownResponse* resp) override {
    grpc::Status auth = s_->Authorize(ctx, Access::kAdmin);
    if (!auth.ok()) return RejectUnary(ctx, auth);
    grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
    s_->RequestShutdown(req->save_checkpoint(), [r, resp](v1::ShutdownResponse out) {
      *resp = std::move(out);
      r->Finish(grpc::Status::OK);
    });
    return r;
  }

 private:
  LearnerServer::Impl* s_;
};

// ---------------------------------------------------------------------------
// Impl: set-up.

absl::Status LearnerServer::Impl::Init() {
  start_ = Clock::now();
  started_at_ = absl::Now();
  PROXIMA_RETURN_IF_ERROR(options_.Validate());
  {
    // Before anything is created: bad certificates or tokens are flag errors.
    PROXIMA_ASSIGN_OR_RETURN(ServerSecurity security, LoadServerSecurity(options_));
    std::fprintf(stderr, "proxima-learner: channel security: %s\n",
                 DescribeServerSecurity(security).c_str());
    credentials_ = security.credentials;
    if (!security.tokens.empty()) {
      internal_token_ = RandomToken();
      for (Role r : {Role::kActor, Role::kMonitor, Role::kAdmin}) {
        security.tokens.Add(r, internal_token_);
      }
    }
    auth_ = std::make_unique<CallAuthorizer>(std::move(security.tokens));
    options_.auth_tokens.clear();  // the table holds them now
  }
  std::optional<LoadedCheckpoint> resume;
  if (!options_.resume_dir.empty()) {
    run_dir_ = options_.resume_dir;
    absl::StatusOr<LoadedCheckpoint> found =
        FindLatestCheckpoint(run_dir_ + "/checkpoints");
    if (found.ok()) {
      resume = std::move(*found);
      config_ = resume->config;
      if (options_.resume_total_steps.has_value() &&
          *options_.resume_total_steps != config_.total_steps) {
        std::fprintf(stderr, "proxima-learner: step budget %lld (was %lld in the checkpoint)\n",
                     static_cast<long long>(*options_.resume_total_steps),
                     static_cast<long long>(config_.total_steps));
        config_.total_steps = *options_.resume_total_steps;
      }
    } else if (found.status().code() == absl::StatusCode::kNotFound) {
      std::fprintf(stderr, "proxima-learner: no checkpoint in %s/checkpoints; starting a new run\n",
                   run_dir_.c_str());
    } else {
      return found.status();
    }
  } else {
    run_dir_ = options_.run_dir.empty()
                   ? DefaultRunDir(config_.env_id, config_.seed)
                   : options_.run_dir;
  }
  PROXIMA_RETURN_IF_ERROR(config_.Validate());
  PROXIMA_ASSIGN_OR_RETURN(spec_, GetEnvSpec(config_.env_id));
  PROXIMA_ASSIGN_OR_RETURN(torch::Device device, ResolveDevice(config_.device));
  ConfigureCpuThreads(config_.torch_threads);
  PROXIMA_ASSIGN_OR_RETURN(updater_, PpoUpdater::Create(config_, spec_, device));
  {
    absl::MutexLock l(&mu_);
    tracker_ = std::make_unique<EpisodeTracker>(
        spec_.has_reward_threshold ? std::optional<double>(spec_.reward_threshold)
                                   : std::nullopt);
  }
  if (resume) {
    PROXIMA_RETURN_IF_ERROR(RestoreCheckpoint(resume->path, *updater_));
    absl::MutexLock l(&mu_);
    const CheckpointCounters& c = resume->counters;
    version_ = c.policy_version;
    env_steps_ = c.env_steps;
    transitions_trained_before_ = c.transitions_trained;
    updates_ = c.updates;
    episodes_before_ = c.episodes;
    actor_ids_ = c.actor_ids;
    wall_before_ = c.wall_seconds;
    std::fprintf(stderr, "proxima-learner: resumed %s at version %llu (%lld env steps)\n",
                 resume->path.c_str(), static_cast<unsigned long long>(version_),
                 static_cast<long long>(env_steps_));
  }
  PROXIMA_RETURN_IF_ERROR(InitRunDir(run_dir_, config_));
  PROXIMA_RETURN_IF_ERROR(MakeDirs(run_dir_ + "/checkpoints"));
  PROXIMA_ASSIGN_OR_RETURN(csv_, MetricsCsv::Open(run_dir_ + "/metrics.csv"));
  PROXIMA_ASSIGN_OR_RETURN(tensorboard_, TensorBoardWriter::Open(run_dir_));
  if (options_.queue_capacity == 0) {
    options_.queue_capacity = 2 * static_cast<int64_t>(config_.batch_size());
  }
  chunk_spec_base_.obs_dim = spec_.obs_dim();
  chunk_spec_base_.action_space = spec_.action_space;
  chunk_spec_base_.rollout_length = config_.rollout_length;
  {
    Rng rng(MixSeed(static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())) ^ ::getpid()));
    instance_id_ = absl::StrFormat("%s-%d-%016x", config_.env_id, ::getpid(),
                                   static_cast<unsigned long long>(rng.UniformInt(~0ULL)));
  }
  absl::MutexLock l(&mu_);
  ConfigToStrings(config_, &hyper_);
  hyper_["mode"] = options_.mode == TrainingModeKind::kSync ? "sync" : "async";
  hyper_["max_policy_lag"] = absl::StrCat(options_.max_policy_lag);
  return absl::OkStatus();
}

absl::Status LearnerServer::Impl::Start() {
  if (!options_.metrics_listen.empty()) {
    PROXIMA_ASSIGN_OR_RETURN(metrics_, PrometheusExporter::Start(options_.metrics_listen, [this] {
                               return Status(false);
                             }));
    PROXIMA_RETURN_IF_ERROR(
        WriteFileAtomic(run_dir_ + "/metrics.addr", metrics_->address() + "\n"));
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  learner_service_ = std::make_unique<LearnerServiceImpl>(this);
  monitor_service_ = std::make_unique<MonitorServiceImpl>(this);
  admin_service_ = std::make_unique<AdminServiceImpl>(this);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options_.listen, credentials_, &port);
  builder.RegisterService(learner_service_.get());
  builder.RegisterService(monitor_service_.get());
  builder.RegisterService(admin_service_.get());
  // Above --max-message-bytes so that a chunk somewhat too large is read,
  // rejected and counted (REJECTED_TOO_LARGE); anything larger is refused
  // by gRPC unread.
  builder.SetMaxReceiveMessageSize(options_.TransportMessageLimit());
  builder.SetMaxSendMessageSize(static_cast<int>(options_.max_message_bytes));
  const int keepalive_ms = static_cast<int>(options_.keepalive_seconds * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, keepalive_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             static_cast<int>(options_.keepalive_timeout_seconds * 1000));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Clients ping at keepalive_seconds; permit twice that rate so that no
  // well-configured actor is ever answered with too_many_pings.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             keepalive_ms / 2);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen,
                                               " (address in use or invalid?)"));
  }
  address_ = DialableAddress(options_.listen, port);
  Publish();
  PROXIMA_RETURN_IF_ERROR(WriteFileAtomic(run_dir_ + "/learner.addr", address_ + "\n"));
  {
    absl::MutexLock l(&mu_);
    serving_ = v1::SERVING_STATE_SERVING;
  }
  server_->GetHealthCheckService()->SetServingStatus(true);
  trainer_ = std::thread([this] { TrainerLoop(); });
  return absl::OkStatus();
}

void LearnerServer::Impl::FillRunConfig(const Session& s, v1::RunConfig* rc) const {
  const PpoConfig& c = config_;
  rc->set_env_id(c.env_id);
  EnvSpecToProto(spec_, rc->mutable_env_spec());
  ModelSpecToProto(c.model, spec_.obs_dim(), spec_.action_space, rc->mutable_model());
  rc->set_rollout_length(static_cast<uint32_t>(c.rollout_length));
  rc->set_num_envs(static_cast<uint32_t>(s.num_envs));
  v1::SeedConfig* seeds = rc->mutable_seeds();
  seeds->set_run_seed(c.seed);
  // Seeds follow the actor id, which is stable for a name: a restarted actor
  // continues with the same seeds, different actors never share one.
  seeds->set_env_seed_base(c.seed + static_cast<uint64_t>(s.actor_id) * 65536);
  seeds->set_action_seed(MixSeed(c.seed ^ (0xac7105eedULL + s.actor_id)));
  rc->set_mode(options_.mode == TrainingModeKind::kSync ? v1::TRAINING_MODE_SYNC
                                                        : v1::TRAINING_MODE_ASYNC);
  rc->set_max_policy_lag(static_cast<uint32_t>(options_.max_policy_lag));
  v1::ChannelHints* ch = rc->mutable_channel();
  ch->set_max_message_bytes(static_cast<uint64_t>(options_.max_message_bytes));
  SetDuration(options_.keepalive_seconds, ch->mutable_keepalive_time());
  SetDuration(options_.keepalive_timeout_seconds, ch->mutable_keepalive_timeout());
  SetDuration(10, ch->mutable_unary_deadline());
  SetDuration(0.1, ch->mutable_reconnect_backoff_initial());
  SetDuration(5, ch->mutable_reconnect_backoff_max());
  ch->set_max_unacked_chunks(static_cast<uint32_t>(options_.max_unacked_chunks));
  SetDuration(options_.sync_round_timeout_seconds, ch->mutable_sync_round_timeout());
}

// ---------------------------------------------------------------------------
// Impl: Learner service.

grpc::Status LearnerServer::Impl::Register(const v1::RegisterRequest& req,
                                           v1::RegisterResponse* resp) {
  if (req.actor_name().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "actor_name: must not be empty");
  }
  if (req.protocol_version() != v1::PROTOCOL_VERSION_1) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("protocol_version ", req.protocol_version(),
                                     " is not supported; this learner speaks 1"));
  }
  // A remote env (remote://HOST:PORT) is built by connecting to its server,
  // which any actor can try: it is never in an actor's list.
  if (req.available_env_ids_size() > 0 && !IsRemoteEnvId(config_.env_id) &&
      std::find(req.available_env_ids().begin(), req.available_env_ids().end(),
                config_.env_id) == req.available_env_ids().end()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("this run trains ", config_.env_id,
                                     ", which the actor cannot build"));
  }
  int num_envs = static_cast<int>(req.num_envs());
  if (num_envs == 0) {
    num_envs = options_.actor_num_envs > 0 ? options_.actor_num_envs : config_.num_envs;
  }
  num_envs = std::min(num_envs, 65536);
  // A chunk must fit the queue, or it could never be enqueued.
  const int64_t max_envs = std::max<int64_t>(1, options_.queue_capacity / config_.rollout_length);
  num_envs = static_cast<int>(std::min<int64_t>(num_envs, max_envs));
  std::vector<std::shared_ptr<TrajectoryStream>> abort_streams;
  std::vector<std::shared_ptr<WeightStream>> abort_watches;
  {
    absl::MutexLock l(&mu_);
    if (serving_ != v1::SERVING_STATE_SERVING) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the learner is not serving");
    }
    auto it = actor_ids_.find(req.actor_name());
    uint32_t id;
    if (it != actor_ids_.end()) {
      id = it->second;
    } else {
      if (static_cast<int>(actor_ids_.size()) >= options_.max_actors) {
        return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            absl::StrCat("the learner's actor limit (--max-actors=",
                                         options_.max_actors, ") is reached"));
      }
      id = static_cast<uint32_t>(actor_ids_.size());
      actor_ids_[req.actor_name()] = id;
    }
    auto prev = latest_session_.find(id);
    if (prev != latest_session_.end()) {
      auto ps = sessions_.find(prev->second);
      if (ps != sessions_.end()) {
        ps->second->superseded = true;
        if (ps->second->stream) abort_streams.push_back(ps->second->stream);
        if (ps->second->watch) abort_watches.push_back(ps->second->watch);
        ps->second->reward_scaler.reset();
      }
    }
    auto s = std::make_shared<Session>();
    static thread_local std::mt19937_64 rng(std::random_device{}());
    do {
      s->id = rng();
    } while (s->id == 0 || sessions_.count(s->id));
    s->actor_id = id;
    s->name = req.actor_name();
    s->num_envs = num_envs;
    s->hostname = req.hostname();
    s->pid = req.pid();
    s->build_version = req.build_version();
    s->registered_at = s->last_seen = absl::Now();
    if (config_.normalize_reward) {
      s->reward_scaler =
          std::make_unique<RewardScaler>(num_envs, config_.gamma, config_.reward_clip);
    }
    sessions_[s->id] = s;
    latest_session_[id] = s->id;
    resp->set_actor_id(id);
    resp->set_session_id(s->id);
    resp->set_protocol_version(v1::PROTOCOL_VERSION_1);
    FillRunConfig(*s, resp->mutable_config());
    resp->set_policy_version(version_);
    resp->set_learner_instance_id(instance_id_);
  }
  const grpc::Status superseded(grpc::StatusCode::ABORTED,
                                "the session was superseded by a newer registration");
  for (auto& s : abort_streams) s->Abort(superseded);
  for (auto& w : abort_watches) w->Abort(superseded);
  cv_.SignalAll();
  std::fprintf(stderr, "proxima-learner: actor %u '%s' registered (session %016llx, %d envs)\n",
               resp->actor_id(), req.actor_name().c_str(),
               static_cast<unsigned long long>(resp->session_id()), num_envs);
  return grpc::Status::OK;
}

v1::ChunkAck LearnerServer::Impl::MakeAck(uint64_t seq, v1::ChunkOutcome outcome,
                                          std::string reason, uint64_t next_expected) const {
  v1::ChunkAck ack;
  ack.set_seq(seq);
  ack.set_outcome(outcome);
  ack.set_reason(std::move(reason));
  ack.set_learner_policy_version(version_);
  ack.set_next_expected_seq(next_expected);
  ack.set_paused(paused_);
  return ack;
}

void LearnerServer::Impl::CountRejectLocked(v1::ChunkOutcome reason, int64_t transitions) {
  ++chunks_received_;
  transitions_received_ += transitions;
  auto& d = dropped_[reason];
  ++d.first;
  d.second += transitions;
}

void LearnerServer::Impl::ThrottleLocked(Session* s, TrajectoryStream* stream) {
  const double rate = options_.max_chunks_per_second;
  if (!(rate > 0)) return;
  const Clock::time_point now = Clock::now();
  auto it = rate_buckets_.find(s->actor_id);
  if (it == rate_buckets_.end()) {
    it = rate_buckets_.emplace(s->actor_id, TokenBucket(rate, DefaultChunkBurst(rate), now)).first;
  }
  const Clock::duration wait = it->second.Take(now);
  if (wait <= Clock::duration::zero()) return;
  ++chunks_rate_limited_;
  ++s->chunks_rate_limited;
  stream->DelayNextRead(now + wait);
}

void LearnerServer::Impl::CountUnparsable(uint64_t session_id, size_t wire_bytes) {
  uint32_t actor_id = 0;
  bool known = false;
  {
    absl::MutexLock l(&mu_);
    CountRejectLocked(v1::CHUNK_OUTCOME_REJECTED_INVALID, 0);
    auto it = sessions_.find(session_id);
    if (it != sessions_.end()) {
      known = true;
      actor_id = it->second->actor_id;
      ++it->second->chunks_dropped;
      it->second->last_seen = absl::Now();
    }
  }
  const std::string who = known ? absl::StrCat(" of actor ", actor_id) : std::string();
  std::fprintf(stderr,
               "proxima-learner: ended a trajectory stream%s: a message of %zu bytes does not "
               "parse as a TrajectoryChunk\n",
               who.c_str(), wire_bytes);
}

ChunkDecision LearnerServer::Impl::HandleChunk(const std::shared_ptr<TrajectoryStream>& stream,
                                               const v1::TrajectoryChunk& chunk,
                                               size_t wire_bytes) {
  ChunkDecision d;
  const uint64_t seq = chunk.seq();
  // Transitions a rejected chunk counts: as declared, but at most its size in
  // bytes (a real chunk carries at least one byte per transition), so that a
  // lying header can neither inflate nor overflow the counters.
  const int64_t claimed = static_cast<int64_t>(
      std::min<uint64_t>(static_cast<uint64_t>(chunk.num_steps()) * chunk.num_envs(),
                         static_cast<uint64_t>(wire_bytes)));
  std::shared_ptr<TrajectoryStream> replaced;
  ChunkSpec cs = chunk_spec_base_;
  bool decided = true;
  {
    absl::MutexLock l(&mu_);
    auto it = sessions_.find(chunk.session_id());
    Session* s = it == sessions_.end() ? nullptr : it->second.get();
    if (s != nullptr) ThrottleLocked(s, stream.get());
    if (serving_ != v1::SERVING_STATE_SERVING) {
      CountRejectLocked(v1::CHUNK_OUTCOME_REJECTED_SHUTTING_DOWN, claimed);
      d.ack = MakeAck(seq, v1::CHUNK_OUTCOME_REJECTED_SHUTTING_DOWN, "the learner is stopping",
                      0);
    } else if (s == nullptr) {
      CountRejectLocked(v1::CHUNK_OUTCOME_REJECTED_UNKNOWN_SESSION, claimed);
      d.ack = MakeAck(seq, v1::CHUNK_OUTCOME_REJECTED_UNKNOWN_SESSION,
                      absl::StrFormat("session_id: %016x was not issued by this learner; "
                                      "register again",
                                      chunk.session_id()),
                      0);
    } else if (s->superseded) {
      s->last_seen = absl::Now();
      CountRejectLocked(v1::CHUNK_OUTCOME_REJECTED_STALE_SESSION, claimed);
      ++s->chunks_dropped;
      d.ack = MakeAck(seq, v1::CHUNK_OUTCOME_REJECTED_STALE_SESSION,
                      "session_id: superseded by a newer registration of this actor", 0);
    } else {
      s->last_seen = absl::Now();
      if (s->stream != stream) {
        replaced = s->stream;  // a newer stream for the same session wins
        s->stream = stream;
      }
      if (chunk.actor_id() != s->actor_id) {
        CountRejectLocked(v1::CHUNK_OUTCOME_REJECTED_INVALID, claimed);
        ++s->chunks_dropped;
        d.ack = MakeAck(seq, v1::CHUNK_OUTCOME_REJECTED_INVALID,
                        absl::StrCat("actor_id: ", chunk.actor_id(), " is not this session's (",
                                     s->actor_id, ")"),
                        s->next_seq);
      } else if (seq < s->next_seq) {
        ++duplicates_;
        d.ack = MakeAck(seq, v1::CHUNK_OUTCOME_DUPLICATE, "already processed", s->next_seq);
      } else if (seq > s->next_seq) {
        CountRejectLocked(v1::CHUNK_OUTCOME_REJECTED_OUT_OF_ORDER, claimed);
        ++s->chunks_dropped;
        d.ack = MakeAck(seq, v1::CHUNK_OUTCOME_REJECTED_OUT_OF_ORDER,
                        absl::StrCat("seq: expected ", s->next_seq, ", got ", seq), s->next_seq);
      } else if (wire_bytes > static_cast<uint64_t>(options_.max_message_bytes)) {
        CountRejectLocked(v1::CHUNK_OUTCOME_REJECTED_TOO_LARGE, claimed);
        ++s->chunks_dropped;
        s->next_seq = seq + 1;
        d.ack = MakeAck(seq, v1::CHUNK_OUTCOME_REJECTED_TOO_LARGE,
                        absl::StrCat("message: ", wire_bytes, " bytes, above the learner's "
                                     "--max-message-bytes=", options_.max_message_bytes),
                        s->next_seq);
      } else if (s->final_received) {
        CountRejectLocked(v1::CHUNK_OUTCOME_REJECTED_INVALID, claimed);
        ++s->chunks_dropped;
        d.ack = MakeAck(seq, v1::CHUNK_OUTCOME_REJECTED_INVALID,
                        "final: the session already sent its final chunk", s->next_seq);
      } else if (chunk.policy_version() > version_) {
        CountRejectLocked(v1::CHUNK_OUTCOME_REJECTED_INVALID, claimed);
        ++s->chunks_dropped;
        s->next_seq = seq + 1;
        d.ack = MakeAck(seq, v1::CHUNK_OUTCOME_REJECTED_INVALID,
                        absl::StrCat("policy_version: ", chunk.policy_version(),
                                     " is newer than the learner's newest version ", version_),
                        s->next_seq);
      } else {
        cs.num_envs = s->num_envs;
        decided = false;
      }
    }
  }
  if (replaced) {
    replaced->Abort(
        grpc::Status(grpc::StatusCode::ABORTED, "a newer stream for this session replaced this one"));
  }
  if (decided) return d;

  // Payload checks and decoding, outside the lock.
  const bool discrete = spec_.action_space.is_discrete();
  absl::Status valid = ValidateChunkPayload(chunk, cs);
  QueuedChunk q;
  std::vector<EpisodeRecord> episodes;
  if (valid.ok()) {
    q.session_id = chunk.session_id();
    q.actor_id = chunk.actor_id();
    q.seq = seq;
    q.policy_version = chunk.policy_version();
    q.batch = DecodeChunk(chunk, discrete);
    q.transitions = static_cast<int64_t>(q.batch.num_steps) * q.batch.num_envs;
    episodes = ChunkEpisodes(chunk);
  }

  absl::MutexLock l(&mu_);
  auto it = sessions_.find(chunk.session_id());
  Session* s = it == sessions_.end() ? nullptr : it->second.get();
  if (s == nullptr || s->superseded) {
    CountRejectLocked(v1::CHUNK_OUTCOME_REJECTED_STALE_SESSION, claimed);
    d.ack = MakeAck(seq, v1::CHUNK_OUTCOME_REJECTED_STALE_SESSION,
                    "session_id: superseded by a newer registration of this actor", 0);
    return d;
  }
  if (seq != s->next_seq) {  // raced with a resend on a newer stream
    ++duplicates_;
    d.ack = MakeAck(seq, v1::CHUNK_OUTCOME_DUPLICATE, "already processed", s->next_seq);
    return d;
  }
  s->next_seq = seq + 1;
  if (!valid.ok()) {
    CountRejectLocked(v1::CHUNK_OUTCOME_REJECTED_INVALID, claimed);
    ++s->chunks_dropped;
    d.ack = MakeAck(seq, v1::CHUNK_OUTCOME_REJECTED_INVALID, std::string(valid.message()),
                    s->next_seq);
    std::fprintf(stderr, "proxima-learner: rejected chunk %llu of actor %u: %s\n",
                 static_cast<unsigned long long>(seq), s->actor_id,
                 std::string(valid.message()).c_str());
    return d;
  }
  if (chunk.final()) s->final_received = true;
  q.actor_name = s->name;
  const uint64_t lag = version_ - q.policy_version;
  s->last_policy_version = q.policy_version;
  s->lag = lag;
  ++s->chunks;
  // Lag only grows while queued: drop now what is already too old.
  const bool sync = options_.mode == TrainingModeKind::kSync;
  if ((!sync && lag > static_cast<uint64_t>(options_.max_policy_lag)) || (sync && lag > 0)) {
    const v1::ChunkOutcome why =
        sync ? v1::CHUNK_OUTCOME_DROPPED_LATE_FOR_ROUND : v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG;
    CountRejectLocked(why, q.transitions);
    ++s->chunks_dropped;
    d.ack = MakeAck(seq, why, absl::StrCat("policy lag ", lag), s->next_seq);
    cv_.SignalAll();
    return d;
  }
  // Accepted: count the data in, scale rewards in session order, record
  // episodes.
  if (s->reward_scaler && q.transitions > 0) {
    float* r = q.batch.rewards.data_ptr<float>();
    const uint8_t* term = q.batch.terminated.data_ptr<uint8_t>();
    for (int t = 0; t < q.batch.num_steps; ++t) {
      s->reward_scaler->ScaleStep(r + static_cast<int64_t>(t) * s->num_envs,
                                  term + static_cast<int64_t>(t) * s->num_envs);
    }
  }
  env_steps_ += q.transitions;
  s->env_steps += q.transitions;
  const Clock::time_point now = Clock::now();
  AddRateSample(&s->rate, now, s->env_steps);
  const double elapsed = wall_before_ + Seconds(now - start_);
  for (const EpisodeRecord& e : episodes) {
    tracker_->Add(e.episode_return, static_cast<int>(e.length), env_steps_, elapsed);
  }
  ++chunks_received_;
  transitions_received_ += q.transitions;
  ++chunks_queued_;
  transitions_queued_ += q.transitions;
  if (q.transitions == 0) {
    // An empty final chunk: nothing to train on.
    --chunks_queued_;
    ++chunks_trained_;
    if (test_hooks_.on_chunk_done) {
      test_hooks_.on_chunk_done(q.actor_name, q.seq, 0, v1::CHUNK_OUTCOME_ACCEPTED);
    }
    d.ack = MakeAck(seq, v1::CHUNK_OUTCOME_ACCEPTED, "", s->next_seq);
    cv_.SignalAll();
    return d;
  }
  if (blocked_.empty() &&
      (queue_.empty() || queue_transitions_ + q.transitions <= options_.queue_capacity)) {
    queue_transitions_ += q.transitions;
    queue_.push_back(std::move(q));
    d.ack = MakeAck(seq, v1::CHUNK_OUTCOME_ACCEPTED, "", s->next_seq);
  } else {
    // Full: hold the chunk, read nothing more from this stream.
    blocked_.push_back(Blocked{stream, std::move(q), seq});
    d.blocked = true;
  }
  cv_.SignalAll();
  return d;
}

void LearnerServer::Impl::RefillFromBlockedLocked() {
  while (!blocked_.empty() &&
         (queue_.empty() ||
          queue_transitions_ + blocked_.front().chunk.transitions <= options_.queue_capacity)) {
    Blocked b = std::move(blocked_.front());
    blocked_.pop_front();
    const uint64_t session = b.chunk.session_id;
    queue_transitions_ += b.chunk.transitions;
    queue_.push_back(std::move(b.chunk));
    auto it = sessions_.find(session);
    const uint64_t next = it == sessions_.end() ? 0 : it->second->next_seq;
    resumes_.emplace_back(b.stream, MakeAck(b.seq, v1::CHUNK_OUTCOME_ACCEPTED, "", next));
  }
}

QueuedChunk LearnerServer::Impl::PopLocked() {
  QueuedChunk c = std::move(queue_.front());
  queue_.pop_front();
  queue_transitions_ -= c.transitions;
  RefillFromBlockedLocked();
  return c;
}

void LearnerServer::Impl::FlushResumes() {
  std::vector<std::pair<std::shared_ptr<TrajectoryStream>, v1::ChunkAck>> todo;
  {
    absl::MutexLock l(&mu_);
    todo.swap(resumes_);
  }
  for (auto& [stream, ack] : todo) stream->Resume(ack);
}

void LearnerServer::Impl::DropLocked(const QueuedChunk& c, v1::ChunkOutcome reason) {
  --chunks_queued_;
  transitions_queued_ -= c.transitions;
  auto& d = dropped_[reason];
  ++d.first;
  d.second += c.transitions;
  auto it = sessions_.find(c.session_id);
  if (it != sessions_.end()) ++it->second->chunks_dropped;
  if (test_hooks_.on_chunk_done) test_hooks_.on_chunk_done(c.actor_name, c.seq, c.transitions, reason);
}

void LearnerServer::Impl::StreamStarted(const std::shared_ptr<TrajectoryStream>& stream) {
  absl::MutexLock l(&mu_);
  streams_[stream.get()] = stream;
}

void LearnerServer::Impl::StreamDone(TrajectoryStream* stream, uint64_t session_id) {
  absl::MutexLock l(&mu_);
  streams_.erase(stream);
  auto it = sessions_.find(session_id);
  if (it != sessions_.end() && it->second->stream.get() == stream) it->second->stream.reset();
  // A chunk this stream had held back (full queue) stays held: it was
  // received, so the actor's resend on its next stream is a DUPLICATE and the
  // data is trained exactly once.
  cv_.SignalAll();
}

grpc::Status LearnerServer::Impl::AttachWatch(const v1::WatchWeightsRequest& req,
                                              const std::shared_ptr<WeightStream>& w) {
  std::shared_ptr<WeightStream> old;
  {
    absl::MutexLock l(&mu_);
    auto it = sessions_.find(req.session_id());
    if (it == sessions_.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "session_id: unknown to this learner; register again");
    }
    if (it->second->superseded) {
      return grpc::Status(grpc::StatusCode::ABORTED,
                          "the session was superseded by a newer registration");
    }
    if (serving_ != v1::SERVING_STATE_SERVING) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the learner is stopping");
    }
    old = std::move(it->second->watch);
    it->second->watch = w;
  }
  if (old) {
    old->Abort(grpc::Status(grpc::StatusCode::ABORTED, "a newer WatchWeights replaced this one"));
  }
  absl::MutexLock l(&pub_mu_);
  weight_watchers_.push_back(w);
  return grpc::Status::OK;
}

void LearnerServer::Impl::WatchDone(WeightStream* w, uint64_t session_id) {
  {
    absl::MutexLock l(&mu_);
    auto it = sessions_.find(session_id);
    if (it != sessions_.end() && it->second->watch.get() == w) it->second->watch.reset();
  }
  absl::MutexLock l(&pub_mu_);
  weight_watchers_.erase(std::remove_if(weight_watchers_.begin(), weight_watchers_.end(),
                                        [w](const std::weak_ptr<WeightStream>& p) {
                                          auto s = p.lock();
                                          return !s || s.get() == w;
                                        }),
                         weight_watchers_.end());
}

void LearnerServer::Impl::Publish() {
  const Clock::time_point published = Clock::now();
  v1::WeightSnapshot snap;
  NormalizerState norm;
  norm.enabled = updater_->config().normalize_obs;
  norm.clip = updater_->config().obs_clip;
  norm.stats = updater_->obs_stats();
  uint64_t version;
  int64_t steps;
  {
    absl::MutexLock l(&mu_);
    version = version_;
    steps = env_steps_;
  }
  EncodeWeights(updater_->model(), norm, version, &snap);
  SetTimestamp(absl::Now(), snap.mutable_published_at());
  snap.set_env_steps(static_cast<uint64_t>(steps));
  auto p = std::make_shared<Published>();
  p->version = version;
  p->published = published;
  bool own = false;
  grpc::GenericSerialize<grpc::ProtoBufferWriter, v1::WeightSnapshot>(snap, &p->bytes, &own);
  std::vector<std::shared_ptr<WeightStream>> watchers;
  {
    absl::MutexLock l(&pub_mu_);
    published_ = std::move(p);
    for (auto& w : weight_watchers_) {
      if (auto s = w.lock()) watchers.push_back(std::move(s));
    }
  }
  for (auto& w : watchers) w->Notify();
}

bool LearnerServer::Impl::NextMetrics(uint64_t after, v1::UpdateMetrics* out) const {
  absl::MutexLock l(&mu_);
  for (const v1::UpdateMetrics& m : metrics_history_) {
    if (m.update() > after) {
      *out = m;
      return true;
    }
  }
  return false;
}

void LearnerServer::Impl::AttachMetricsWatch(const std::shared_ptr<MetricsStream>& m) {
  absl::MutexLock l(&mu_);
  metrics_watchers_.push_back(m);
}

void LearnerServer::Impl::MetricsWatchDone(MetricsStream* m) {
  absl::MutexLock l(&mu_);
  metrics_watchers_.erase(
      std::remove_if(metrics_watchers_.begin(), metrics_watchers_.end(),
                     [m](const std::shared_ptr<MetricsStream>& p) { return p.get() == m; }),
      metrics_watchers_.end());
}

// ---------------------------------------------------------------------------
// Impl: Admin.

void LearnerServer::Impl::RequestCheckpoint(
    std::function<void(absl::StatusOr<v1::CheckpointInfo>)> done) {
  {
    absl::MutexLock l(&mu_);
    if (!trainer_done_) {
      checkpoint_requests_.push_back(std::move(done));
      cv_.SignalAll();
      return;
    }
  }
  done(absl::UnavailableError("the learner is stopping"));
}

void LearnerServer::Impl::RequestShutdown(bool save,
                                          std::function<void(v1::ShutdownResponse)> done) {
  {
    absl::MutexLock l(&mu_);
    shutdown_requests_.push_back(std::move(done));
  }
  RequestStop("Admin.Shutdown", save);
}

namespace {

// Applies one KEY=VALUE to `c`; keys are the config.json names (dashes are
// accepted too).
absl::Status ApplyHyperparameter(std::string key, const std::string& value, PpoConfig* c,
                                 LearnerOptions* o) {
  std::replace(key.begin(), key.end(), '-', '_');
  auto as_double = [&](double* out) -> absl::Status {
    double v;
    if (!absl::SimpleAtod(value, &v)) {
      return absl::InvalidArgumentError(absl::StrCat("'", value, "' is not a number"));
    }
    *out = v;
    return absl::OkStatus();
  };
  auto as_int = [&](int* out) -> absl::Status {
    int v;
    if (!absl::SimpleAtoi(value, &v)) {
      return absl::InvalidArgumentError(absl::StrCat("'", value, "' is not an integer"));
    }
    *out = v;
    return absl::OkStatus();
  };
  auto as_bool = [&](bool* out) -> absl::Status {
    bool v;
    if (!absl::SimpleAtob(value, &v)) {
      return absl::InvalidArgumentError(absl::StrCat("'", value, "' is not a boolean"));
    }
    *out = v;
    return absl::OkStatus();
  };
  if (key == "learning_rate" || key == "lr") return as_double(&c->learning_rate);
  if (key == "ent_coef") return as_double(&c->ent_coef);
  if (key == "vf_coef") return as_double(&c->vf_coef);
  if (key == "clip_coef") return as_double(&c->clip_coef);
  if (key == "max_grad_norm") return as_double(&c->max_grad_norm);
  if (key == "gamma") return as_double(&c->gamma);
  if (key == "gae_lambda") return as_double(&c->gae_lambda);
  if (key == "kl_target") return as_double(&c->kl_target);
  if (key == "update_epochs") return as_int(&c->update_epochs);
  if (key == "num_minibatches") return as_int(&c->num_minibatches);
  if (key == "anneal_lr") return as_bool(&c->anneal_lr);
  if (key == "norm_adv" || key == "normalize_advantages") {
    return as_bool(&c->normalize_advantages);
  }
  if (key == "target_kl") {
    if (value == "none" || value.empty()) {
      c->target_kl.reset();
      return absl::OkStatus();
    }
    double v;
    PROXIMA_RETURN_IF_ERROR(as_double(&v));
    c->target_kl = v;
    return absl::OkStatus();
  }
  if (key == "max_policy_lag") return as_int(&o->max_policy_lag);
  return absl::InvalidArgumentError(
      "unknown or not changeable while training; changeable: learning_rate, ent_coef, vf_coef, "
      "clip_coef, max_grad_norm, gamma, gae_lambda, kl_target, target_kl, update_epochs, "
      "num_minibatches, anneal_lr, norm_adv, max_policy_lag");
}

}  // namespace

v1::SetHyperparametersResponse LearnerServer::Impl::SetHyperparameters(
    const v1::SetHyperparametersRequest& req) {
  v1::SetHyperparametersResponse resp;
  absl::MutexLock l(&mu_);
  // Validate against the config as it will be at the next update: the
  // current values (hyper_ mirrors the trainer's config) plus pending changes.
  PpoConfig c = config_;
  LearnerOptions o = options_;
  for (const auto& [k, v] : hyper_) (void)ApplyHyperparameter(k, v, &c, &o);
  for (const auto& [k, v] : pending_hyper_) (void)ApplyHyperparameter(k, v, &c, &o);
  std::map<std::string, std::string> sorted(req.values().begin(), req.values().end());
  for (const auto& [k, v] : sorted) {
    absl::Status s = ApplyHyperparameter(k, v, &c, &o);
    if (s.ok()) s = c.Validate();
    if (s.ok()) s = o.Validate();
    if (!s.ok()) {
      v1::HyperparameterError* e = resp.add_errors();
      e->set_key(k);
      e->set_message(std::string(s.message()));
    }
  }
  if (resp.errors_size() > 0 || req.validate_only()) return resp;
  for (const auto& [k, v] : sorted) {
    pending_hyper_[k] = v;
    (*resp.mutable_applied())[k] = v;
    std::fprintf(stderr, "proxima-learner: set %s=%s (from update %lld)\n", k.c_str(), v.c_str(),
                 static_cast<long long>(updates_ + 1));
  }
  resp.set_effective_from_update(static_cast<uint64_t>(updates_ + 1));
  return resp;
}

// ---------------------------------------------------------------------------
// Impl: trainer.

void LearnerServer::Impl::ServeTrainerRequests() {
  std::vector<std::function<void(absl::StatusOr<v1::CheckpointInfo>)>> ckpt;
  std::map<std::string, std::string> hyper;
  {
    absl::MutexLock l(&mu_);
    ckpt.swap(checkpoint_requests_);
    hyper.swap(pending_hyper_);
  }
  if (!hyper.empty()) {
    PpoConfig& c = updater_->mutable_config();
    LearnerOptions o;
    {
      absl::MutexLock l(&mu_);
      o = options_;
    }
    for (const auto& [k, v] : hyper) (void)ApplyHyperparameter(k, v, &c, &o);
    absl::MutexLock l(&mu_);
    options_.max_policy_lag = o.max_policy_lag;
    ConfigToStrings(c, &hyper_);
    hyper_["max_policy_lag"] = absl::StrCat(options_.max_policy_lag);
  }
  if (!ckpt.empty()) {
    absl::StatusOr<v1::CheckpointInfo> info = Checkpoint();
    for (auto& done : ckpt) done(info);
  }
}

absl::StatusOr<v1::CheckpointInfo> LearnerServer::Impl::Checkpoint() {
  CheckpointCounters c;
  {
    absl::MutexLock l(&mu_);
    c.policy_version = version_;
    c.env_steps = env_steps_;
    c.transitions_trained = transitions_trained_before_ + transitions_trained_;
    c.updates = updates_;
    c.episodes = episodes_before_ + tracker_->episodes();
    c.wall_seconds = wall_before_ + Seconds(Clock::now() - start_);
    c.actor_ids = actor_ids_;
  }
  absl::StatusOr<SavedCheckpoint> saved =
      SaveCheckpoint(run_dir_ + "/checkpoints", *updater_, c, options_.keep_checkpoints);
  if (!saved.ok()) {
    std::fprintf(stderr, "proxima-learner: checkpoint failed: %s\n",
                 saved.status().ToString().c_str());
    return saved.status();
  }
  v1::CheckpointInfo info;
  info.set_path(saved->path);
  info.set_policy_version(c.policy_version);
  SetTimestamp(absl::Now(), info.mutable_saved_at());
  info.set_env_steps(static_cast<uint64_t>(c.env_steps));
  info.set_updates(static_cast<uint64_t>(c.updates));
  info.set_size_bytes(static_cast<uint64_t>(saved->size_bytes));
  absl::MutexLock l(&mu_);
  last_checkpoint_ = info;
  return info;
}

bool LearnerServer::Impl::AssembleAsync(std::vector<QueuedChunk>* parts) {
  int64_t have = 0;
  for (const QueuedChunk& p : *parts) have += p.transitions;
  const int64_t want = updater_->config().batch_size();
  while (have < want) {
    bool serve = false;
    {
      absl::MutexLock l(&mu_);
      while (!stop_requested_ && checkpoint_requests_.empty() && pending_hyper_.empty() &&
             (paused_ || queue_.empty())) {
        cv_.WaitWithTimeout(&mu_, absl::Milliseconds(200));
      }
      if (stop_requested_) return false;
      serve = !checkpoint_requests_.empty() || !pending_hyper_.empty();
      if (!serve && !paused_) {
        while (!queue_.empty() && have < want) {
          QueuedChunk c = PopLocked();
          const uint64_t lag = version_ - c.policy_version;
          if (lag > static_cast<uint64_t>(options_.max_policy_lag)) {
            DropLocked(c, v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG);
            continue;
          }
          have += c.transitions;
          parts->push_back(std::move(c));
        }
      }
    }
    FlushResumes();
    if (serve) ServeTrainerRequests();
  }
  return true;
}

bool LearnerServer::Impl::AssembleSync(std::vector<QueuedChunk>* parts) {
  std::optional<Clock::time_point> first_arrival;
  const auto timeout = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options_.sync_round_timeout_seconds));
  while (true) {
    bool serve = false;
    bool ready = false;
    {
      absl::MutexLock l(&mu_);
      if (stop_requested_) return false;
      serve = !checkpoint_requests_.empty() || !pending_hyper_.empty();
      if (!paused_) {
        while (!queue_.empty()) {
          QueuedChunk c = PopLocked();
          if (c.policy_version != version_) {
            DropLocked(c, v1::CHUNK_OUTCOME_DROPPED_LATE_FOR_ROUND);
            continue;
          }
          if (!first_arrival) first_arrival = Clock::now();
          parts->push_back(std::move(c));
        }
        // Ready when every live session delivered at this version.
        std::set<uint64_t> delivered;
        for (const QueuedChunk& c : *parts) delivered.insert(c.session_id);
        std::vector<Session*> missing;
        for (auto& [id, s] : sessions_) {
          if (s->live() && !delivered.count(id)) missing.push_back(s.get());
        }
        // The first round also waits for --min-actors (start-up order).
        const bool enough =
            sync_rounds_ > 0 || static_cast<int>(delivered.size()) >= options_.min_actors;
        if (!parts->empty() && missing.empty() && enough) ready = true;
        if (!ready && !parts->empty() && Clock::now() - *first_arrival > timeout) {
          for (Session* s : missing) ++s->rounds_missed;
          sync_exclusions_ += missing.size();
          ready = true;
        }
      }
      if (!ready && !serve) cv_.WaitWithTimeout(&mu_, absl::Milliseconds(50));
    }
    FlushResumes();
    if (serve) ServeTrainerRequests();
    if (ready) {
      // Deterministic order: seeds follow actor ids, so sorting by id makes
      // the batch independent of which actor registered or delivered first.
      std::stable_sort(parts->begin(), parts->end(), [](const QueuedChunk& a, const QueuedChunk& b) {
        return a.actor_id < b.actor_id;
      });
      absl::MutexLock l(&mu_);
      ++sync_rounds_;
      return true;
    }
  }
}

void LearnerServer::Impl::TrainerLoop() {
  Clock::time_point last_checkpoint = Clock::now();
  int64_t updates_since_checkpoint = 0;
  const bool sync = options_.mode == TrainingModeKind::kSync;
  while (true) {
    std::vector<QueuedChunk> parts;
    const bool got = sync ? AssembleSync(&parts) : AssembleAsync(&parts);
    if (!got) {
      absl::MutexLock l(&mu_);
      for (const QueuedChunk& c : parts) DropLocked(c, v1::CHUNK_OUTCOME_DROPPED_AT_SHUTDOWN);
      break;
    }
    std::vector<RolloutBatch> batches;
    batches.reserve(parts.size());
    int64_t transitions = 0;
    double lag_sum = 0;
    uint64_t lag_max = 0;
    uint64_t v0;
    int64_t steps_done;
    {
      absl::MutexLock l(&mu_);
      v0 = version_;
      steps_done = transitions_trained_before_ + transitions_trained_;
    }
    for (QueuedChunk& c : parts) {
      transitions += c.transitions;
      const uint64_t lag = v0 - c.policy_version;
      lag_sum += static_cast<double>(lag) * c.transitions;
      lag_max = std::max(lag_max, lag);
      batches.push_back(std::move(c.batch));
    }
    const PpoConfig& cfg = updater_->config();
    const double progress = std::min(
        1.0, static_cast<double>(steps_done) / static_cast<double>(std::max<int64_t>(1, cfg.total_steps)));
    absl::StatusOr<UpdateMetrics> um =
        test_hooks_.fail_update && test_hooks_.fail_update()
            ? absl::StatusOr<UpdateMetrics>(absl::InternalError("failed by a test hook"))
            : updater_->Update(batches, progress);
    MaybeFail("learner.update_applied");  // test-only (common/failpoint.h)
    if (!um.ok()) {
      std::fprintf(stderr, "proxima-learner: update failed: %s\n", um.status().ToString().c_str());
    } else if (metrics_) {
      metrics_->ObserveUpdateSeconds(um->update_seconds);
    }
    const double elapsed = wall_before_ + Seconds(Clock::now() - start_);
    MetricsRow row;
    bool finished = false;
    {
      absl::MutexLock l(&mu_);
      if (um.ok()) {
        ++version_;
        ++updates_;
        chunks_queued_ -= parts.size();
        transitions_queued_ -= transitions;
        chunks_trained_ += parts.size();
        transitions_trained_ += transitions;
        if (test_hooks_.on_chunk_done) {
          for (const QueuedChunk& c : parts) {
            test_hooks_.on_chunk_done(c.actor_name, c.seq, c.transitions,
                                      v1::CHUNK_OUTCOME_ACCEPTED);
          }
        }
      } else {
        // Not trained: the model did not change.
        for (const QueuedChunk& c : parts) DropLocked(c, v1::CHUNK_OUTCOME_DROPPED_UPDATE_FAILED);
      }
      for (const QueuedChunk& c : parts) {
        auto it = sessions_.find(c.session_id);
        if (it != sessions_.end()) it->second->lag = v0 - c.policy_version;
      }
      const Clock::time_point now = Clock::now();
      AddRateSample(&rate_, now, env_steps_);
      row.update = updates_;
      row.policy_version = static_cast<int64_t>(version_);
      row.env_steps = env_steps_;
      row.wall_seconds = elapsed;
      row.env_steps_per_second =
          rate_.size() >= 2 ? RatePerSecond(rate_) : env_steps_ / std::max(1e-9, elapsed);
      row.episodes = episodes_before_ + tracker_->episodes();
      row.mean_return = tracker_->mean_return();
      row.mean_length = tracker_->mean_length();
      row.mean_lag = transitions > 0 ? lag_sum / transitions : 0;
      if (um.ok()) row.update_metrics = *um;
      v1::UpdateMetrics& m = last_update_;
      m.Clear();
      m.set_update(static_cast<uint64_t>(updates_));
      m.set_policy_version(version_);
      m.set_env_steps(static_cast<uint64_t>(env_steps_));
      const UpdateMetrics& u = row.update_metrics;
      m.set_policy_loss(u.policy_loss);
      m.set_value_loss(u.value_loss);
      m.set_entropy(u.entropy);
      m.set_approx_kl(u.approx_kl);
      m.set_clip_fraction(u.clip_fraction);
      m.set_explained_variance(u.explained_variance);
      m.set_grad_norm(u.grad_norm);
      m.set_learning_rate(u.learning_rate);
      m.set_kl_beta(u.kl_beta);
      m.set_skipped_minibatches(static_cast<uint32_t>(u.skipped_minibatches));
      m.set_epochs_run(static_cast<uint32_t>(u.epochs_run));
      m.set_minibatches_run(static_cast<uint32_t>(u.minibatches));
      m.set_update_seconds(u.update_seconds);
      m.set_first_minibatch_ratio_max_deviation(u.first_minibatch_ratio_max_deviation);
      m.set_mean_lag(row.mean_lag);
      m.set_max_lag(lag_max);
      m.set_batch_transitions(static_cast<uint64_t>(transitions));
      m.set_batch_chunks(static_cast<uint32_t>(parts.size()));
      SetTimestamp(absl::Now(), m.mutable_time());
      m.set_env_steps_per_second(row.env_steps_per_second);
      m.set_mean_episode_return(row.mean_return);
      m.set_mean_episode_length(row.mean_length);
      m.set_episodes(static_cast<uint64_t>(row.episodes));
      metrics_history_.push_back(m);
      while (metrics_history_.size() > 4096) metrics_history_.pop_front();
      // The budget counts every env step actors delivered (accepted chunks),
      // trained or dropped for lag: they were taken.
      if (env_steps_ >= cfg.total_steps) finished = true;
      if (options_.stop_when_solved && tracker_->solved()) finished = true;
    }
    if (um.ok()) Publish();
    std::vector<std::shared_ptr<MetricsStream>> watchers;
    {
      absl::MutexLock l(&mu_);
      watchers = metrics_watchers_;
    }
    for (auto& w : watchers) w->Notify();
    if (csv_) (void)csv_->Append(row);
    if (tensorboard_) {
      const TensorBoardScalar batch[] = {
          {"perf/max_lag", static_cast<double>(lag_max)},
          {"perf/batch_chunks", static_cast<double>(parts.size())}};
      (void)tensorboard_->Write(row, batch);
    }
    if (options_.progress) PrintProgress(false);
    ++updates_since_checkpoint;
    const bool due =
        (options_.checkpoint_every_updates > 0 &&
         updates_since_checkpoint >= options_.checkpoint_every_updates) ||
        (options_.checkpoint_every_seconds > 0 &&
         Seconds(Clock::now() - last_checkpoint) >= options_.checkpoint_every_seconds);
    if (due) {
      (void)Checkpoint();
      last_checkpoint = Clock::now();
      updates_since_checkpoint = 0;
    }
    ServeTrainerRequests();
    if (finished) {
      bool solved;
      {
        absl::MutexLock l(&mu_);
        solved = options_.stop_when_solved && tracker_->solved();
      }
      RequestStop(solved ? "solved" : "step budget reached", true);
    }
  }
  ServeTrainerRequests();
}

void LearnerServer::Impl::PrintProgress(bool force) {
  const double now = Seconds(Clock::now() - start_);
  if (!force && now - last_progress_ < 0.5) return;
  last_progress_ = now;
  v1::LearnerStatus st = Status(false);
  const bool tty = ::isatty(STDERR_FILENO);
  const double total = static_cast<double>(updater_->config().total_steps);
  const double eta = st.env_steps_per_second() > 0
                         ? std::max(0.0, (total - st.env_steps()) / st.env_steps_per_second())
                         : 0;
  std::fprintf(stderr,
               "%s[%s] steps %llu/%.0f  %.0f steps/s  return %.1f  version %llu  lag %.2f  "
               "actors %u  ETA %.0fs%s",
               tty ? "\r" : "", config_.env_id.c_str(),
               static_cast<unsigned long long>(st.env_steps()), total,
               st.env_steps_per_second(), st.mean_episode_return(),
               static_cast<unsigned long long>(st.policy_version()), st.last_update().mean_lag(),
               st.actors_connected(), eta, tty ? "   " : "\n");
  std::fflush(stderr);
}

// ---------------------------------------------------------------------------
// Impl: status, stop, shutdown.

v1::LearnerStatus LearnerServer::Impl::Status(bool include_actors) const {
  v1::LearnerStatus st;
  absl::MutexLock l(&mu_);
  const double uptime = Seconds(Clock::now() - start_);
  st.set_policy_version(version_);
  st.set_env_steps(static_cast<uint64_t>(env_steps_));
  st.set_updates(static_cast<uint64_t>(updates_));
  st.set_env_steps_per_second(RatePerSecond(rate_));
  st.set_updates_per_second(uptime > 0 ? updates_ / std::max(uptime, 1e-9) : 0);
  st.set_mean_episode_return(tracker_->mean_return());
  st.set_mean_episode_length(tracker_->mean_length());
  st.set_episodes(static_cast<uint64_t>(episodes_before_ + tracker_->episodes()));
  uint32_t connected = 0;
  for (const auto& [actor_id, session_id] : latest_session_) {
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) continue;
    const Session& s = *it->second;
    const bool up = s.stream != nullptr || s.watch != nullptr;
    if (up && !s.final_received) ++connected;
    if (!include_actors) continue;
    v1::ActorInfo* a = st.add_actors();
    a->set_actor_id(s.actor_id);
    a->set_name(s.name);
    a->set_session_id(s.id);
    a->set_state(s.final_received ? v1::ACTOR_STATE_FINISHED
                 : up             ? v1::ACTOR_STATE_CONNECTED
                                  : v1::ACTOR_STATE_DISCONNECTED);
    SetTimestamp(s.last_seen, a->mutable_last_seen());
    SetTimestamp(s.registered_at, a->mutable_registered_at());
    a->set_env_steps(static_cast<uint64_t>(s.env_steps));
    a->set_lag(s.lag);
    a->set_last_policy_version(s.last_policy_version);
    a->set_chunks(s.chunks);
    a->set_chunks_dropped(s.chunks_dropped);
    a->set_num_envs(static_cast<uint32_t>(s.num_envs));
    a->set_env_steps_per_second(RatePerSecond(s.rate));
    a->set_sync_rounds_missed(s.rounds_missed);
    a->set_hostname(s.hostname);
    a->set_pid(s.pid);
    a->set_build_version(s.build_version);
    a->set_chunks_rate_limited(s.chunks_rate_limited);
  }
  st.set_actors_connected(connected);
  st.set_queue_transitions(static_cast<uint64_t>(queue_transitions_));
  st.set_queue_capacity(static_cast<uint64_t>(options_.queue_capacity));
  st.set_chunks_received(chunks_received_);
  st.set_chunks_trained(chunks_trained_);
  st.set_chunks_queued(chunks_queued_);
  st.set_chunks_duplicate(duplicates_);
  st.set_chunks_rate_limited(chunks_rate_limited_);
  for (const auto& [reason, counts] : dropped_) {
    v1::DropCount* d = st.add_chunks_dropped();
    d->set_reason(static_cast<v1::ChunkOutcome>(reason));
    d->set_chunks(counts.first);
    d->set_transitions(static_cast<uint64_t>(counts.second));
  }
  st.set_transitions_received(static_cast<uint64_t>(transitions_received_));
  st.set_transitions_trained(static_cast<uint64_t>(transitions_trained_));
  st.set_transitions_queued(static_cast<uint64_t>(transitions_queued_));
  if (last_checkpoint_) *st.mutable_last_checkpoint() = *last_checkpoint_;
  for (const auto& [k, v] : hyper_) (*st.mutable_hyperparameters())[k] = v;
  st.set_mode(options_.mode == TrainingModeKind::kSync ? v1::TRAINING_MODE_SYNC
                                                       : v1::TRAINING_MODE_ASYNC);
  st.set_device(updater_->device().str());
  st.set_paused(paused_);
  st.set_serving_state(serving_);
  SetDuration(uptime, st.mutable_uptime());
  SetTimestamp(started_at_, st.mutable_started_at());
  st.set_env_id(config_.env_id);
  st.set_run_dir(run_dir_);
  st.set_learner_instance_id(instance_id_);
  if (updates_ > 0) *st.mutable_last_update() = last_update_;
  st.set_sync_rounds(sync_rounds_);
  st.set_sync_round_exclusions(sync_exclusions_);
  SetTimestamp(absl::Now(), st.mutable_as_of());
  return st;
}

void LearnerServer::Impl::RequestStop(const std::string& reason, bool save) {
  {
    absl::MutexLock l(&mu_);
    if (stop_requested_) return;
    stop_requested_ = true;
    stop_save_ = save;
    stop_reason_ = reason;
    if (serving_ == v1::SERVING_STATE_SERVING) serving_ = v1::SERVING_STATE_DRAINING;
  }
  // Health first, so load balancers and `proxima health` see it at once.
  if (server_) server_->GetHealthCheckService()->SetServingStatus(false);
  cv_.SignalAll();
}

void LearnerServer::Impl::SetPaused(bool paused) {
  {
    absl::MutexLock l(&mu_);
    paused_ = paused;
  }
  cv_.SignalAll();
}

absl::StatusOr<RunSummary> LearnerServer::Impl::Wait() {
  {
    absl::MutexLock l(&mu_);
    mu_.Await(absl::Condition(&stop_requested_));
  }
  if (!shut_down_) Shutdown();
  shut_down_ = true;
  RunSummary s;
  absl::MutexLock l(&mu_);
  s.env = config_.env_id;
  s.seed = config_.seed;
  s.mode = options_.mode == TrainingModeKind::kSync ? "sync" : "async";
  s.device = updater_->device().str();
  s.actors = static_cast<int>(actor_ids_.size());
  s.total_env_steps = env_steps_;
  s.updates = updates_;
  s.wall_seconds = wall_before_ + Seconds(Clock::now() - start_);
  s.env_steps_per_second = env_steps_ / std::max(s.wall_seconds, 1e-9);
  s.episodes = episodes_before_ + tracker_->episodes();
  s.mean_return_last_100 = tracker_->mean_return();
  s.solved_at_step = tracker_->solved_at_step();
  s.solved_at_seconds = tracker_->solved_at_seconds();
  absl::Status w = WriteSummary(run_dir_, s);
  if (!w.ok()) return w;
  return s;
}

void LearnerServer::Impl::Shutdown() {
  // 1. The trainer finishes its current update and stops.
  if (trainer_.joinable()) trainer_.join();
  bool save;
  std::vector<std::shared_ptr<TrajectoryStream>> streams;
  std::vector<std::shared_ptr<WeightStream>> watches;
  std::vector<std::shared_ptr<MetricsStream>> metric_watches;
  std::vector<std::function<void(v1::ShutdownResponse)>> shutdown_done;
  std::vector<std::function<void(absl::StatusOr<v1::CheckpointInfo>)>> ckpt_done;
  {
    absl::MutexLock l(&mu_);
    trainer_done_ = true;
    save = stop_save_;
    // 2. Everything still queued or held is dropped (counted).
    while (!queue_.empty()) {
      QueuedChunk c = std::move(queue_.front());
      queue_.pop_front();
      queue_transitions_ -= c.transitions;
      DropLocked(c, v1::CHUNK_OUTCOME_DROPPED_AT_SHUTDOWN);
    }
    for (Blocked& b : blocked_) {
      DropLocked(b.chunk, v1::CHUNK_OUTCOME_DROPPED_AT_SHUTDOWN);
      resumes_.emplace_back(b.stream, MakeAck(b.seq, v1::CHUNK_OUTCOME_DROPPED_AT_SHUTDOWN,
                                              "the learner is stopping", b.seq + 1));
    }
    blocked_.clear();
    ckpt_done.swap(checkpoint_requests_);
  }
  FlushResumes();
  // 3. Final checkpoint.
  absl::StatusOr<v1::CheckpointInfo> final_ckpt = absl::CancelledError("not saved");
  if (save) final_ckpt = Checkpoint();
  for (auto& d : ckpt_done) d(final_ckpt);
  {
    absl::MutexLock l(&mu_);
    serving_ = v1::SERVING_STATE_STOPPED;
    shutdown_done.swap(shutdown_requests_);
    for (auto& [ptr, s] : streams_) streams.push_back(s);
    metric_watches = metrics_watchers_;
  }
  {
    absl::MutexLock l(&pub_mu_);
    for (auto& w : weight_watchers_) {
      if (auto p = w.lock()) watches.push_back(std::move(p));
    }
  }
  v1::ShutdownResponse resp;
  if (final_ckpt.ok()) *resp.mutable_final_checkpoint() = *final_ckpt;
  resp.set_policy_version(version());
  for (auto& d : shutdown_done) d(resp);
  // 4. Close every stream with OK, then stop the server.
  for (auto& s : streams) s->Abort(grpc::Status::OK);
  for (auto& w : watches) w->Abort(grpc::Status::OK);
  for (auto& m : metric_watches) m->Abort(grpc::Status::OK);
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(
                                                            options_.grace_period_seconds * 250)));
    server_->Wait();
  }
  if (options_.progress) {
    PrintProgress(true);
    if (::isatty(STDERR_FILENO)) std::fputc('\n', stderr);
  }
  std::string reason;
  {
    absl::MutexLock l(&mu_);
    reason = stop_reason_;
  }
  std::fprintf(stderr, "proxima-learner: stopped (%s) at version %llu\n", reason.c_str(),
               static_cast<unsigned long long>(version()));
}

// ---------------------------------------------------------------------------

LearnerServer::LearnerServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

void LearnerServer::SetTestHooks(LearnerTestHooks hooks) { impl_->test_hooks_ = std::move(hooks); }

LearnerServer::~LearnerServer() {
  if (impl_ && impl_->server_ && !impl_->shut_down_) {
    impl_->RequestStop("destroyed", false);
    (void)impl_->Wait();
  }
}

absl::StatusOr<std::unique_ptr<LearnerServer>> LearnerServer::Create(
    const PpoConfig& config, const LearnerOptions& options) {
  auto impl = std::make_unique<Impl>(config, options);
  PROXIMA_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<LearnerServer>(new LearnerServer(std::move(impl)));
}

absl::Status LearnerServer::Start() { return impl_->Start(); }
std::string LearnerServer::address() const { return impl_->address(); }
std::string LearnerServer::metrics_address() const { return impl_->metrics_address(); }
const std::string& LearnerServer::run_dir() const { return impl_->run_dir(); }
absl::StatusOr<RunSummary> LearnerServer::Wait() { return impl_->Wait(); }
void LearnerServer::RequestStop(const std::string& reason) { impl_->RequestStop(reason); }
void LearnerServer::SetPaused(bool paused) { impl_->SetPaused(paused); }
v1::LearnerStatus LearnerServer::Status(bool include_actors) const {
  return impl_->Status(include_actors);
}
std::shared_ptr<grpc::Channel> LearnerServer::InProcessChannel() {
  return impl_->InProcessChannel();
}

}  // namespace proxima

// The gRPC suites of `proxima bench` (bench.h): "ingest" and "broadcast".
//
// Both start a real proxima-learner subprocess (learner_process.h) on
// loopback and play its actors from threads of this process with the actor's
// own network components, so the figures include the actor's sender and
// watcher threads, protobuf parsing, HTTP/2 and the learner's reactors:
//  * ingest: N synthetic actors (synthetic_actor.h: no env, no policy) push
//    one valid chunk through the actor's ChunkSender as fast as the learner
//    acknowledges it, with the trainer paused (Admin.Pause) so that
//    acceptance is measured, not training.
//  * broadcast: one feeder keeps the learner training, N watcher sessions
//    (latency_watcher.h) run the actor's WeightWatcher and record the time
//    from WeightSnapshot.published_at to "applied".
// The clients run on the same cores as the learner (two on the reference
// machine), so they compete with it for CPU: the figures are lower bounds of
// what a learner with its own machine achieves. Ingest therefore also
// reports transitions per learner CPU-second (from /proc/PID/stat), which
// does not depend on how much CPU the clients took.
#include <algorithm>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "learner/cli/bench/bench.h"
#include "learner/cli/bench/latency_watcher.h"
#include "learner/cli/bench/learner_process.h"
#include "learner/cli/bench/synthetic_actor.h"

namespace proxima::bench {
namespace {

constexpr char kEnv[] = "CartPole-v1";
// A budget no run here reaches: the learner must not stop by itself.
constexpr char kHugeTotalSteps[] = "1000000000000";
// Sent-but-unacknowledged chunks per ingest actor: the real actor's window
// (ChannelHints.max_unacked_chunks).
constexpr int kIngestWindow = 8;
// The broadcast feeder keeps its window small so that its chunks, stamped
// with the newest version it knows, are never beyond --max-policy-lag when
// they enter a batch.
constexpr int kFeederWindow = 2;

int64_t TotalAccepted(const std::vector<std::unique_ptr<SyntheticActor>>& actors) {
  int64_t n = 0;
  for (const auto& a : actors) n += a->accepted();
  return n;
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
  // Training paused before any data arrives: the queue only fills.
  PROXIMA_RETURN_IF_ERROR(learner->Pause("proxima bench ingest"));
  // Declared after `learner`, so that on every path the clients and their
  // channels are gone before the learner stops (see LearnerProcess::Stop).
  std::vector<std::unique_ptr<SyntheticActor>> streams;
  for (int i = 0; i < actors; ++i) {
    absl::StatusOr<Session> session = Register(learner->address(), absl::StrCat("bench-", i));
    if (!session.ok()) return learner->Error("cannot register a synthetic actor", session.status());
    streams.push_back(std::make_unique<SyntheticActor>(*std::move(session), kIngestWindow, i + 1));
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
  absl::StatusOr<v1::LearnerStatus> status = learner->GetStatus();

  const v1::TrajectoryChunk& chunk = streams.front()->chunk();
  const int64_t chunk_transitions = static_cast<int64_t>(chunk.num_steps()) * chunk.num_envs();
  const size_t chunk_bytes = chunk.ByteSizeLong();
  std::string refusal;
  for (const auto& s : streams) {
    if (s->refused() > 0 && refusal.empty()) {
      refusal = absl::StrCat(s->refused(), " chunk(s); first event: ", s->first_event());
    }
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
  std::vector<std::unique_ptr<LatencyWatcher>> watchers;
  for (int i = 0; i < actors; ++i) {
    absl::StatusOr<Session> session = Register(learner->address(), absl::StrCat("watcher-", i));
    if (!session.ok()) return learner->Error("cannot register a watcher", session.status());
    watchers.push_back(std::make_unique<LatencyWatcher>(*std::move(session)));
    watchers.back()->Start();
  }
  absl::StatusOr<Session> feeder_session = Register(learner->address(), "feeder");
  if (!feeder_session.ok()) {
    return learner->Error("cannot register the feeder", feeder_session.status());
  }
  // The feeder sends as fast as the learner takes chunks (its queue holds
  // two batches), so the trainer never waits for data.
  auto feeder = std::make_unique<SyntheticActor>(*std::move(feeder_session), kFeederWindow, 1);
  feeder->Start();

  // Warm-up: until training runs (a few versions published).
  const absl::Time warmup_deadline = absl::Now() + absl::Seconds(60);
  while (feeder->learner_version() < 3) {
    if (absl::Now() > warmup_deadline) {
      return learner->Error("the learner did not train",
                            absl::DeadlineExceededError(absl::StrCat(
                                "version ", feeder->learner_version(), " after 60 s; feeder: ",
                                feeder->accepted(), " chunks accepted, ", feeder->refused(),
                                " refused ", feeder->first_event())));
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
    for (const LatencyWatcher::Sample& s : w->samples()) {
      latencies.push_back(s.latency_ms);
      versions.insert(s.version);
    }
    if (w->failures() > 0 && failures == 0) first_failure = w->first_event();
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

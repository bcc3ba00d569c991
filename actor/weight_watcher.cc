#include "actor/weight_watcher.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc/backoff.h"

namespace proxima {

WeightWatcher::WeightWatcher(v1::Learner::StubInterface* stub, SnapshotSlot* slot,
                             Options options)
    : stub_(stub), slot_(slot), options_(std::move(options)) {}

WeightWatcher::~WeightWatcher() { Stop(); }

void WeightWatcher::Start() { thread_ = std::thread([this] { Loop(); }); }

void WeightWatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

WeightWatcher::Stats WeightWatcher::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void WeightWatcher::Log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

void WeightWatcher::Loop() {
  Backoff backoff(options_.backoff_initial, options_.backoff_max, JitterSeed());
  OutageLog outage;
  std::optional<uint64_t> have_version;
  bool first = true;
  while (true) {
    grpc::ClientContext context;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      context_ = &context;
      if (!first) ++stats_.reconnects;
    }
    first = false;
    v1::WatchWeightsRequest request;
    request.set_actor_id(options_.actor_id);
    request.set_session_id(options_.session_id);
    if (have_version.has_value()) request.set_have_version(*have_version);
    std::unique_ptr<grpc::ClientReaderInterface<v1::WeightSnapshot>> reader =
        stub_->WatchWeights(&context, request);
    const absl::Time opened = absl::Now();
    v1::WeightSnapshot proto;
    while (reader->Read(&proto)) {
      backoff.Reset();
      if (outage.Success(absl::Now())) {
        Log(absl::StrCat("weight stream re-established after ", outage.attempts(),
                         " failed attempt(s)"));
      }
      absl::StatusOr<std::shared_ptr<const PolicySnapshot>> decoded =
          options_.decode ? options_.decode(proto) : DecodeSnapshot(proto, options_.shape);
      absl::MutexLock lock(&mu_);
      ++stats_.received;
      if (!decoded.ok()) {
        ++stats_.discarded;
        Log(absl::StrCat("discarding weights version ", proto.version(), ": ",
                         decoded.status().ToString()));
        continue;
      }
      have_version = proto.version();
      slot_->Put(*std::move(decoded));
    }
    const grpc::Status status = reader->Finish();
    {
      absl::MutexLock lock(&mu_);
      context_ = nullptr;
      if (stopping_) return;
    }
    if (status.error_code() == grpc::StatusCode::NOT_FOUND ||
        status.error_code() == grpc::StatusCode::ABORTED) {
      if (options_.on_session_lost) {
        options_.on_session_lost(absl::StrCat(
            "weight stream: ",
            status.error_code() == grpc::StatusCode::NOT_FOUND ? "learner does not know session "
                                                               : "superseded session ",
            absl::Hex(options_.session_id), " (", status.error_message(), ")"));
      }
      return;
    }
    // A stream that stayed up a while was a success even if no new version
    // came: the next failure starts a new outage with a short delay.
    if (absl::Now() - opened > backoff.max()) {
      backoff.Reset();
      outage.Success(absl::Now());
    }
    const absl::Duration delay = backoff.Next();
    if (outage.Failure(absl::Now())) {
      Log(absl::StrCat(
          status.ok() ? std::string("weight stream ended by the learner")
                      : absl::StrCat("weight stream broken (",
                                     absl::StatusCodeToString(
                                         static_cast<absl::StatusCode>(status.error_code())),
                                     ": ", status.error_message(), ")"),
          "; reconnecting with backoff (attempt ", outage.attempts(), ")"));
    }
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), delay);
  }
}

}  // namespace proxima

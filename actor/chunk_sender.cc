#include "actor/chunk_sender.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/grpc/backoff.h"

namespace proxima {
namespace {

using Stream = grpc::ClientReaderWriterInterface<v1::TrajectoryChunk, v1::ChunkAck>;

std::string FormatSeconds(absl::Duration d) {
  return absl::StrFormat("%.2fs", absl::ToDoubleSeconds(d));
}

}  // namespace

ChunkSender::ChunkSender(v1::Learner::StubInterface* stub, Options options)
    : stub_(stub), options_(std::move(options)) {}

ChunkSender::~ChunkSender() { Shutdown(absl::ZeroDuration()); }

void ChunkSender::Start() { supervisor_ = std::thread([this] { SupervisorLoop(); }); }

void ChunkSender::Log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

absl::Status ChunkSender::Push(std::unique_ptr<v1::TrajectoryChunk>* chunk,
                               const std::atomic<bool>& interrupt) {
  const size_t capacity = static_cast<size_t>(options_.window > 0 ? options_.window : 8);
  const uint64_t seq = (*chunk)->seq();
  {
    absl::MutexLock lock(&mu_);
    while (!interrupt.load() && !session_lost_ && !shutdown_ && !closing_ &&
           window_.size() >= capacity) {
      cv_.Wait(&mu_);
    }
    if (session_lost_ || shutdown_ || closing_) {
      return absl::AbortedError(
          absl::StrCat("chunk seq ", seq, " not queued: session ",
                       session_lost_ ? absl::StrCat("lost: ", lost_reason_) : "shutting down"));
    }
    // Interrupted while waiting, even if an ack made room since: the caller
    // (stopping) sends this rollout as its final chunk instead.
    if (interrupt.load() || window_.size() >= capacity) {
      return absl::CancelledError(absl::StrCat("chunk seq ", seq, " not queued: interrupted"));
    }
    AppendLocked(chunk, seq);
  }
  cv_.SignalAll();
  return absl::OkStatus();
}

void ChunkSender::AppendLocked(std::unique_ptr<v1::TrajectoryChunk>* chunk, uint64_t seq) {
  Entry entry;
  entry.chunk = std::shared_ptr<const v1::TrajectoryChunk>(std::move(*chunk));
  entry.seq = seq;
  window_.push_back(std::move(entry));
  ++stats_.pushed;
}

absl::Status ChunkSender::PushFinal(std::unique_ptr<v1::TrajectoryChunk>* chunk) {
  const uint64_t seq = (*chunk)->seq();
  {
    absl::MutexLock lock(&mu_);
    if (session_lost_ || shutdown_) {
      return absl::AbortedError(absl::StrCat("final chunk seq ", seq, " not queued: session ",
                                             session_lost_ ? "lost" : "shut down"));
    }
    AppendLocked(chunk, seq);
  }
  cv_.SignalAll();
  return absl::OkStatus();
}

bool ChunkSender::WaitAllAcked(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  while (!window_.empty() && !session_lost_ && !shutdown_ && !learner_stopped_ &&
         !cv_.WaitWithDeadline(&mu_, deadline)) {
  }
  return window_.empty();
}

void ChunkSender::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
    cv_.SignalAll();
    // The grace period is for a clean half-close, which needs an empty
    // window; with chunks still unacknowledged (learner gone) it would only
    // delay the exit.
    if (supervisor_.joinable() && grace > absl::ZeroDuration() && window_.empty()) {
      const absl::Time deadline = absl::Now() + grace;
      while (!supervisor_done_ && !cv_.WaitWithDeadline(&mu_, deadline)) {
      }
    }
    shutdown_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  cv_.SignalAll();
  if (supervisor_.joinable()) supervisor_.join();
}

void ChunkSender::Wake() {
  { absl::MutexLock lock(&mu_); }
  cv_.SignalAll();
}

bool ChunkSender::session_lost() const {
  absl::MutexLock lock(&mu_);
  return session_lost_;
}

size_t ChunkSender::unacked() const {
  absl::MutexLock lock(&mu_);
  return window_.size();
}

ChunkSender::Stats ChunkSender::stats() const {
  absl::MutexLock lock(&mu_);
  Stats s = stats_;
  s.unacked = window_.size();
  s.learner_stopping = learner_stopped_;
  return s;
}

void ChunkSender::LoseSession(const std::string& reason) {
  {
    absl::MutexLock lock(&mu_);
    if (!session_lost_) lost_reason_ = reason;
    session_lost_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  cv_.SignalAll();
  std::call_once(lost_once_, [&] {
    if (options_.on_session_lost) options_.on_session_lost(reason);
  });
}

void ChunkSender::SupervisorLoop() {
  Backoff backoff(options_.backoff_initial, options_.backoff_max, JitterSeed());
  OutageLog outage;
  bool first = true;
  while (true) {
    auto context = std::make_unique<grpc::ClientContext>();
    {
      absl::MutexLock lock(&mu_);
      if (shutdown_ || session_lost_ || (closing_ && window_.empty())) break;
      context_ = context.get();
      if (!first) ++stats_.reconnects;
      // A new stream starts from scratch: everything unacknowledged is
      // resent, oldest first.
      for (Entry& e : window_) e.sent = false;
      in_flight_.clear();
      ignore_out_of_order_ = 0;
    }
    first = false;
    const absl::Time opened = absl::Now();
    std::unique_ptr<Stream> stream = stub_->StreamTrajectories(context.get());
    StreamState state;
    std::thread reader([&] { ReaderLoop(stream.get(), &state); });
    std::thread writer([&] { WriterLoop(stream.get(), &state); });
    std::string why;
    bool up = false;  // the stream has proven itself (an ack, or time)
    bool call_over = false;
    {
      absl::MutexLock lock(&mu_);
      while (!state.reader_done && !shutdown_ && !session_lost_) {
        const absl::Time now = absl::Now();
        if (!up && (state.got_ack || now - opened > backoff.max())) {
          up = true;
          backoff.Reset();
          if (outage.Success(now)) {
            Log(absl::StrCat("trajectory stream re-established after ", outage.attempts(),
                             " failed attempt(s) over ", FormatSeconds(outage.duration())));
          }
        }
        // Deadlines: the oldest sent chunk's ack; the reader's end after a
        // failed write (the call is over, Read() returns soon); the point at
        // which the stream counts as up.
        absl::Time deadline = absl::InfiniteFuture();
        if (options_.ack_timeout > absl::ZeroDuration() && !window_.empty() &&
            window_.front().sent) {
          const absl::Time ack_deadline = window_.front().sent_at + options_.ack_timeout;
          if (now >= ack_deadline) {
            why = absl::StrCat("no ack for chunk seq ", window_.front().seq, " within ",
                               FormatSeconds(options_.ack_timeout));
            break;
          }
          deadline = std::min(deadline, ack_deadline);
        }
        if (state.writer_failed) {
          const absl::Time give_up = state.writer_failed_at + absl::Seconds(2);
          if (now >= give_up) break;
          deadline = std::min(deadline, give_up);
        }
        if (!up) deadline = std::min(deadline, opened + backoff.max() + absl::Milliseconds(1));
        if (deadline == absl::InfiniteFuture()) {
          cv_.Wait(&mu_);
        } else {
          cv_.WaitWithDeadline(&mu_, deadline);
        }
      }
      context_ = nullptr;
      call_over = state.reader_done;
    }
    // Cancelling unblocks a Write stalled by flow control and a pending Read.
    // Once Read() has returned false the call is over: cancelling then would
    // replace the real status (e.g. UNAVAILABLE) with CANCELLED in Finish().
    if (!call_over) context->TryCancel();
    writer.join();
    reader.join();
    const grpc::Status status = stream->Finish();
    std::string lost;
    size_t unacked = 0;
    {
      absl::MutexLock lock(&mu_);
      if (shutdown_ || session_lost_ || (closing_ && window_.empty())) break;
      unacked = window_.size();
      if (status.ok()) learner_stopped_ = true;  // we did not half-close: it stopped
      if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
        lost = absl::StrCat("trajectory stream: learner does not know session ",
                            absl::Hex(options_.session_id), " (", status.error_message(), ")");
      } else if (status.error_code() == grpc::StatusCode::ABORTED) {
        lost = absl::StrCat("trajectory stream aborted: session ", absl::Hex(options_.session_id),
                            " superseded (", status.error_message(), ")");
      }
    }
    cv_.SignalAll();  // WaitAllAcked watches learner_stopped_
    if (!lost.empty()) {
      LoseSession(lost);
      break;
    }
    const absl::Duration delay = backoff.Next();
    if (why.empty()) {
      why = status.ok() ? std::string("trajectory stream ended by the learner")
                        : absl::StrCat("trajectory stream broken (",
                                       absl::StatusCodeToString(
                                           static_cast<absl::StatusCode>(status.error_code())),
                                       ": ", status.error_message(), ")");
    }
    if (outage.Failure(absl::Now())) {
      Log(absl::StrCat(why, "; reconnecting with backoff (attempt ", outage.attempts(), ", ",
                       unacked, " unacknowledged chunk(s) to resend)"));
    }
    absl::MutexLock lock(&mu_);
    const absl::Time retry_at = absl::Now() + delay;
    while (!shutdown_ && !session_lost_ && !cv_.WaitWithDeadline(&mu_, retry_at)) {
    }
  }
  {
    absl::MutexLock lock(&mu_);
    supervisor_done_ = true;
  }
  cv_.SignalAll();
}

void ChunkSender::WriterLoop(Stream* stream, StreamState* state) {
  while (true) {
    std::shared_ptr<const v1::TrajectoryChunk> chunk;
    {
      absl::MutexLock lock(&mu_);
      Entry* next = nullptr;
      while (true) {
        if (state->reader_done || shutdown_ || session_lost_) return;
        next = nullptr;
        for (Entry& e : window_) {
          if (!e.sent) {
            next = &e;
            break;
          }
        }
        if (next != nullptr || (closing_ && window_.empty())) break;
        cv_.Wait(&mu_);
      }
      if (next == nullptr) {
        state->half_closed = true;
      } else {
        next->sent = true;
        next->sent_at = absl::Now();
        in_flight_.push_back(next->seq);
        ++stats_.writes;
        chunk = next->chunk;
      }
    }
    cv_.SignalAll();  // the supervisor may now time the oldest ack
    if (chunk == nullptr) {
      // Everything is acknowledged and the session is closing: tell the
      // learner no more chunks come; it ends the stream with OK.
      stream->WritesDone();
      return;
    }
    if (!stream->Write(*chunk)) {
      {
        absl::MutexLock lock(&mu_);
        state->writer_failed = true;
        state->writer_failed_at = absl::Now();
      }
      cv_.SignalAll();
      return;
    }
  }
}

void ChunkSender::ReaderLoop(Stream* stream, StreamState* state) {
  v1::ChunkAck ack;
  while (stream->Read(&ack)) {
    std::string lost;
    {
      absl::MutexLock lock(&mu_);
      state->got_ack = true;
      lost = HandleAck(ack);
    }
    cv_.SignalAll();
    if (!lost.empty()) LoseSession(lost);
  }
  {
    absl::MutexLock lock(&mu_);
    state->reader_done = true;
  }
  cv_.SignalAll();
}

std::string ChunkSender::HandleAck(const v1::ChunkAck& ack) {
  ++stats_.acked;
  learner_stopped_ = false;  // an ack: a learner is (back) up; a SHUTTING_DOWN one sets it again
  stats_.learner_version = ack.learner_policy_version();
  stats_.learner_queued_transitions = ack.queued_transitions();
  // Acks come in the order chunks were written on this stream.
  if (!in_flight_.empty()) in_flight_.pop_front();
  const bool after_rewind = ignore_out_of_order_ > 0;
  if (after_rewind) --ignore_out_of_order_;
  const uint64_t seq = ack.seq();
  switch (ack.outcome()) {
    case v1::CHUNK_OUTCOME_REJECTED_UNKNOWN_SESSION:
      return absl::StrCat("learner does not know session ", absl::Hex(options_.session_id),
                          " (chunk seq ", seq, ack.reason().empty() ? "" : ": ", ack.reason(),
                          ")");
    case v1::CHUNK_OUTCOME_REJECTED_STALE_SESSION:
      return absl::StrCat("session ", absl::Hex(options_.session_id),
                          " was superseded by a newer registration (chunk seq ", seq, ")");
    case v1::CHUNK_OUTCOME_REJECTED_OUT_OF_ORDER: {
      // Acks of chunks written before a rewind are out of order too; the
      // rewind already covers them.
      if (after_rewind) return "";
      const uint64_t next = ack.next_expected_seq();
      while (!window_.empty() && window_.front().seq < next) window_.pop_front();
      if (!window_.empty() && window_.front().seq > next) {
        return absl::StrCat("learner expects chunk seq ", next,
                            " but the oldest unacknowledged chunk is seq ", window_.front().seq,
                            "; starting a new session");
      }
      ignore_out_of_order_ = in_flight_.size();
      for (Entry& e : window_) e.sent = false;
      Log(absl::StrCat("chunk seq ", seq, " out of order: learner expects seq ", next,
                       "; resending from there"));
      return "";
    }
    case v1::CHUNK_OUTCOME_ACCEPTED:
      ++stats_.accepted;
      break;
    case v1::CHUNK_OUTCOME_DUPLICATE:
      ++stats_.duplicates;
      break;
    case v1::CHUNK_OUTCOME_REJECTED_INVALID:
      ++stats_.rejected;
      Log(absl::StrCat("BUG: learner rejected chunk seq ", seq, " as invalid: ", ack.reason()));
      break;
    case v1::CHUNK_OUTCOME_REJECTED_TOO_LARGE:
      // The actor checks chunk sizes against the learner's hint before
      // sending, so this means the two disagree about the limit.
      ++stats_.rejected;
      Log(absl::StrCat("learner rejected chunk seq ", seq, " as too large: ", ack.reason()));
      break;
    case v1::CHUNK_OUTCOME_REJECTED_SHUTTING_DOWN:
      ++stats_.dropped;
      learner_stopped_ = true;
      if (!warned_shutting_down_) {
        warned_shutting_down_ = true;
        Log(absl::StrCat("learner is shutting down and takes no more data (chunk seq ", seq,
                         ")"));
      }
      break;
    default:  // dropped for policy lag / late for the round: informational
      ++stats_.dropped;
      break;
  }
  // The ack is final for `seq`, and everything below next_expected_seq has
  // been processed: neither needs resending.
  const uint64_t processed_below = std::max(seq + 1, ack.next_expected_seq());
  while (!window_.empty() && window_.front().seq < processed_below) window_.pop_front();
  return "";
}

}  // namespace proxima

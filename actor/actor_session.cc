#include "actor/actor_session.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "actor/channel_hints.h"

namespace proxima {

ActorSession::ActorSession(v1::Learner::StubInterface* stub, Options options)
    : options_(std::move(options)) {
  const v1::ChannelHints& hints = options_.hints;
  const absl::Duration backoff_initial =
      HintOr(hints.reconnect_backoff_initial(), absl::Milliseconds(100));
  const absl::Duration backoff_max = HintOr(hints.reconnect_backoff_max(), absl::Seconds(5));

  slot_ = std::make_unique<SnapshotSlot>();
  WeightWatcher::Options wo;
  wo.actor_id = options_.actor_id;
  wo.session_id = options_.session_id;
  wo.shape = options_.shape;
  wo.decode = options_.decode;
  wo.backoff_initial = backoff_initial;
  wo.backoff_max = backoff_max;
  wo.log = options_.log;
  wo.on_session_lost = options_.on_session_lost;
  watcher_ = std::make_unique<WeightWatcher>(stub, slot_.get(), std::move(wo));

  ChunkSender::Options so;
  so.actor_id = options_.actor_id;
  so.session_id = options_.session_id;
  so.window = hints.max_unacked_chunks() > 0 ? static_cast<int>(hints.max_unacked_chunks()) : 8;
  so.ack_timeout = HintOr(hints.ack_timeout(), absl::ZeroDuration());
  so.backoff_initial = backoff_initial;
  so.backoff_max = backoff_max;
  so.log = options_.log;
  so.on_session_lost = options_.on_session_lost;
  sender_ = std::make_unique<ChunkSender>(stub, std::move(so));
}

ActorSession::~ActorSession() = default;

void ActorSession::Start() {
  watcher_->Start();
  sender_->Start();
}

void ActorSession::Wake() {
  slot_->Wake();
  sender_->Wake();
}

ChunkSender::Stats ActorSession::Finish(bool graceful, absl::Duration final_ack_timeout,
                                        absl::Duration close_grace) {
  if (graceful) {
    if (!sender_->WaitAllAcked(absl::Now() + final_ack_timeout) && options_.log) {
      options_.log(absl::StrCat(sender_->unacked(),
                                " chunk(s) left unacknowledged (the learner stopped, ",
                                "is unreachable, or did not answer within ",
                                absl::FormatDuration(final_ack_timeout), ")"));
    }
    sender_->Shutdown(close_grace);
  }
  sender_->Shutdown(absl::ZeroDuration());
  return sender_->stats();
}

}  // namespace proxima

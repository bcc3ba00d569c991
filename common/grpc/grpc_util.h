// gRPC plumbing shared by the actor, the learner server, the `proxima`
// commands and tests, kept in one place: the channel a client opens to the
// learner (configured from ChannelHints), the client keepalive policy and the
// absl <-> gRPC status conversions.
#ifndef PROXIMA_COMMON_GRPC_GRPC_UTIL_H_
#define PROXIMA_COMMON_GRPC_GRPC_UTIL_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/grpc/channel_security.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/status.h"
#include "proxima/v1/config.pb.h"

namespace proxima {

// Message size limits the actor uses when the learner sets none (and before
// registration, when it has no hints yet).
inline constexpr int kDefaultMaxMessageBytes = 64 << 20;

// Keepalive of a client that has no hints from the learner (the `proxima`
// commands, RemoteEnv's env-server channels). Pings are sent only while a
// call is open; 30 s stays well above the interval the learner permits, so it
// never answers with "too many pings".
inline constexpr absl::Duration kDefaultKeepaliveTime = absl::Seconds(30);
inline constexpr absl::Duration kDefaultKeepaliveTimeout = absl::Seconds(10);

// The client keepalive policy, for every channel we open: pings exactly every
// `time` (GRPC_ARG_KEEPALIVE_TIME_MS) with `timeout` for the ack
// (GRPC_ARG_KEEPALIVE_TIMEOUT_MS), each set only when positive and clamped to
// [1 ms, INT_MAX ms]; gRPC's default of 2 pings without data is kept.
void SetKeepalive(absl::Duration time, absl::Duration timeout, grpc::ChannelArguments* args);

// Hints for a client that has none from the learner (the `proxima` commands, the
// local cluster's monitor): kDefaultKeepaliveTime/kDefaultKeepaliveTimeout,
// everything else unset (so MakeLearnerChannel's defaults apply).
v1::ChannelHints DefaultClientHints();

// A channel to `address` (HOST:PORT) configured from `hints`:
//  * max receive size >= hints.max_message_bytes (a weight snapshot is the
//    largest message); max send size = hints.max_message_bytes when set;
//  * keepalive (SetKeepalive) every keepalive_time (never faster, so the
//    learner, which permits that rate, never answers too_many_pings), with
//    keepalive_timeout for the ack; none when the hints set none;
//  * the channel's own reconnect backoff follows reconnect_backoff_*, so a
//    restarted learner is found as quickly as our retry loop asks for it;
//  * a private subchannel pool, so two actors in one process (tests) do not
//    share a connection and break each other's streams;
//  * TLS and the bearer token of `security` (common/grpc/channel_security.h);
//    plaintext without a token by default.
std::shared_ptr<grpc::Channel> MakeLearnerChannel(
    const std::string& address, const v1::ChannelHints& hints,
    const ChannelSecurity& security = ChannelSecurity());

// Asks `channel` to connect again at once: a subchannel waiting out its
// reconnect backoff after a failed connection attempt stops waiting, and the
// backoff starts over. For a retry loop after an UNAVAILABLE attempt, so the
// next attempt meets a fresh connection instead of failing at once on gRPC's
// timer. It does not shorten the DNS resolver's backoff after failed lookups
// (gRPC 1.51: 1 s growing to 2 minutes, measured unchanged by this call);
// only a new channel has a fresh resolver (actor/registration_retry.h).
// Null: nothing. Thread-safe.
void ReconnectNow(grpc::Channel* channel);

// gRPC status -> absl::Status: same code and message (the numeric codes are
// the same by design).
absl::Status ToAbslStatus(const grpc::Status& status);

// absl::Status -> gRPC status: same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The address a client on this machine dials to reach a server that listens
// on `listen` (HOST:PORT) and was bound to `port`: a wildcard host (empty,
// 0.0.0.0, ::, [::], *) becomes 127.0.0.1.
std::string DialableAddress(const std::string& listen, int port);

}  // namespace proxima

#endif  // PROXIMA_COMMON_GRPC_GRPC_UTIL_H_

// gRPC plumbing of the actor, kept in one place: the channel an actor opens to
// its learner (configured from ChannelHints) and the gRPC -> absl status
// conversion.
#ifndef PROXIMA_ACTOR_GRPC_UTIL_H_
#define PROXIMA_ACTOR_GRPC_UTIL_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/channel_security.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"
#include "proxima/v1/config.pb.h"

namespace proxima {

// Message size limits the actor uses when the learner sets none (and before
// registration, when it has no hints yet).
inline constexpr int kDefaultMaxMessageBytes = 64 << 20;

// A channel to `address` (HOST:PORT) configured from `hints`:
//  * max receive size >= hints.max_message_bytes (a weight snapshot is the
//    largest message); max send size = hints.max_message_bytes when set;
//  * keepalive pings exactly every keepalive_time (never faster, so the
//    learner, which permits that rate, never answers too_many_pings), with
//    keepalive_timeout for the ack; gRPC's default of 2 pings without data
//    is kept;
//  * the channel's own reconnect backoff follows reconnect_backoff_*, so a
//    restarted learner is found as quickly as our retry loop asks for it;
//  * a private subchannel pool, so two actors in one process (tests) do not
//    share a connection and break each other's streams;
//  * TLS and the bearer token of `security` (common/channel_security.h);
//    plaintext without a token by default.
std::shared_ptr<grpc::Channel> MakeLearnerChannel(
    const std::string& address, const v1::ChannelHints& hints,
    const ChannelSecurity& security = ChannelSecurity());

// Same code and message.
absl::Status ToAbslStatus(const grpc::Status& status);

// The address a client on this machine dials to reach a server that listens
// on `listen` (HOST:PORT) and was bound to `port`: a wildcard host (empty,
// 0.0.0.0, ::, [::], *) becomes 127.0.0.1.
std::string DialableAddress(const std::string& listen, int port);

}  // namespace proxima

#endif  // PROXIMA_ACTOR_GRPC_UTIL_H_

#include "common/grpc/grpc_util.h"

#include <algorithm>
#include <climits>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/grpc/backoff.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace proxima {
namespace {

// The shortest wait between two DNS resolutions of a learner's name (gRPC's
// default: 30 s). A resolution happens only when a connection fails.
constexpr int kDnsMinMillisBetweenResolutions = 1000;

int ClampMillis(absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  return static_cast<int>(std::clamp<int64_t>(ms, 1, INT_MAX));
}

}  // namespace

void SetKeepalive(absl::Duration time, absl::Duration timeout, grpc::ChannelArguments* args) {
  if (time > absl::ZeroDuration()) {
    args->SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, ClampMillis(time));
  }
  if (timeout > absl::ZeroDuration()) {
    args->SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ClampMillis(timeout));
  }
}

v1::ChannelHints DefaultClientHints() {
  v1::ChannelHints hints;
  hints.mutable_keepalive_time()->set_seconds(absl::ToInt64Seconds(kDefaultKeepaliveTime));
  hints.mutable_keepalive_timeout()->set_seconds(absl::ToInt64Seconds(kDefaultKeepaliveTimeout));
  return hints;
}

std::shared_ptr<grpc::Channel> MakeLearnerChannel(const std::string& address,
                                                  const v1::ChannelHints& hints,
                                                  const ChannelSecurity& security) {
  grpc::ChannelArguments args;
  const uint64_t hinted = hints.max_message_bytes();
  const int send_limit =
      hinted > 0 ? static_cast<int>(std::min<uint64_t>(hinted, INT_MAX)) : kDefaultMaxMessageBytes;
  const int receive_limit = std::max(send_limit, kDefaultMaxMessageBytes);
  args.SetMaxSendMessageSize(send_limit);
  args.SetMaxReceiveMessageSize(receive_limit);
  const absl::Duration keepalive =
      DurationFromProto(hints.keepalive_time().seconds(), hints.keepalive_time().nanos());
  const absl::Duration keepalive_timeout =
      DurationFromProto(hints.keepalive_timeout().seconds(), hints.keepalive_timeout().nanos());
  SetKeepalive(keepalive, keepalive_timeout, &args);
  const Backoff backoff = Backoff::FromHints(hints, 0);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, ClampMillis(backoff.initial()));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, ClampMillis(backoff.initial()));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, ClampMillis(backoff.max()));
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // A learner that comes back at a new address under the same DNS name (a
  // Swarm service with endpoint_mode dnsrr, a headless Kubernetes Service) is
  // found at the next reconnect: gRPC's default of 30 s between resolutions
  // kept actors dialling the dead address that long (docs/deploy.md, Swarm).
  args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, kDnsMinMillisBetweenResolutions);
  return security.CreateChannel(address, args);
}

void ReconnectNow(grpc::Channel* channel) {
  if (channel != nullptr) grpc::experimental::ChannelResetConnectionBackoff(channel);
}

absl::Status ToAbslStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

std::string DialableAddress(const std::string& listen, int port) {
  const size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? std::string() : listen.substr(0, colon);
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::" || host == "*") {
    host = "127.0.0.1";
  }
  return absl::StrCat(host, ":", port);
}

}  // namespace proxima

#include "learner/server/learner_options.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace proxima {

absl::Status LearnerOptions::Validate() const {
  auto bad = [](const char* flag, auto got, absl::string_view range) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " must be ", range, " (got ",
                                                   got, ")"));
  };
  if (listen.empty() || listen.rfind(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen must be HOST:PORT (got '", listen, "')"));
  }
  // An HTTP listen flag: empty (off) or HOST:PORT.
  for (const auto& [flag, value] : {std::pair<const char*, const std::string*>{
                                        "metrics-listen", &metrics_listen},
                                    {"dashboard-listen", &dashboard_listen}}) {
    if (value->empty()) continue;
    const size_t colon = value->rfind(':');
    int port = -1;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(absl::string_view(*value).substr(colon + 1), &port) || port < 0 ||
        port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag, " must be HOST:PORT with a port in 0..65535 (got '", *value, "')"));
    }
  }
  if (resume_or_start && resume_dir.empty()) {
    return absl::InvalidArgumentError("--resume-or-start needs --resume DIR");
  }
  if (max_policy_lag < 0) return bad("max-policy-lag", max_policy_lag, ">= 0");
  if (target_policy_lag < 0 || (max_policy_lag > 0 && target_policy_lag > max_policy_lag)) {
    return bad("target-policy-lag", target_policy_lag,
               absl::StrCat("in [0, --max-policy-lag = ", max_policy_lag,
                            "] (0 = no flow control)"));
  }
  if (queue_capacity < 0) return bad("queue-capacity", queue_capacity, ">= 0");
  if (actor_num_envs < 0 || actor_num_envs > 65536) {
    return bad("actor-num-envs", actor_num_envs, "in [0, 65536]");
  }
  if (max_actors < 1) return bad("max-actors", max_actors, ">= 1");
  if (max_unacked_chunks < 1 || max_unacked_chunks > 1024) {
    return bad("max-unacked-chunks", max_unacked_chunks, "in [1, 1024]");
  }
  if (max_message_bytes < (1 << 16) || max_message_bytes > (int64_t{1} << 31) - 1) {
    return bad("max-message-bytes", max_message_bytes, "in [65536, 2^31)");
  }
  if (!(max_chunks_per_second >= 0 && max_chunks_per_second <= 1e6)) {
    return bad("max-chunks-per-second", max_chunks_per_second, "in [0, 1e6] (0 = unlimited)");
  }
  if (min_actors < 1 || min_actors > max_actors) {
    return bad("min-actors", min_actors, "in [1, --max-actors]");
  }
  if (!(sync_round_timeout_seconds > 0)) {
    return bad("sync-round-timeout", sync_round_timeout_seconds, "> 0");
  }
  if (!(checkpoint_every_seconds >= 0)) {
    return bad("checkpoint-every-seconds", checkpoint_every_seconds, ">= 0");
  }
  if (checkpoint_every_updates < 0) {
    return bad("checkpoint-every-updates", checkpoint_every_updates, ">= 0");
  }
  if (keep_checkpoints < 1) return bad("keep-checkpoints", keep_checkpoints, ">= 1");
  PROXIMA_RETURN_IF_ERROR(eval.Validate());
  if (!(grace_period_seconds > 0)) return bad("grace-period", grace_period_seconds, "> 0");
  if (!(keepalive_seconds >= 1)) return bad("keepalive-seconds", keepalive_seconds, ">= 1");
  if (!(keepalive_timeout_seconds > 0)) {
    return bad("keepalive-timeout-seconds", keepalive_timeout_seconds, "> 0");
  }
  if (tls_cert.empty() != tls_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key go together (the server certificate and its key)");
  }
  if (!tls_ca.empty() && tls_cert.empty()) {
    return absl::InvalidArgumentError(
        "--tls-ca verifies client certificates and needs TLS (--tls-cert and --tls-key)");
  }
  if (require_client_cert && tls_ca.empty()) {
    return absl::InvalidArgumentError(
        "--require-client-cert needs --tls-ca (the CA that signs client certificates) and "
        "--tls-cert/--tls-key");
  }
  if (!auth_tokens_file.empty() && !auth_tokens.empty()) {
    return absl::InvalidArgumentError(
        "bearer tokens come from --auth-tokens-file or $PROXIMA_AUTH_TOKENS, not both");
  }
  return absl::OkStatus();
}

int LearnerOptions::TransportMessageLimit() const {
  const int64_t limit = max_message_bytes + max_message_bytes / 4;
  return static_cast<int>(std::min<int64_t>(limit, std::numeric_limits<int>::max()));
}

}  // namespace proxima

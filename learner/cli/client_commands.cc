#include "learner/cli/client_commands.h"

#include <chrono>
#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/grpc/grpc_util.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "learner/checkpoint_names.h"
#include "learner/server/lag_report.h"
#include "learner/server/time_breakdown.h"
#include "proxima/v1/admin_service.grpc.pb.h"
#include "proxima/v1/config.pb.h"
#include "proxima/v1/trajectory.pb.h"

namespace proxima {
namespace {

using google::protobuf::util::TimeUtil;

// Width the hyperparameter lines of `status` are filled to.
constexpr size_t kLineWidth = 96;

// The channel every command opens: the client keepalive (so a watch on a
// dead learner ends instead of hanging) and the default message-size limit,
// which a status with a thousand actors is far below; plaintext unless
// --tls-ca/--tls-cert are given (docs/security.md).
std::shared_ptr<grpc::Channel> LearnerChannel(const ClientOptions& options) {
  return MakeLearnerChannel(options.learner, DefaultClientHints(), options.security);
}

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(timeout));
}

std::string ToJson(const google::protobuf::Message& message, bool multiline) {
  google::protobuf::util::JsonPrintOptions options;
  // Field names as in the .proto files (what scripts and docs use), and zero
  // values printed, so that a script can read "updates": 0 instead of
  // special-casing a missing key.
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.add_whitespace = multiline;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) return absl::StrCat("{\"error\": \"", status.ToString(), "\"}");
  if (multiline) absl::StripTrailingAsciiWhitespace(&json);
  return json;
}

// Enum value name without its prefix, lower case: the display convention of
// status.proto ("CHUNK_OUTCOME_DROPPED_POLICY_LAG" → "dropped_policy_lag").
std::string EnumDisplayName(const std::string& name, absl::string_view prefix) {
  return absl::AsciiStrToLower(absl::StripPrefix(name, prefix));
}

// NaN means "no episode yet" in status.proto.
std::string Number(double v, int precision = 1) {
  if (!std::isfinite(v)) return "-";
  return absl::StrFormat("%.*f", precision, v);
}

std::string HumanDuration(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 60) return absl::StrCat(seconds, "s");
  if (seconds < 3600) return absl::StrFormat("%dm%02ds", seconds / 60, seconds % 60);
  return absl::StrFormat("%dh%02dm%02ds", seconds / 3600, (seconds / 60) % 60, seconds % 60);
}

std::string Ago(const google::protobuf::Timestamp& then, const google::protobuf::Timestamp& now) {
  if (then.seconds() == 0 && then.nanos() == 0) return "never";
  return HumanDuration(TimeUtil::DurationToSeconds(now - then)) + " ago";
}

// The error line of a failed RPC, and its exit status: 2 when the learner
// refused the request's content, 1 otherwise.
int ReportRpcError(absl::string_view command, const ClientOptions& options,
                   const grpc::Status& status, std::ostream& err) {
  err << "proxima " << command << ": " << DescribeRpcError(options.learner, status) << "\n";
  return status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? 2 : 1;
}

std::string CheckpointLine(const v1::CheckpointInfo& c) {
  return absl::StrFormat("%s (version %d, %d env steps, %d updates, %d bytes)", c.path(),
                         c.policy_version(), c.env_steps(), c.updates(), c.size_bytes());
}

}  // namespace

std::string DescribeRpcError(const std::string& target, const grpc::Status& status) {
  const std::string code =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
  const std::string detail =
      status.error_message().empty() ? code : absl::StrCat(code, ": ", status.error_message());
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return absl::StrCat("cannot reach learner at ", target, ": ", detail);
  }
  // Either a learner too busy to answer or an address that drops packets.
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::StrCat("no answer from learner at ", target, " before the deadline (--timeout): ",
                        detail);
  }
  return absl::StrCat("learner at ", target, " answered ", detail);
}

absl::StatusOr<v1::LearnerStatus> FetchLearnerStatus(v1::Monitor::StubInterface& monitor,
                                                     bool include_actors,
                                                     absl::Duration timeout) {
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  v1::GetStatusRequest request;
  request.set_include_actors(include_actors);
  v1::LearnerStatus status;
  grpc::Status s = monitor.GetStatus(&context, request, &status);
  if (!s.ok()) return ToAbslStatus(s);
  return status;
}

absl::StatusOr<std::map<std::string, std::string>> ParseAssignments(
    const std::vector<std::string>& args) {
  if (args.empty()) return absl::InvalidArgumentError("set needs at least one KEY=VALUE");
  std::map<std::string, std::string> values;
  for (const std::string& arg : args) {
    const size_t eq = arg.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("expected KEY=VALUE, got '", arg, "'"));
    }
    std::string key = absl::StrReplaceAll(
        absl::StripAsciiWhitespace(absl::string_view(arg).substr(0, eq)), {{"-", "_"}});
    std::string value(absl::StripAsciiWhitespace(absl::string_view(arg).substr(eq + 1)));
    if (key.empty() || value.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected KEY=VALUE with both parts non-empty, got '", arg, "'"));
    }
    if (!values.emplace(key, value).second) {
      return absl::InvalidArgumentError(absl::StrCat("key '", key, "' given twice"));
    }
  }
  return values;
}

std::string FormatTimeBreakdown(const v1::TimeBreakdown& t) {
  const TimeShareRow r = SharesOf(t);
  auto pct = [](double share) { return static_cast<int>(std::lround(100 * share)); };
  return absl::StrFormat(
      "learner: update %d%%  publish %d%%  waiting for data %d%%  ingest %d%%;  "
      "actors: env %d%%  inference %d%%  send window %d%%  weights %d%%",
      pct(r.update), pct(r.publish), pct(r.wait_batch), pct(r.ingest), pct(r.env),
      pct(r.inference), pct(r.send_wait), pct(r.weights_wait));
}

std::string FormatLearnerStatus(const v1::LearnerStatus& s) {
  std::string out;
  const std::string state = EnumDisplayName(v1::ServingState_Name(s.serving_state()),
                                            "SERVING_STATE_");
  const std::string mode = EnumDisplayName(v1::TrainingMode_Name(s.mode()), "TRAINING_MODE_");
  absl::StrAppendFormat(&out, "%-16s%s%s  mode %s  device %s  up %s\n", "learner", state,
                        s.paused() ? ", PAUSED" : "", mode, s.device().empty() ? "-" : s.device(),
                        HumanDuration(s.uptime().seconds()));
  absl::StrAppendFormat(&out, "%-16s%s  %s\n", "run", s.env_id(), s.run_dir());
  absl::StrAppendFormat(&out, "%-16s%d  updates %d (%.2f/s)\n", "policy version",
                        s.policy_version(), s.updates(), s.updates_per_second());
  absl::StrAppendFormat(&out, "%-16s%d  (%.0f steps/s)\n", "env steps", s.env_steps(),
                        s.env_steps_per_second());
  absl::StrAppendFormat(&out, "%-16s%d  mean return %s  mean length %s  (last 100)\n",
                        "episodes", s.episodes(), Number(s.mean_episode_return(), 2),
                        Number(s.mean_episode_length(), 1));
  absl::StrAppendFormat(&out, "%-16s%d connected\n", "actors", s.actors_connected());
  // "queue" is the buffer (queue_transitions of queue_capacity); "queued" in
  // the accounting below also counts the chunks held by streams waiting for
  // room and the batch being assembled or trained, so say how they add up.
  absl::StrAppendFormat(&out, "%-16s%d / %d transitions buffered", "queue", s.queue_transitions(),
                        s.queue_capacity());
  if (s.transitions_queued() > s.queue_transitions()) {
    absl::StrAppendFormat(&out, ", + %d held by streams or in the batch = %d queued",
                          s.transitions_queued() - s.queue_transitions(), s.transitions_queued());
  }
  absl::StrAppend(&out, "\n");
  uint64_t dropped_total = 0;
  std::vector<std::string> reasons;
  for (const v1::DropCount& d : s.chunks_dropped()) {
    dropped_total += d.chunks();
    reasons.push_back(absl::StrCat(
        EnumDisplayName(v1::ChunkOutcome_Name(d.reason()), "CHUNK_OUTCOME_"), " ", d.chunks()));
  }
  absl::StrAppendFormat(&out, "%-16sreceived %d  trained %d  queued %d  dropped %d%s\n", "chunks",
                        s.chunks_received(), s.chunks_trained(), s.chunks_queued(), dropped_total,
                        reasons.empty() ? "" : absl::StrCat(" (", absl::StrJoin(reasons, ", "), ")"));
  absl::StrAppendFormat(&out, "%-16sreceived %d  trained %d  queued %d  dropped %d (%.1f%%)\n",
                        "transitions", s.transitions_received(), s.transitions_trained(),
                        s.transitions_queued(), TransitionsDropped(s), 100 * RunDroppedFraction(s));
  if (s.chunks_rate_limited() > 0) {
    absl::StrAppendFormat(&out, "%-16s%d chunks slowed by --max-chunks-per-second\n",
                          "rate limit", s.chunks_rate_limited());
  }
  if (s.mode() == v1::TRAINING_MODE_SYNC) {
    absl::StrAppendFormat(&out, "%-16s%d rounds, %d actor exclusions\n", "sync", s.sync_rounds(),
                          s.sync_round_exclusions());
  }
  if (s.has_time_recent()) {
    // Shares of wall time over the learner's recent window (docs/learner.md
    // "Where the time goes"), then the verdict built from them.
    absl::StrAppendFormat(&out, "%-16s%s  (last %.0fs, %d chunks)\n", "time",
                          FormatTimeBreakdown(s.time_recent()), s.time_recent().wall_seconds(),
                          s.time_recent().chunks());
    absl::StrAppendFormat(&out, "%-16s%s\n", "bottleneck", s.bottleneck());
  }
  if (s.has_last_checkpoint()) {
    absl::StrAppendFormat(&out, "%-16s%s, saved %s\n", "last checkpoint",
                          CheckpointLine(s.last_checkpoint()),
                          Ago(s.last_checkpoint().saved_at(), s.as_of()));
  } else {
    absl::StrAppendFormat(&out, "%-16snone yet\n", "last checkpoint");
  }
  if (s.has_last_update() && s.last_update().update() > 0) {
    const v1::UpdateMetrics& u = s.last_update();
    absl::StrAppendFormat(&out,
                          "%-16spolicy_loss %.4g  value_loss %.4g  entropy %.4g  approx_kl %.3g  "
                          "clipfrac %.3f  explained_var %.3f  %s\n",
                          "last update", u.policy_loss(), u.value_loss(), u.entropy(),
                          u.approx_kl(), u.clip_fraction(), u.explained_variance(),
                          LagAndDropsText(s));
  }
  // Sorted for a stable display (proto maps have no order).
  const std::map<std::string, std::string> hp(s.hyperparameters().begin(),
                                               s.hyperparameters().end());
  if (!hp.empty()) {
    // key=value pairs filled into lines: a few dozen keys stay a few lines.
    absl::StrAppend(&out, "hyperparameters\n");
    std::string line;
    for (const auto& [key, value] : hp) {
      const std::string item = absl::StrCat(key, "=", value.empty() ? "-" : value);
      if (!line.empty() && line.size() + 2 + item.size() > kLineWidth) {
        absl::StrAppend(&out, "  ", line, "\n");
        line.clear();
      }
      absl::StrAppend(&line, line.empty() ? "" : "  ", item);
    }
    if (!line.empty()) absl::StrAppend(&out, "  ", line, "\n");
  }
  if (!s.actors().empty()) {
    absl::StrAppend(&out, "actors\n", FormatActorTable(s.actors(), s.as_of()));
  }
  return out;
}

// Name order with a trailing number compared as a number: "actor-2" before
// "actor-10".
static bool NameLess(const std::string& a, const std::string& b) {
  auto key = [](const std::string& name) {
    size_t digits = name.size();
    while (digits > 0 && absl::ascii_isdigit(static_cast<unsigned char>(name[digits - 1]))) {
      --digits;
    }
    absl::string_view number = absl::string_view(name).substr(digits);
    while (number.size() > 1 && number[0] == '0') number.remove_prefix(1);
    // Without leading zeros, a longer number is the larger one.
    return std::make_tuple(name.substr(0, digits), number.size(), std::string(number), name);
  };
  return key(a) < key(b);
}

std::string FormatActorTable(const google::protobuf::RepeatedPtrField<v1::ActorInfo>& actors,
                             const google::protobuf::Timestamp& as_of) {
  // The name (what the operator chose, e.g. actor-3) leads and orders the
  // rows; the id is the learner's, given in registration order, so ids need
  // not follow the names.
  std::vector<const v1::ActorInfo*> rows;
  for (const v1::ActorInfo& a : actors) rows.push_back(&a);
  std::stable_sort(rows.begin(), rows.end(), [](const v1::ActorInfo* x, const v1::ActorInfo* y) {
    return NameLess(x->name(), y->name());
  });
  std::string out = absl::StrFormat("  %-16s %4s %-13s %5s %11s %9s %4s %8s %7s %7s %-9s %s\n",
                                    "name", "id", "state", "envs", "env steps", "steps/s", "lag",
                                    "version", "chunks", "dropped", "seen", "host:pid");
  for (const v1::ActorInfo* a : rows) {
    absl::StrAppendFormat(&out, "  %-16s %4d %-13s %5d %11d %9.0f %4d %8d %7d %7d %-9s %s:%d\n",
                          a->name(), a->actor_id(),
                          EnumDisplayName(v1::ActorState_Name(a->state()), "ACTOR_STATE_"),
                          a->num_envs(), a->env_steps(), a->env_steps_per_second(), a->lag(),
                          a->last_policy_version(), a->chunks(), a->chunks_dropped(),
                          Ago(a->last_seen(), as_of), a->hostname(), a->pid());
  }
  return out;
}

std::string FormatUpdateLine(const v1::UpdateMetrics& u) {
  return absl::StrFormat(
      "update %d  version %d  steps %d  %.0f steps/s  return %s  policy_loss %.4g  "
      "value_loss %.4g  entropy %.4g  approx_kl %.3g  clipfrac %.3f  explained_var %.3f  "
      "lag %.2f/%d  dropped %d (%.1f%%)  lr %.3g  %.3fs  "
      "time: learner update %.0f%% idle %.0f%%, actors env %.0f%% send %.0f%% weights %.0f%%",
      u.update(), u.policy_version(), u.env_steps(), u.env_steps_per_second(),
      Number(u.mean_episode_return(), 2), u.policy_loss(), u.value_loss(), u.entropy(),
      u.approx_kl(), u.clip_fraction(), u.explained_variance(), u.mean_lag(), u.max_lag(),
      u.dropped_steps(), 100 * u.dropped_fraction(), u.learning_rate(), u.update_seconds(),
      100 * u.learner_update_share(), 100 * u.learner_wait_batch_share(),
      100 * u.actor_env_share(), 100 * u.actor_send_wait_share(),
      100 * u.actor_weights_wait_share());
}

int StatusCommand(const ClientOptions& options, std::ostream& out, std::ostream& err) {
  auto monitor = v1::Monitor::NewStub(LearnerChannel(options));
  grpc::ClientContext context;
  SetDeadline(&context, options.timeout);
  v1::GetStatusRequest request;
  request.set_include_actors(true);
  v1::LearnerStatus status;
  grpc::Status s = monitor->GetStatus(&context, request, &status);
  if (!s.ok()) return ReportRpcError("status", options, s, err);
  if (options.json) {
    out << ToJson(status, true) << "\n";
  } else {
    out << absl::StrFormat("%-16s%s\n", "address", options.learner) << FormatLearnerStatus(status);
  }
  return 0;
}

int ActorsCommand(const ClientOptions& options, bool include_inactive, std::ostream& out,
                  std::ostream& err) {
  auto monitor = v1::Monitor::NewStub(LearnerChannel(options));
  grpc::ClientContext context;
  SetDeadline(&context, options.timeout);
  v1::ListActorsRequest request;
  request.set_include_inactive(include_inactive);
  v1::ListActorsResponse response;
  grpc::Status s = monitor->ListActors(&context, request, &response);
  if (!s.ok()) return ReportRpcError("actors", options, s, err);
  if (options.json) {
    out << ToJson(response, true) << "\n";
  } else {
    out << absl::StrFormat("%d actors (learner at policy version %d)\n", response.actors_size(),
                           response.policy_version())
        << FormatActorTable(response.actors(), response.as_of());
  }
  return 0;
}

int WatchCommand(const ClientOptions& options, int64_t count, std::ostream& out,
                 std::ostream& err) {
  auto monitor = v1::Monitor::NewStub(LearnerChannel(options));
  // No deadline: the stream lasts until the learner stops or we have `count`
  // updates. Keepalive (LearnerChannel) ends it if the learner vanishes.
  grpc::ClientContext context;
  v1::WatchMetricsRequest request;
  std::unique_ptr<grpc::ClientReaderInterface<v1::UpdateMetrics>> reader =
      monitor->WatchMetrics(&context, request);
  v1::UpdateMetrics update;
  int64_t seen = 0;
  while ((count == 0 || seen < count) && reader->Read(&update)) {
    ++seen;
    // JSON Lines: one object per update, so `jq` and friends can follow it.
    out << (options.json ? ToJson(update, false) : FormatUpdateLine(update)) << std::endl;
  }
  if (count > 0 && seen >= count) {
    // Done on our side: cancel so Finish does not wait for the next update.
    context.TryCancel();
    reader->Finish().IgnoreError();
    return 0;
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return ReportRpcError("watch", options, s, err);
  return 0;
}

int CheckpointCommand(const ClientOptions& options, const std::string& tag, std::ostream& out,
                      std::ostream& err) {
  if (!tag.empty()) {
    if (absl::Status bad = CheckCheckpointTag(tag); !bad.ok()) {
      err << "proxima checkpoint: --tag: " << bad.message() << "\n";
      return 2;
    }
  }
  auto admin = v1::Admin::NewStub(LearnerChannel(options));
  grpc::ClientContext context;
  SetDeadline(&context, options.timeout);
  v1::SaveCheckpointRequest request;
  request.set_tag(tag);
  v1::SaveCheckpointResponse response;
  grpc::Status s = admin->SaveCheckpoint(&context, request, &response);
  if (!s.ok()) return ReportRpcError("checkpoint", options, s, err);
  if (options.json) {
    out << ToJson(response, true) << "\n";
  } else {
    out << "checkpoint written: " << CheckpointLine(response.checkpoint()) << "\n";
  }
  return 0;
}

int PauseCommand(const ClientOptions& options, std::ostream& out, std::ostream& err) {
  auto admin = v1::Admin::NewStub(LearnerChannel(options));
  grpc::ClientContext context;
  SetDeadline(&context, options.timeout);
  v1::PauseRequest request;
  request.set_reason("proxima pause");
  v1::PauseResponse response;
  grpc::Status s = admin->Pause(&context, request, &response);
  if (!s.ok()) return ReportRpcError("pause", options, s, err);
  if (options.json) {
    out << ToJson(response, true) << "\n";
  } else {
    out << (response.was_paused() ? "already paused" : "paused") << " at policy version "
        << response.policy_version() << "\n";
  }
  return 0;
}

int ResumeCommand(const ClientOptions& options, std::ostream& out, std::ostream& err) {
  auto admin = v1::Admin::NewStub(LearnerChannel(options));
  grpc::ClientContext context;
  SetDeadline(&context, options.timeout);
  v1::ResumeResponse response;
  grpc::Status s = admin->Resume(&context, v1::ResumeRequest(), &response);
  if (!s.ok()) return ReportRpcError("resume", options, s, err);
  if (options.json) {
    out << ToJson(response, true) << "\n";
  } else {
    out << (response.was_paused() ? "resumed" : "was not paused") << " at policy version "
        << response.policy_version() << "\n";
  }
  return 0;
}

int SetCommand(const ClientOptions& options, const std::map<std::string, std::string>& values,
               bool validate_only, std::ostream& out, std::ostream& err) {
  auto admin = v1::Admin::NewStub(LearnerChannel(options));
  grpc::ClientContext context;
  SetDeadline(&context, options.timeout);
  v1::SetHyperparametersRequest request;
  request.mutable_values()->insert(values.begin(), values.end());
  request.set_validate_only(validate_only);
  v1::SetHyperparametersResponse response;
  grpc::Status s = admin->SetHyperparameters(&context, request, &response);
  if (!s.ok()) return ReportRpcError("set", options, s, err);
  if (options.json) out << ToJson(response, true) << "\n";
  if (!response.errors().empty()) {
    // All or nothing: nothing was applied.
    for (const v1::HyperparameterError& e : response.errors()) {
      err << "proxima set: " << e.key() << ": " << e.message() << "\n";
    }
    err << "proxima set: nothing changed\n";
    return 2;
  }
  if (!options.json) {
    const std::map<std::string, std::string> applied(response.applied().begin(),
                                                     response.applied().end());
    for (const auto& [key, value] : applied) out << key << " = " << value << "\n";
    if (validate_only) {
      out << "valid; nothing changed (--validate-only)\n";
    } else {
      out << "effective from update " << response.effective_from_update() << "\n";
    }
  }
  return 0;
}

int HealthCommand(const ClientOptions& options, std::ostream& out, std::ostream& err) {
  auto health = grpc::health::v1::Health::NewStub(LearnerChannel(options));
  grpc::ClientContext context;
  SetDeadline(&context, options.timeout);
  grpc::health::v1::HealthCheckRequest request;  // service "": the whole server
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status s = health->Check(&context, request, &response);
  if (!s.ok()) {
    err << "proxima health: " << DescribeRpcError(options.learner, s) << "\n";
    return 1;
  }
  const std::string name =
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
  if (options.json) out << ToJson(response, false) << "\n";
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    err << "proxima health: learner at " << options.learner << " is " << name << "\n";
    return 1;
  }
  if (!options.json) out << name << "\n";
  return 0;
}

}  // namespace proxima

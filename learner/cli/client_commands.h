// The `proxima` commands that talk to a running learner:
//
//   status      Monitor.GetStatus (actors included; where the time goes and
//               the bottleneck line)
//   actors      Monitor.ListActors
//   watch       Monitor.WatchMetrics, one line per trainer update (with the
//               time shares)
//   checkpoint  Admin.SaveCheckpoint
//   pause       Admin.Pause
//   resume      Admin.Resume
//   set         Admin.SetHyperparameters (all or nothing)
//   health      grpc.health.v1.Health/Check for the whole server ("")
//
// Each command writes its result to `out` and any error, as one line starting
// with "proxima <command>: ", to `err`, and returns the process exit status:
// 0 success; 1 the learner could not be reached or answered with an error
// (the line names the address and the gRPC status), or `health` found it not
// SERVING; 2 the learner refused the request's content (`set` with an unknown
// key or an invalid value). Arguments are validated by the caller (main) —
// bad command lines exit 2 before any RPC.
//
// Every unary RPC carries a deadline of ClientOptions::timeout, and calls do
// not wait for the channel to become ready, so an unreachable learner fails
// fast with UNAVAILABLE rather than hanging until the deadline.
#ifndef PROXIMA_LEARNER_CLI_CLIENT_COMMANDS_H_
#define PROXIMA_LEARNER_CLI_CLIENT_COMMANDS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/grpc/channel_security.h"
#include "grpcpp/support/status.h"
#include "proxima/v1/metrics.pb.h"
#include "proxima/v1/monitor_service.grpc.pb.h"
#include "proxima/v1/status.pb.h"

namespace proxima {

// How to reach the learner and how to print.
struct ClientOptions {
  std::string learner;                         // gRPC target, e.g. 127.0.0.1:50051
  absl::Duration timeout = absl::Seconds(5);   // deadline of every unary RPC
  bool json = false;                           // protobuf JSON instead of text
  ChannelSecurity security;                    // TLS and bearer token (docs/security.md)
};

// "cannot reach learner at ADDR: UNAVAILABLE: ..." for connection failures,
// "no answer from learner at ADDR before the deadline ..." for deadlines,
// "learner at ADDR answered CODE: ..." otherwise.
std::string DescribeRpcError(const std::string& target, const grpc::Status& status);

// Monitor.GetStatus with a deadline of `timeout`.
absl::StatusOr<v1::LearnerStatus> FetchLearnerStatus(v1::Monitor::StubInterface& monitor,
                                                     bool include_actors,
                                                     absl::Duration timeout);

// "key=value" arguments of `proxima set` → map. Keys may use dashes or
// underscores (normalized to underscores, the learner's spelling); values are
// passed through as text. InvalidArgument for a missing '=', an empty key or
// value, or a key given twice.
absl::StatusOr<std::map<std::string, std::string>> ParseAssignments(
    const std::vector<std::string>& args);

// Human-readable renderings (also used by tests). The status shows the run's
// dropped transitions and fraction so far (received vs dropped counters); an
// update line shows that update's dropped_steps and dropped_fraction.
std::string FormatLearnerStatus(const v1::LearnerStatus& status);
std::string FormatActorTable(const google::protobuf::RepeatedPtrField<v1::ActorInfo>& actors,
                             const google::protobuf::Timestamp& as_of);
std::string FormatUpdateLine(const v1::UpdateMetrics& update);
// One line of stage shares (learner and actors) of a TimeBreakdown.
std::string FormatTimeBreakdown(const v1::TimeBreakdown& t);

// The commands. `count` for watch: stop after that many updates (0: until the
// stream ends or the process is interrupted).
int StatusCommand(const ClientOptions& options, std::ostream& out, std::ostream& err);
int ActorsCommand(const ClientOptions& options, bool include_inactive, std::ostream& out,
                  std::ostream& err);
int WatchCommand(const ClientOptions& options, int64_t count, std::ostream& out,
                 std::ostream& err);
int CheckpointCommand(const ClientOptions& options, const std::string& tag,
                      std::ostream& out, std::ostream& err);
int PauseCommand(const ClientOptions& options, std::ostream& out, std::ostream& err);
int ResumeCommand(const ClientOptions& options, std::ostream& out, std::ostream& err);
int SetCommand(const ClientOptions& options, const std::map<std::string, std::string>& values,
               bool validate_only, std::ostream& out, std::ostream& err);
int HealthCommand(const ClientOptions& options, std::ostream& out, std::ostream& err);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_CLIENT_COMMANDS_H_

#include "learner/cli/bench/learner_process.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/grpc/grpc_util.h"
#include "common/status_macros.h"
#include "grpcpp/client_context.h"
#include "learner/cli/client_commands.h"
#include "proxima/v1/admin_service.grpc.pb.h"
#include "proxima/v1/monitor_service.grpc.pb.h"

namespace proxima::bench {
namespace {

constexpr absl::Duration kStartupTimeout = absl::Seconds(60);
// After SIGTERM the learner finishes its update and checkpoints; then SIGKILL.
constexpr absl::Duration kStopGrace = absl::Seconds(5);

std::string TailOf(const std::string& path, int lines) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return "";
  std::vector<std::string> all = absl::StrSplit(*text, '\n', absl::SkipEmpty());
  if (all.size() > static_cast<size_t>(lines)) all.erase(all.begin(), all.end() - lines);
  return absl::StrJoin(all, "\n");
}

}  // namespace

absl::StatusOr<std::unique_ptr<LearnerProcess>> LearnerProcess::Start(
    const BenchOptions& options, const std::string& run_dir, std::vector<std::string> flags) {
  std::error_code ec;
  std::filesystem::remove_all(run_dir, ec);  // the previous bench run's
  PROXIMA_RETURN_IF_ERROR(MakeDirs(run_dir));
  auto p = std::unique_ptr<LearnerProcess>(new LearnerProcess());
  p->log_path_ = run_dir + "/learner.log";
  for (const char* a : {"--listen", "127.0.0.1:0", "--run-dir"}) flags.push_back(a);
  flags.push_back(run_dir);
  flags.push_back("--quiet");
  const std::string binary = options.bin_dir + "/proxima-learner";
  absl::StatusOr<Child> child = StartChild(binary, flags, p->log_path_);
  if (!child.ok()) return p->Error(absl::StrCat("cannot start ", binary), child.status());
  p->child_ = *child;
  absl::StatusOr<std::string> address = WaitForLearnerAddress(run_dir, p->child_, kStartupTimeout);
  if (!address.ok()) {
    p->Stop();
    return p->Error("the learner did not start", address.status());
  }
  p->address_ = *address;
  return p;
}

void LearnerProcess::Stop() {
  if (child_.pid <= 0) return;
  StopChild(child_, kStopGrace);
  child_.pid = -1;
}

absl::Status LearnerProcess::Pause(absl::string_view reason) const {
  auto admin = v1::Admin::NewStub(MakeLearnerChannel(address_, DefaultClientHints()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(kUnaryDeadline));
  v1::PauseRequest request;
  request.set_reason(std::string(reason));
  v1::PauseResponse response;
  const grpc::Status s = admin->Pause(&context, request, &response);
  if (!s.ok()) return Error("Admin.Pause failed", ToAbslStatus(s));
  return absl::OkStatus();
}

absl::StatusOr<v1::LearnerStatus> LearnerProcess::GetStatus() const {
  auto monitor = v1::Monitor::NewStub(MakeLearnerChannel(address_, DefaultClientHints()));
  return FetchLearnerStatus(*monitor, false, kUnaryDeadline);
}

absl::Status LearnerProcess::Error(absl::string_view what, const absl::Status& cause) const {
  return absl::Status(cause.code(), absl::StrCat(what, ": ", cause.message(), " (log: ",
                                                 log_path_, ")\n", TailOf(log_path_, 10)));
}

double ProcessCpuSeconds(pid_t pid) {
  absl::StatusOr<std::string> stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return NAN;
  // Fields are counted after the ")" that ends the command name, which may
  // itself contain spaces.
  const size_t paren = stat->rfind(')');
  if (paren == std::string::npos) return NAN;
  std::vector<absl::string_view> f =
      absl::StrSplit(absl::string_view(*stat).substr(paren + 2), ' ', absl::SkipEmpty());
  // f[0] is field 3 (state), so utime (14) is f[11] and stime (15) f[12].
  uint64_t utime = 0, stime = 0;
  if (f.size() < 13 || !absl::SimpleAtoi(f[11], &utime) || !absl::SimpleAtoi(f[12], &stime)) {
    return NAN;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

nlohmann::json ProcessMemoryBytes(pid_t pid, absl::string_view key) {
  absl::StatusOr<std::string> status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  if (!status.ok()) return nullptr;
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    if (!absl::ConsumePrefix(&line, key) || !absl::ConsumePrefix(&line, ":")) continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    int64_t kb = 0;
    if (!parts.empty() && absl::SimpleAtoi(parts[0], &kb)) return kb * 1024;
  }
  return nullptr;
}

nlohmann::json Number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

}  // namespace proxima::bench

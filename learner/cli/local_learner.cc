#include "learner/cli/local_learner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/listening_line.h"
#include "common/subprocess.h"

namespace proxima {

LocalLearner::~LocalLearner() {
  StopPump();
  for (int fd : {out_, log_}) {
    if (fd >= 0) ::close(fd);
  }
}

absl::Status LocalLearner::Start(const std::string& binary,
                                   const std::vector<std::string>& args,
                                   const std::string& log_path) {
  absl::StatusOr<int> log = OpenAppend(log_path);
  if (!log.ok()) return log.status();
  log_ = *log;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  WriteAll(log_, absl::StrCat("==> proxima train: ", binary, " ", absl::StrJoin(args, " "), "\n"));
  SpawnOptions spawn;
  spawn.stdout_fd = pipe_fds[1];
  spawn.stderr_fd = log_;
  spawn.own_process_group = true;
  // SIGTERM on the launcher's death lets the learner checkpoint; its own
  // --grace-period bounds how long that takes.
  spawn.parent_death_signal = SIGTERM;
  absl::StatusOr<pid_t> pid = SpawnChild(binary, args, spawn);
  ::close(pipe_fds[1]);
  out_ = pipe_fds[0];
  reader_ = std::make_unique<LineReader>(out_);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  return absl::OkStatus();
}

absl::StatusOr<std::string> LocalLearner::ReadAddress(absl::Time deadline, int wake_fd) {
  absl::StatusOr<std::string> address = WaitForListeningLine(
      *reader_, kLearnerProgram, deadline,
      [this](absl::string_view line) { WriteAll(log_, absl::StrCat(line, "\n")); },  // keep it
      wake_fd);
  if (address.ok()) {
    WriteAll(log_, absl::StrCat(FormatListeningLine(kLearnerProgram, *address), "\n",
                                reader_->TakeBuffered()));
  } else if (absl::IsOutOfRange(address.status())) {
    WriteAll(log_, reader_->TakeBuffered());
    return absl::UnavailableError("the learner exited before it was listening");
  }
  return address;
}

void LocalLearner::StartPump() {
  if (::pipe2(pump_stop_, O_CLOEXEC) != 0) return;  // then the learner's log lacks its stdout
  ::fcntl(out_, F_SETFL, ::fcntl(out_, F_GETFL) | O_NONBLOCK);
  pump_ = std::thread([out = out_, stop = pump_stop_[0], log = log_] {
    char chunk[4096];
    pollfd fds[2] = {{out, POLLIN, 0}, {stop, POLLIN, 0}};
    bool stopping = false;
    while (true) {
      if (!stopping && ::poll(fds, 2, -1) < 0 && errno != EINTR) return;
      stopping = stopping || (fds[1].revents & POLLIN);
      const ssize_t n = ::read(out, chunk, sizeof chunk);
      if (n > 0) {
        WriteAll(log, absl::string_view(chunk, static_cast<size_t>(n)));
        continue;
      }
      // End of file, an error, or (when stopping) nothing left right now.
      if (n == 0 || stopping || (errno != EAGAIN && errno != EINTR)) return;
    }
  });
}

void LocalLearner::StopPump() {
  if (pump_.joinable()) {
    WriteAll(pump_stop_[1], "x");
    pump_.join();
  }
  for (int& fd : pump_stop_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

}  // namespace proxima

// common/logging: lines carry the name main set, reach stderr whole (one
// write each, never interleaved across threads), and a test sink sees each
// line with its severity.
#include "common/logging.h"

#include <unistd.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxima {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// Points file descriptor 2 at a pipe for its lifetime and collects what is
// written to it; Take() restores stderr and returns the bytes.
class StderrCapture {
 public:
  StderrCapture() {
    if (::pipe(pipe_) != 0) ADD_FAILURE() << "pipe failed";
    saved_ = ::dup(STDERR_FILENO);
    ::dup2(pipe_[1], STDERR_FILENO);
    ::close(pipe_[1]);
    reader_ = std::thread([this] {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(pipe_[0], buf, sizeof buf)) > 0) bytes_.append(buf, n);
    });
  }

  std::string Take() {
    ::dup2(saved_, STDERR_FILENO);  // closes the pipe's last write end
    ::close(saved_);
    reader_.join();
    ::close(pipe_[0]);
    return std::move(bytes_);
  }

 private:
  int pipe_[2] = {-1, -1};
  int saved_ = -1;
  std::thread reader_;
  std::string bytes_;
};

class LoggingTest : public ::testing::Test {
 protected:
  void TearDown() override { SetProcessName("proxima"); }
};

TEST_F(LoggingTest, PrefixesTheProcessNameAndRawTextIsLeftAlone) {
  EXPECT_EQ(ProcessName(), "proxima");
  SetProcessName("proxima-test");
  EXPECT_EQ(ProcessName(), "proxima-test");
  StderrCapture capture;
  LogInfo("run directory runs/x");
  LogWarning("slow");
  LogError(absl::StrCat("update failed: ", 3));
  LogRaw("\r[CartPole-v1] steps 10/20");
  LogRaw("checkpoint: skipping a.pt\n");
  EXPECT_EQ(capture.Take(),
            "proxima-test: run directory runs/x\n"
            "proxima-test: slow\n"
            "proxima-test: update failed: 3\n"
            "\r[CartPole-v1] steps 10/20"
            "checkpoint: skipping a.pt\n");
}

TEST_F(LoggingTest, ConcurrentLinesDoNotInterleave) {
  SetProcessName("proxima-learner");
  constexpr int kThreads = 8;
  constexpr int kLines = 300;
  // Long enough that a line written in pieces would show it.
  const std::string padding(300, 'x');
  StderrCapture capture;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &padding] {
      for (int i = 0; i < kLines; ++i) {
        LogInfo(absl::StrCat("thread ", t, " line ", i, " ", padding));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const std::string out = capture.Take();

  std::vector<std::string> lines = absl::StrSplit(out, '\n');
  ASSERT_EQ(lines.back(), "");  // every line ends with its newline
  lines.pop_back();
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLines));
  std::vector<int> next(kThreads, 0);  // each thread's lines arrive in order
  for (const std::string& line : lines) {
    int t = -1;
    for (int candidate = 0; candidate < kThreads; ++candidate) {
      if (absl::StartsWith(line, absl::StrCat("proxima-learner: thread ", candidate, " "))) {
        t = candidate;
      }
    }
    ASSERT_GE(t, 0) << line;
    EXPECT_EQ(line, absl::StrCat("proxima-learner: thread ", t, " line ", next[t], " ", padding));
    ++next[t];
  }
}

TEST_F(LoggingTest, SinkSeesEachLineWithItsSeverity) {
  SetProcessName("proxima-actor");
  std::vector<std::pair<LogSeverity, std::string>> seen;
  SetLogSinkForTesting([&seen](LogSeverity severity, absl::string_view text) {
    seen.emplace_back(severity, std::string(text));
  });
  LogInfo("a");
  LogWarning("b");
  LogError("c");
  LogRaw("d");
  SetLogSinkForTesting(nullptr);
  EXPECT_THAT(seen, ElementsAre(Pair(LogSeverity::kInfo, "proxima-actor: a\n"),
                                Pair(LogSeverity::kWarning, "proxima-actor: b\n"),
                                Pair(LogSeverity::kError, "proxima-actor: c\n"),
                                Pair(LogSeverity::kInfo, "d")));
}

}  // namespace
}  // namespace proxima

#include "tests/faults/fault_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/listening_line.h"
#include "gtest/gtest.h"

namespace proxima::faults {

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::vector<std::string> LearnerArgs(const std::string& run_dir, const std::string& listen,
                                     const std::vector<std::string>& extra) {
  std::vector<std::string> args = {BinPath("proxima-learner"),
                                   "--env",
                                   "CartPole-v1",
                                   "--seed",
                                   "1",
                                   "--listen",
                                   listen,
                                   "--run-dir",
                                   run_dir,
                                   "--total-steps",
                                   "1000000000",
                                   "--quiet",
                                   "--keepalive-seconds",
                                   "1",
                                   "--keepalive-timeout-seconds",
                                   "2"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

Learner StartLearner(const std::vector<std::string>& args, const std::string& log_path,
                     const std::string& failpoint) {
  std::vector<std::string> argv;
  if (!failpoint.empty()) {
    argv = {"/usr/bin/env", "PROXIMA_FAILPOINT=" + failpoint};
  }
  argv.insert(argv.end(), args.begin(), args.end());
  Learner l;
  l.process = std::make_unique<ChildProcess>(argv, log_path);
  const absl::StatusOr<std::string> address = l.process->ReadListeningAddress(kLearnerProgram, 60);
  EXPECT_TRUE(address.ok()) << address.status() << "; log:\n" << ReadWholeFile(log_path);
  if (address.ok()) l.address = *address;
  return l;
}

std::unique_ptr<ChildProcess> StartActor(const std::string& address, const std::string& name,
                                         const std::string& log_dir, int num_envs) {
  return std::make_unique<ChildProcess>(
      std::vector<std::string>{BinPath("proxima-actor"), "--learner", address, "--name", name,
                               "--num-envs", absl::StrCat(num_envs)},
      log_dir + "/" + name + ".log");
}

std::vector<std::unique_ptr<ChildProcess>> StartActors(const std::string& address,
                                                       const std::vector<std::string>& names,
                                                       const std::string& log_dir, int num_envs) {
  std::vector<std::unique_ptr<ChildProcess>> actors;
  for (const std::string& name : names) {
    actors.push_back(StartActor(address, name, log_dir, num_envs));
  }
  return actors;
}

LearnerClient::LearnerClient(const std::string& address)
    : channel_(grpc::CreateChannel(address, grpc::InsecureChannelCredentials())),
      monitor_(v1::Monitor::NewStub(channel_)),
      admin_(v1::Admin::NewStub(channel_)) {}

std::optional<v1::LearnerStatus> LearnerClient::Status(double timeout_seconds) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000)));
  v1::GetStatusRequest req;
  req.set_include_actors(true);
  v1::LearnerStatus st;
  if (!monitor_->GetStatus(&ctx, req, &st).ok()) return std::nullopt;
  return st;
}

bool LearnerClient::Pause() {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::PauseRequest req;
  req.set_reason("faults test");
  v1::PauseResponse resp;
  return admin_->Pause(&ctx, req, &resp).ok();
}

bool LearnerClient::Resume() {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::ResumeRequest req;
  v1::ResumeResponse resp;
  return admin_->Resume(&ctx, req, &resp).ok();
}

std::string AccountingError(const v1::LearnerStatus& st) {
  uint64_t dropped = 0, dropped_t = 0;
  for (const v1::DropCount& d : st.chunks_dropped()) {
    dropped += d.chunks();
    dropped_t += d.transitions();
  }
  std::string err;
  if (st.chunks_received() != st.chunks_trained() + dropped + st.chunks_queued()) {
    err += absl::StrCat("chunks: received ", st.chunks_received(), " != trained ",
                        st.chunks_trained(), " + dropped ", dropped, " + queued ",
                        st.chunks_queued(), "; ");
  }
  if (st.transitions_received() != st.transitions_trained() + dropped_t + st.transitions_queued()) {
    err += absl::StrCat("transitions: received ", st.transitions_received(), " != trained ",
                        st.transitions_trained(), " + dropped ", dropped_t, " + queued ",
                        st.transitions_queued());
  }
  return err;
}

std::string DropSummary(const v1::LearnerStatus& st) {
  std::string out = absl::StrCat("received ", st.chunks_received(), ", trained ",
                                 st.chunks_trained(), ", queued ", st.chunks_queued(),
                                 ", duplicate ", st.chunks_duplicate(), ", dropped {");
  for (const v1::DropCount& d : st.chunks_dropped()) {
    absl::StrAppend(&out, v1::ChunkOutcome_Name(d.reason()), ": ", d.chunks(), " ");
  }
  return out + "}";
}

bool AllStreaming(const v1::LearnerStatus& st, const std::vector<std::string>& names,
                  const std::map<std::string, uint64_t>& since) {
  for (const std::string& n : names) {
    const v1::ActorInfo* a = FindActor(st, n);
    if (a == nullptr || a->state() != v1::ACTOR_STATE_CONNECTED) return false;
    auto it = since.find(n);
    const uint64_t base = it == since.end() ? 0 : it->second;
    if (a->chunks() <= base) return false;
  }
  return true;
}

std::map<std::string, uint64_t> ChunksByName(const v1::LearnerStatus& st) {
  std::map<std::string, uint64_t> out;
  for (const v1::ActorInfo& a : st.actors()) out[a.name()] = a.chunks();
  return out;
}

int64_t RssBytes(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
      int64_t kb = 0;
      if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kb)) return kb * 1024;
    }
  }
  return 0;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int CountOccurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

ActorExit ParseActorExit(const std::string& log) {
  ActorExit e;
  const size_t p = log.rfind("chunk(s) in session ");
  if (p == std::string::npos) return e;
  const size_t line_start = log.rfind('\n', p) + 1;
  const size_t line_end = log.find('\n', p);
  const std::string line = log.substr(line_start, line_end - line_start);
  unsigned long long k = 0, s = 0, acked = 0, acc = 0, dup = 0;
  const size_t q = line.find("stopped after ");
  if (q == std::string::npos) return e;
  long long steps = 0;
  if (std::sscanf(line.c_str() + q,
                  "stopped after %lld env steps: %llu chunk(s) in session %llx, %llu acked in all "
                  "sessions (%llu accepted, %llu duplicate)",
                  &steps, &k, &s, &acked, &acc, &dup) == 6) {
    e.found = true;
    e.chunks_in_session = k;
    e.session_id = s;
    e.acked = acked;
    e.accepted = acc;
    e.duplicates = dup;
  }
  return e;
}

// ---------------------------------------------------------------------------
// TcpRelay

struct TcpRelay::Pipe {
  int client = -1, upstream = -1;
  std::string to_upstream, to_client;  // bytes read, not yet written
  bool client_eof = false, upstream_eof = false;
  // Hung up while silent: left out of poll() until forwarding resumes.
  bool client_hup = false, upstream_hup = false;
};

namespace {

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

TcpRelay::TcpRelay(const std::string& target) {
  const size_t colon = target.rfind(':');
  target_host_ = target.substr(0, colon);
  EXPECT_TRUE(absl::SimpleAtoi(target.substr(colon + 1), &target_port_)) << target;
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(listen_fd_, 64), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  address_ = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
  SetNonBlocking(listen_fd_);
  EXPECT_EQ(::pipe2(wake_, O_CLOEXEC | O_NONBLOCK), 0);
  thread_ = std::thread([this] { Loop(); });
}

TcpRelay::~TcpRelay() {
  stop_.store(true);
  Wake();
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void TcpRelay::Wake() {
  const char b = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_[1], &b, 1);
}

void TcpRelay::SetMode(Mode m) {
  mode_.store(m);
  Wake();
}

void TcpRelay::BreakAll() {
  break_.store(true);
  Wake();
}

void TcpRelay::Loop() {
  std::vector<std::unique_ptr<Pipe>> pipes;
  auto close_pipe = [](Pipe& p) {
    if (p.client >= 0) ::close(p.client);
    if (p.upstream >= 0) ::close(p.upstream);
    p.client = p.upstream = -1;
  };
  while (!stop_.load()) {
    if (break_.exchange(false)) {
      for (auto& p : pipes) {
        // RST rather than FIN: a broken network, not a polite close.
        linger lg{1, 0};
        ::setsockopt(p->client, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        ::setsockopt(p->upstream, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close_pipe(*p);
      }
      pipes.clear();
    }
    const Mode mode = mode_.load();
    std::vector<pollfd> fds;
    std::vector<std::pair<Pipe*, int>> owners;  // pipe, 0 = client fd, 1 = upstream fd
    fds.push_back({wake_[0], POLLIN, 0});
    owners.push_back({nullptr, -1});
    fds.push_back({listen_fd_, POLLIN, 0});
    owners.push_back({nullptr, -1});
    for (auto& p : pipes) {
      short cev = 0, uev = 0;
      if (mode != Mode::kSilent) {
        if (!p->client_eof && p->to_upstream.size() < (1 << 20)) cev |= POLLIN;
        if (!p->to_upstream.empty()) uev |= POLLOUT;
        if (mode == Mode::kForward) {
          if (!p->upstream_eof && p->to_client.size() < (1 << 20)) uev |= POLLIN;
          if (!p->to_client.empty()) cev |= POLLOUT;
        }
      }
      if (mode != Mode::kSilent) {
        p->client_eof |= p->client_hup;
        p->upstream_eof |= p->upstream_hup;
      }
      fds.push_back({p->client_hup && mode == Mode::kSilent ? -1 : p->client, cev, 0});
      owners.push_back({p.get(), 0});
      fds.push_back({p->upstream_hup && mode == Mode::kSilent ? -1 : p->upstream, uev, 0});
      owners.push_back({p.get(), 1});
    }
    if (::poll(fds.data(), fds.size(), 200) < 0) continue;
    if (fds[0].revents & POLLIN) {
      char buf[64];
      while (::read(wake_[0], buf, sizeof buf) > 0) {
      }
    }
    if (fds[1].revents & POLLIN) {
      while (true) {
        const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) break;
        const int u = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(target_port_));
        ::inet_pton(AF_INET, target_host_ == "localhost" ? "127.0.0.1" : target_host_.c_str(),
                    &addr.sin_addr);
        if (::connect(u, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
          ::close(u);
          ::close(c);
          continue;
        }
        SetNonBlocking(u);
        const int one = 1;
        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto p = std::make_unique<Pipe>();
        p->client = c;
        p->upstream = u;
        pipes.push_back(std::move(p));
        ++accepted_;
      }
    }
    char buf[65536];
    for (size_t i = 2; i < fds.size(); ++i) {
      Pipe* p = owners[i].first;
      if (p->client < 0) continue;
      const bool is_client = owners[i].second == 0;
      const int fd = is_client ? p->client : p->upstream;
      std::string& inbox = is_client ? p->to_upstream : p->to_client;
      std::string& outbox = is_client ? p->to_client : p->to_upstream;
      bool& eof = is_client ? p->client_eof : p->upstream_eof;
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        if (fds[i].events & POLLIN) {
          const ssize_t n = ::read(fd, buf, sizeof buf);
          if (n > 0) {
            inbox.append(buf, static_cast<size_t>(n));
          } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            eof = true;
          }
        } else if (fds[i].revents & (POLLHUP | POLLERR)) {
          if (mode != Mode::kSilent) {
            eof = true;
          } else {
            (is_client ? p->client_hup : p->upstream_hup) = true;
          }
        }
      }
      if ((fds[i].revents & POLLOUT) && !outbox.empty()) {
        const ssize_t n = ::send(fd, outbox.data(), outbox.size(), MSG_NOSIGNAL);
        if (n > 0) outbox.erase(0, static_cast<size_t>(n));
        if (n < 0 && errno != EAGAIN && errno != EINTR) eof = true;
      }
    }
    // A side that ended: once what it sent is delivered, close the pair.
    for (auto& p : pipes) {
      if (p->client < 0) continue;
      if ((p->client_eof && p->to_upstream.empty()) || (p->upstream_eof && p->to_client.empty())) {
        close_pipe(*p);
      }
    }
    pipes.erase(std::remove_if(pipes.begin(), pipes.end(),
                               [](const std::unique_ptr<Pipe>& p) { return p->client < 0; }),
                pipes.end());
  }
  for (auto& p : pipes) close_pipe(*p);
}

}  // namespace proxima::faults

#include "common/envs/remote_env.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/grpc/grpc_util.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/client_callback.h"
#include "proxima/v1/env_service.grpc.pb.h"
#include "proxima/v1/learner_service.pb.h"

namespace proxima {
namespace {

constexpr char kIdForm[] = "remote://HOST:PORT[/ENV_ID][?KEY=VALUE&...]";

// Decodes %XX escapes; InvalidArgument on a malformed one.
absl::StatusOr<std::string> PercentDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    int value = 0;
    if (i + 2 >= s.size() || !absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      return absl::InvalidArgumentError(absl::StrCat("bad %-escape in '", s, "'"));
    }
    for (int k = 1; k <= 2; ++k) {
      const char c = absl::ascii_tolower(static_cast<unsigned char>(s[i + k]));
      value = value * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
    }
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

// One channel per target in this process, shared by its RemoteEnvs (each
// session is a stream on it) and released with the last of them.
std::shared_ptr<grpc::Channel> SharedChannel(const std::string& target) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* channels = new std::map<std::string, std::weak_ptr<grpc::Channel>>();
  absl::MutexLock lock(&mu);
  std::weak_ptr<grpc::Channel>& slot = (*channels)[target];
  if (std::shared_ptr<grpc::Channel> channel = slot.lock()) return channel;
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(kDefaultMaxMessageBytes);
  args.SetMaxReceiveMessageSize(kDefaultMaxMessageBytes);
  SetKeepalive(kDefaultKeepaliveTime, kDefaultKeepaliveTimeout, &args);
  // A server that is still starting is found quickly by Connect's wait.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  slot = channel;
  return channel;
}

absl::StatusOr<Space> SpaceFromProto(const v1::Space& proto, const char* what) {
  if (proto.has_discrete()) {
    const int64_t n = proto.discrete().n();
    if (n < 1 || n > (int64_t{1} << 24)) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": Discrete(n) needs n in [1, 2^24] (got ", n, ")"));
    }
    return Space::Discrete(static_cast<int>(n));
  }
  if (!proto.has_box()) return absl::InvalidArgumentError(absl::StrCat(what, ": no space set"));
  const v1::BoxSpace& box = proto.box();
  if (box.shape_size() != 1 || box.shape(0) < 1 || box.shape(0) > (1 << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": Box shape must be [dim] with dim in [1, 2^20] (got [",
        absl::StrJoin(box.shape(), ", "), "]); v1 supports rank-1 boxes only"));
  }
  if (box.dtype() != v1::DTYPE_FLOAT32) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": Box dtype must be DTYPE_FLOAT32 (got ", box.dtype(), ")"));
  }
  const int64_t dim = box.shape(0);
  if (box.low_size() != dim || box.high_size() != dim) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": Box of shape [", dim, "] has ",
                                                   box.low_size(), " low and ", box.high_size(),
                                                   " high values"));
  }
  for (int i = 0; i < dim; ++i) {
    if (!(box.low(i) <= box.high(i))) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": Box low[", i, "] = ", box.low(i),
                                                     " is not <= high[", i, "] = ", box.high(i)));
    }
  }
  return Space::Box({box.low().begin(), box.low().end()}, {box.high().begin(), box.high().end()});
}

const char* KindName(v1::EnvResponse::KindCase kind) {
  switch (kind) {
    case v1::EnvResponse::kHello: return "hello";
    case v1::EnvResponse::kReset: return "reset";
    case v1::EnvResponse::kStep: return "step";
    default: return "an empty response";
  }
}

}  // namespace

absl::StatusOr<RemoteEnvAddress> ParseRemoteEnvId(absl::string_view id) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("remote env id \"", id, "\": ", why, "; expected ", kIdForm));
  };
  absl::string_view rest = id;
  if (!absl::ConsumePrefix(&rest, kRemoteEnvScheme)) return bad("does not start with remote://");
  absl::string_view query;
  if (const size_t q = rest.find('?'); q != absl::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  absl::string_view target = rest, path;
  if (const size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    target = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }
  const size_t colon = target.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return bad("no HOST:PORT");
  const absl::string_view host = target.substr(0, colon);
  if (absl::StartsWith(host, "[") != absl::EndsWith(host, "]")) return bad("unbalanced [ ]");
  if (host.find(':') != absl::string_view::npos && !absl::StartsWith(host, "[")) {
    return bad("an IPv6 host must be in brackets, e.g. [::1]:50061");
  }
  int port = 0;
  if (!absl::SimpleAtoi(target.substr(colon + 1), &port) || port < 1 || port > 65535) {
    return bad("PORT must be a number in [1, 65535]");
  }
  RemoteEnvAddress address;
  address.target = std::string(target);
  absl::StatusOr<std::string> env_id = PercentDecode(path);
  if (!env_id.ok()) return bad(env_id.status().message());
  address.env_id = *std::move(env_id);
  for (absl::string_view item : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const size_t eq = item.find('=');
    if (eq == absl::string_view::npos || eq == 0) return bad("options must be KEY=VALUE");
    absl::StatusOr<std::string> key = PercentDecode(item.substr(0, eq));
    absl::StatusOr<std::string> value = PercentDecode(item.substr(eq + 1));
    if (!key.ok()) return bad(key.status().message());
    if (!value.ok()) return bad(value.status().message());
    if (!address.options.emplace(*std::move(key), *std::move(value)).second) {
      return bad(absl::StrCat("option '", item.substr(0, eq), "' given twice"));
    }
  }
  return address;
}

// The Session stream as a callback reactor. The owning thread issues one
// read and one write per round trip and waits for both; gRPC's threads run
// the reactions. A hold, taken before StartCall and released once the owner
// is done with the stream, keeps the call open for those operations issued
// outside reactions; OnDone (the last reaction) follows the release, and the
// owner waits for it before the reactor is freed.
class RemoteEnv::Session final : public grpc::ClientBidiReactor<v1::EnvRequest, v1::EnvResponse> {
 public:
  explicit Session(const std::shared_ptr<grpc::Channel>& channel)
      : stub_(v1::Env::NewStub(channel)) {
    stub_->async()->Session(&context_, this);
    AddHold();
    StartCall();
  }

  ~Session() override { Close(absl::ZeroDuration()).IgnoreError(); }

  v1::EnvRequest request;
  v1::EnvResponse response;

  // Sends `request` and waits up to `timeout` for `response`. On failure the
  // call is over (cancelled if it timed out) and the status says why.
  absl::Status RoundTrip(absl::Duration timeout) {
    if (ended_) return EndedStatus();
    {
      absl::MutexLock lock(&mu_);
      write_pending_ = read_pending_ = true;
      write_ok_ = read_ok_ = false;
    }
    StartRead(&response);
    StartWrite(&request);
    bool in_time;
    {
      absl::MutexLock lock(&mu_);
      in_time = mu_.AwaitWithTimeout(absl::Condition(this, &Session::OpsDone), timeout);
      if (in_time && write_ok_ && read_ok_) return absl::OkStatus();
    }
    if (!in_time) {
      context_.TryCancel();
      End();
      return absl::DeadlineExceededError(absl::StrCat(
          "no reply within ", absl::FormatDuration(timeout), " (session cancelled)"));
    }
    End();  // the stream broke: its final status says why
    return EndedStatus();
  }

  // Half-closes and waits up to `timeout` for the server to end the call,
  // then cancels it. Returns the call's final status.
  grpc::Status Close(absl::Duration timeout) {
    if (!ended_) {
      StartWritesDone();
      ended_ = true;
      RemoveHold();
      if (!done_.WaitForNotificationWithTimeout(timeout)) {
        context_.TryCancel();
        done_.WaitForNotification();
      }
    }
    absl::MutexLock lock(&mu_);
    return final_status_;
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    write_pending_ = false;
    write_ok_ = ok;
  }
  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    read_pending_ = false;
    read_ok_ = ok;
  }
  void OnDone(const grpc::Status& status) override {
    {
      absl::MutexLock lock(&mu_);
      final_status_ = status;
    }
    done_.Notify();
  }

 private:
  bool OpsDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !write_pending_ && !read_pending_;
  }

  // Releases the hold (once) and waits for OnDone.
  void End() {
    if (!ended_) {
      ended_ = true;
      RemoveHold();
    }
    done_.WaitForNotification();
  }

  absl::Status EndedStatus() {
    absl::MutexLock lock(&mu_);
    if (final_status_.ok()) {
      return absl::InternalError("protocol error: the server ended the session without a reply");
    }
    return ToAbslStatus(final_status_);
  }

  std::unique_ptr<v1::Env::Stub> stub_;
  grpc::ClientContext context_;
  bool ended_ = false;  // owner thread only: the hold is released
  absl::Mutex mu_;
  bool write_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool read_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool write_ok_ ABSL_GUARDED_BY(mu_) = false;
  bool read_ok_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status final_status_ ABSL_GUARDED_BY(mu_);
  absl::Notification done_;
};

RemoteEnv::RemoteEnv(std::string id, std::string target, std::shared_ptr<grpc::Channel> channel,
                     const RemoteEnvOptions& options)
    : id_(std::move(id)),
      target_(std::move(target)),
      options_(options),
      channel_(std::move(channel)) {}

RemoteEnv::~RemoteEnv() {
  if (session_ != nullptr) session_->Close(options_.close_timeout).IgnoreError();
}

absl::StatusOr<std::unique_ptr<RemoteEnv>> RemoteEnv::Connect(absl::string_view id,
                                                              const RemoteEnvOptions& options) {
  absl::StatusOr<RemoteEnvAddress> address = ParseRemoteEnvId(id);
  if (!address.ok()) return address.status();
  std::shared_ptr<grpc::Channel> channel = SharedChannel(address->target);
  // Waits for a server that is starting; if none answers in time, the
  // session below fails fast with gRPC's reason (e.g. connection refused).
  channel->WaitForConnected(
      absl::ToChronoTime(absl::Now() + options.connect_timeout));
  std::unique_ptr<RemoteEnv> env(
      new RemoteEnv(std::string(id), address->target, std::move(channel), options));
  env->session_ = std::make_unique<Session>(env->channel_);

  v1::EnvHandshakeRequest* hello = env->session_->request.mutable_hello();
  hello->set_protocol_version(v1::PROTOCOL_VERSION_1);
  hello->set_env_id(address->env_id);
  for (const auto& [key, value] : address->options) (*hello->mutable_env_options())[key] = value;
  hello->set_client_name(options.client_name.empty()
                             ? absl::StrCat("proxima pid ", ::getpid())
                             : options.client_name);
  if (!env->RoundTrip(options.handshake_timeout, "handshake")) return env->status_;

  const v1::EnvHandshakeResponse& reply = env->session_->response.hello();
  auto fail = [&](absl::Status s) {
    return absl::Status(s.code(), absl::StrCat(env->id_, ": env server at ", env->target_, ": ",
                                               s.message()));
  };
  if (reply.protocol_version() != v1::PROTOCOL_VERSION_1) {
    return fail(absl::FailedPreconditionError(
        absl::StrCat("the server speaks protocol version ", reply.protocol_version(),
                     "; this client speaks only version 1")));
  }
  if (!reply.has_spec()) return fail(absl::InternalError("handshake reply without an EnvSpec"));
  const v1::EnvSpec& wire = reply.spec();
  absl::StatusOr<Space> obs_space = SpaceFromProto(wire.observation_space(), "observation_space");
  if (!obs_space.ok()) return fail(obs_space.status());
  if (obs_space->is_discrete()) {
    return fail(absl::InvalidArgumentError(
        "observation_space: v1 needs a rank-1 float32 Box, not a Discrete space"));
  }
  absl::StatusOr<Space> action_space = SpaceFromProto(wire.action_space(), "action_space");
  if (!action_space.ok()) return fail(action_space.status());
  if (wire.max_episode_steps() < 0 || wire.max_episode_steps() > (int64_t{1} << 30)) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("max_episode_steps must be in [0, 2^30] (got ", wire.max_episode_steps(), ")")));
  }
  env->spec_.id = env->id_;
  env->spec_.observation_space = *std::move(obs_space);
  env->spec_.action_space = *std::move(action_space);
  env->spec_.max_episode_steps = static_cast<int>(wire.max_episode_steps());
  env->spec_.has_reward_threshold = wire.has_reward_threshold();
  env->spec_.reward_threshold = wire.reward_threshold();
  env->spec_.state_dim = 0;
  env->server_name_ = reply.server_name();
  env->server_env_id_ = wire.id();
  return env;
}

bool RemoteEnv::RoundTrip(absl::Duration timeout, const char* what) {
  const v1::EnvRequest::KindCase sent = session_->request.kind_case();
  absl::Status s = session_->RoundTrip(timeout);
  if (s.ok()) {
    const v1::EnvResponse::KindCase got = session_->response.kind_case();
    if (static_cast<int>(got) == static_cast<int>(sent)) return true;
    s = absl::InternalError(absl::StrCat("protocol error: answered a ", what, " with ",
                                         KindName(got)));
    session_->Close(absl::ZeroDuration()).IgnoreError();
  } else if (s.code() == absl::StatusCode::kUnavailable) {
    s = absl::UnavailableError(absl::StrCat("server unreachable or gone: ", s.message()));
  }
  Fail(absl::Status(s.code(), absl::StrCat(what, ": ", s.message())));
  return false;
}

void RemoteEnv::Fail(absl::Status status) {
  if (!status_.ok()) return;
  status_ = absl::Status(status.code(), absl::StrCat(id_, ": env server at ", target_, ": ",
                                                     status.message()));
}

bool RemoteEnv::ReadObservation(const v1::TensorProto& tensor, float* obs) {
  const int dim = spec_.obs_dim();
  const size_t bytes = sizeof(float) * static_cast<size_t>(dim);
  if (tensor.dtype() != v1::DTYPE_FLOAT32 || tensor.shape_size() != 1 || tensor.shape(0) != dim ||
      tensor.data().size() != bytes) {
    Fail(absl::InternalError(absl::StrCat(
        "protocol error: observation must be a DTYPE_FLOAT32 tensor of shape [", dim,
        "] with ", bytes, " bytes (got dtype ", tensor.dtype(), ", shape [",
        absl::StrJoin(tensor.shape(), ", "), "], ", tensor.data().size(), " bytes)")));
    session_->Close(absl::ZeroDuration()).IgnoreError();
    return false;
  }
  std::memcpy(obs, tensor.data().data(), bytes);
  return true;
}

void RemoteEnv::WriteFailedObs(float* obs) const {
  std::memset(obs, 0, sizeof(float) * static_cast<size_t>(spec_.obs_dim()));
}

void RemoteEnv::Reset(float* obs) {
  elapsed_steps_ = 0;
  if (!status_.ok()) return WriteFailedObs(obs);
  v1::EnvResetRequest* reset = session_->request.mutable_reset();
  reset->Clear();
  if (pending_seed_.has_value()) reset->set_seed(*pending_seed_);
  pending_seed_.reset();
  if (!RoundTrip(options_.request_timeout, "reset") ||
      !ReadObservation(session_->response.reset().observation(), obs)) {
    WriteFailedObs(obs);
  }
}

StepResult RemoteEnv::Step(const float* action, float* obs) {
  StepResult r;
  if (!status_.ok()) {
    WriteFailedObs(obs);
    r.terminated = true;
    return r;
  }
  v1::TensorProto* a = session_->request.mutable_step()->mutable_action();
  const Space& space = spec_.action_space;
  if (space.is_discrete()) {
    const int64_t index = DiscreteActionIndex(action[0], space.n);
    a->set_dtype(v1::DTYPE_INT64);
    a->clear_shape();
    a->mutable_data()->assign(reinterpret_cast<const char*>(&index), sizeof(index));
  } else {
    const int dim = space.flat_dim();
    a->set_dtype(v1::DTYPE_FLOAT32);
    if (a->shape_size() != 1) {
      a->clear_shape();
      a->add_shape(dim);
    }
    a->mutable_data()->assign(reinterpret_cast<const char*>(action), sizeof(float) * dim);
  }
  if (!RoundTrip(options_.request_timeout, "step")) {
    WriteFailedObs(obs);
    r.terminated = true;
    return r;
  }
  const v1::EnvStepResponse& reply = session_->response.step();
  if (!ReadObservation(reply.observation(), obs)) {
    WriteFailedObs(obs);
    r.terminated = true;
    return r;
  }
  if (!std::isfinite(reply.reward())) {
    Fail(absl::InternalError(
        absl::StrCat("protocol error: step returned a non-finite reward (", reply.reward(), ")")));
    session_->Close(absl::ZeroDuration()).IgnoreError();
    WriteFailedObs(obs);
    r.terminated = true;
    return r;
  }
  r.reward = reply.reward();
  r.terminated = reply.terminated();
  ++elapsed_steps_;
  r.truncated = reply.truncated() ||
                (spec_.max_episode_steps > 0 && elapsed_steps_ >= spec_.max_episode_steps);
  return r;
}

absl::Status RemoteEnv::SetState(absl::Span<const double> /*state*/) {
  return absl::UnimplementedError(
      absl::StrCat(id_, ": SetState is a test hook of local envs; a remote env has none"));
}

void RemoteEnv::GetState(double* /*state*/) const {}  // state_dim is 0

absl::StatusOr<EnvSpec> GetRemoteEnvSpec(absl::string_view id, const RemoteEnvOptions& options) {
  absl::StatusOr<std::unique_ptr<RemoteEnv>> env = RemoteEnv::Connect(id, options);
  if (!env.ok()) return env.status();
  return (*env)->spec();
}

}  // namespace proxima

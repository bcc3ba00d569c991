#include "common/envs/remote_session.h"

#include <unistd.h>

#include <cstring>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc/grpc_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "proxima/v1/learner_service.pb.h"

namespace proxima {
namespace {

// One channel per target in this process, shared by its sessions (each is a
// stream on it) and released with the last of them.
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
    case v1::EnvResponse::kBatchReset: return "batch_reset";
    case v1::EnvResponse::kBatchStep: return "batch_step";
    default: return "an empty response";
  }
}

}  // namespace

// The owning thread issues one read and one write per round trip and waits
// for both; gRPC's threads run the reactions. A hold, taken before StartCall
// and released once the owner is done with the stream, keeps the call open
// for those operations issued outside reactions; OnDone (the last reaction)
// follows the release, and the owner waits for it before the reactor is
// freed.
RemoteSession::RemoteSession(const std::shared_ptr<grpc::Channel>& channel)
    : stub_(v1::Env::NewStub(channel)) {
  stub_->async()->Session(&context_, this);
  AddHold();
  StartCall();
}

RemoteSession::~RemoteSession() { Close(absl::ZeroDuration()).IgnoreError(); }

absl::Status RemoteSession::RoundTrip(absl::Duration timeout) {
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
    in_time = mu_.AwaitWithTimeout(absl::Condition(this, &RemoteSession::OpsDone), timeout);
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

grpc::Status RemoteSession::Close(absl::Duration timeout) {
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

void RemoteSession::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  write_pending_ = false;
  write_ok_ = ok;
}

void RemoteSession::OnReadDone(bool ok) {
  absl::MutexLock lock(&mu_);
  read_pending_ = false;
  read_ok_ = ok;
}

void RemoteSession::OnDone(const grpc::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    final_status_ = status;
  }
  done_.Notify();
}

// Releases the hold (once) and waits for OnDone.
void RemoteSession::End() {
  if (!ended_) {
    ended_ = true;
    RemoveHold();
  }
  done_.WaitForNotification();
}

absl::Status RemoteSession::EndedStatus() {
  absl::MutexLock lock(&mu_);
  if (final_status_.ok()) {
    return absl::InternalError("protocol error: the server ended the session without a reply");
  }
  return ToAbslStatus(final_status_);
}

absl::Status NameRemoteServer(absl::string_view id, absl::string_view target,
                              absl::Status status) {
  return absl::Status(status.code(),
                      absl::StrCat(id, ": env server at ", target, ": ", status.message()));
}

absl::Status CheckedRoundTrip(RemoteSession& session, absl::Duration timeout, const char* what) {
  const v1::EnvRequest::KindCase sent = session.request.kind_case();
  absl::Status s = session.RoundTrip(timeout);
  if (s.ok()) {
    const v1::EnvResponse::KindCase got = session.response.kind_case();
    if (static_cast<int>(got) == static_cast<int>(sent)) return s;
    s = absl::InternalError(absl::StrCat("protocol error: answered a ", what, " with ",
                                         KindName(got)));
    session.Close(absl::ZeroDuration()).IgnoreError();
  } else if (s.code() == absl::StatusCode::kUnavailable) {
    s = absl::UnavailableError(absl::StrCat("server unreachable or gone: ", s.message()));
  }
  return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
}

absl::Status ReadFloatRows(const v1::TensorProto& tensor, int rows, int dim, const char* what,
                           float* out) {
  const size_t count = static_cast<size_t>(rows < 0 ? 1 : rows) * static_cast<size_t>(dim);
  const size_t bytes = sizeof(float) * count;
  const bool shape_ok = rows < 0 ? (tensor.shape_size() == 1 && tensor.shape(0) == dim)
                                 : (tensor.shape_size() == 2 && tensor.shape(0) == rows &&
                                    tensor.shape(1) == dim);
  if (tensor.dtype() != v1::DTYPE_FLOAT32 || !shape_ok || tensor.data().size() != bytes) {
    return absl::InternalError(absl::StrCat(
        "protocol error: ", what, " must be a DTYPE_FLOAT32 tensor of shape [",
        rows < 0 ? "" : absl::StrCat(rows, ", "), dim, "] with ", bytes, " bytes (got dtype ",
        tensor.dtype(), ", shape [", absl::StrJoin(tensor.shape(), ", "), "], ",
        tensor.data().size(), " bytes)"));
  }
  if (bytes > 0) std::memcpy(out, tensor.data().data(), bytes);
  return absl::OkStatus();
}

absl::StatusOr<OpenedRemoteSession> OpenRemoteSession(absl::string_view id, uint32_t num_envs,
                                                      const RemoteEnvOptions& options) {
  absl::StatusOr<RemoteEnvAddress> address = ParseRemoteEnvId(id);
  if (!address.ok()) return address.status();
  OpenedRemoteSession out;
  out.target = address->target;
  out.channel = SharedChannel(address->target);
  // Waits for a server that is starting; if none answers in time, the
  // session below fails fast with gRPC's reason (e.g. connection refused).
  out.channel->WaitForConnected(absl::ToChronoTime(absl::Now() + options.connect_timeout));
  out.session = std::make_unique<RemoteSession>(out.channel);
  auto fail = [&](absl::Status s) { return NameRemoteServer(id, out.target, std::move(s)); };

  v1::EnvHandshakeRequest* hello = out.session->request.mutable_hello();
  hello->set_protocol_version(v1::PROTOCOL_VERSION_1);
  hello->set_env_id(address->env_id);
  for (const auto& [key, value] : address->options) (*hello->mutable_env_options())[key] = value;
  hello->set_client_name(options.client_name.empty()
                             ? absl::StrCat("proxima pid ", ::getpid())
                             : options.client_name);
  hello->set_num_envs(num_envs);
  absl::Status sent = CheckedRoundTrip(*out.session, options.handshake_timeout, "handshake");
  if (!sent.ok()) return fail(std::move(sent));

  const v1::EnvHandshakeResponse& reply = out.session->response.hello();
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
  out.spec.id = std::string(id);
  out.spec.observation_space = *std::move(obs_space);
  out.spec.action_space = *std::move(action_space);
  out.spec.max_episode_steps = static_cast<int>(wire.max_episode_steps());
  out.spec.has_reward_threshold = wire.has_reward_threshold();
  out.spec.reward_threshold = wire.reward_threshold();
  out.spec.state_dim = 0;
  out.server_name = reply.server_name();
  out.server_env_id = wire.id();
  out.num_envs = reply.num_envs();
  return out;
}

}  // namespace proxima

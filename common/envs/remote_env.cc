#include "common/envs/remote_env.h"

#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/envs/remote_session.h"
#include "proxima/v1/env_service.pb.h"

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
  absl::StatusOr<OpenedRemoteSession> opened = OpenRemoteSession(id, 0, options);
  if (!opened.ok()) return opened.status();
  std::unique_ptr<RemoteEnv> env(
      new RemoteEnv(std::string(id), opened->target, opened->channel, options));
  env->session_ = std::move(opened->session);
  env->spec_ = std::move(opened->spec);
  env->server_name_ = std::move(opened->server_name);
  env->server_env_id_ = std::move(opened->server_env_id);
  return env;
}

bool RemoteEnv::RoundTrip(absl::Duration timeout, const char* what) {
  absl::Status s = CheckedRoundTrip(*session_, timeout, what);
  if (s.ok()) return true;
  Fail(std::move(s));
  return false;
}

void RemoteEnv::Fail(absl::Status status) {
  if (!status_.ok()) return;
  status_ = NameRemoteServer(id_, target_, std::move(status));
}

bool RemoteEnv::ReadObservation(const v1::TensorProto& tensor, float* obs) {
  absl::Status s = ReadFloatRows(tensor, -1, spec_.obs_dim(), "observation", obs);
  if (s.ok()) return true;
  Fail(std::move(s));
  session_->Close(absl::ZeroDuration()).IgnoreError();
  return false;
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

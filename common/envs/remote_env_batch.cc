#include "common/envs/remote_env_batch.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/envs/remote_session.h"
#include "proxima/v1/env_service.pb.h"

namespace proxima {
namespace {

// Copies a DTYPE_`dtype` tensor of shape [n] into `out` (n elements of
// `size` bytes); an error naming `what` otherwise.
absl::Status ReadVector(const v1::TensorProto& t, v1::DType dtype, size_t size, int n,
                        const char* what, void* out) {
  const size_t bytes = size * static_cast<size_t>(n);
  if (t.dtype() != dtype || t.shape_size() != 1 || t.shape(0) != n || t.data().size() != bytes) {
    return absl::InternalError(absl::StrCat(
        "protocol error: batch_step ", what, " must be a ", v1::DType_Name(dtype),
        " tensor of shape [", n, "] (got dtype ", t.dtype(), ", shape [",
        absl::StrJoin(t.shape(), ", "), "], ", t.data().size(), " bytes)"));
  }
  std::memcpy(out, t.data().data(), bytes);
  return absl::OkStatus();
}

}  // namespace

RemoteEnvBatch::RemoteEnvBatch(std::string id, std::string target, int num_envs,
                               const RemoteEnvOptions& options)
    : id_(std::move(id)),
      target_(std::move(target)),
      num_envs_(num_envs),
      options_(options),
      elapsed_(num_envs, 0),
      discrete_(num_envs, 0),
      rewards_(num_envs, 0.0),
      terminated_(num_envs, 0),
      truncated_(num_envs, 0) {}

RemoteEnvBatch::~RemoteEnvBatch() {
  if (session_ != nullptr) session_->Close(options_.close_timeout).IgnoreError();
}

absl::StatusOr<std::unique_ptr<RemoteEnvBatch>> RemoteEnvBatch::Connect(
    absl::string_view id, int num_envs, const RemoteEnvOptions& options) {
  if (num_envs < 1 || num_envs > 65536) {
    return absl::InvalidArgumentError(absl::StrCat(
        id, ": a batched remote env needs num_envs in [1, 65536] (got ", num_envs, ")"));
  }
  absl::StatusOr<OpenedRemoteSession> opened =
      OpenRemoteSession(id, static_cast<uint32_t>(num_envs), options);
  if (!opened.ok()) return opened.status();
  if (opened->num_envs != static_cast<uint32_t>(num_envs)) {
    opened->session->Close(options.close_timeout).IgnoreError();
    return NameRemoteServer(
        id, opened->target,
        absl::UnimplementedError(absl::StrCat(
            "the server does not serve batched sessions (asked for ", num_envs,
            " env columns, its handshake says num_envs ", opened->num_envs,
            "; an env server from before batched sessions, e.g. ", opened->server_name, ")")));
  }
  std::unique_ptr<RemoteEnvBatch> batch(
      new RemoteEnvBatch(std::string(id), opened->target, num_envs, options));
  batch->session_ = std::move(opened->session);
  batch->spec_ = std::move(opened->spec);
  batch->server_name_ = std::move(opened->server_name);
  batch->finals_.resize(static_cast<size_t>(num_envs) * batch->spec_.obs_dim());
  return batch;
}

void RemoteEnvBatch::Fail(absl::Status status) {
  if (!status_.ok()) return;
  status_ = NameRemoteServer(id_, target_, std::move(status));
  session_->Close(absl::ZeroDuration()).IgnoreError();
}

void RemoteEnvBatch::WriteFailed(float* obs, float* final_obs, StepResult* results) const {
  const size_t n = static_cast<size_t>(num_envs_) * spec_.obs_dim();
  std::memset(obs, 0, sizeof(float) * n);
  if (final_obs != nullptr) std::memset(final_obs, 0, sizeof(float) * n);
  if (results != nullptr) {
    std::fill(results, results + num_envs_, StepResult{0.0, true, false});
  }
}

void RemoteEnvBatch::Reset(float* obs) {
  std::fill(elapsed_.begin(), elapsed_.end(), 0);
  if (!status_.ok()) return WriteFailed(obs, nullptr, nullptr);
  v1::EnvBatchResetRequest* reset = session_->request.mutable_batch_reset();
  reset->Clear();
  if (pending_seed_.has_value()) reset->set_seed(*pending_seed_);
  pending_seed_.reset();
  absl::Status s = CheckedRoundTrip(*session_, options_.request_timeout, "batch_reset");
  if (s.ok()) {
    s = ReadFloatRows(session_->response.batch_reset().observations(), num_envs_,
                      spec_.obs_dim(), "batch_reset observations", obs);
  }
  if (!s.ok()) {
    Fail(std::move(s));
    WriteFailed(obs, nullptr, nullptr);
  }
}

void RemoteEnvBatch::Step(const float* actions, float* obs, float* final_obs,
                          StepResult* results) {
  if (!status_.ok()) return WriteFailed(obs, final_obs, results);
  v1::TensorProto* a = session_->request.mutable_batch_step()->mutable_actions();
  const Space& space = spec_.action_space;
  const int dim = space.flat_dim();
  a->clear_shape();
  a->add_shape(num_envs_);
  if (space.is_discrete()) {
    for (int i = 0; i < num_envs_; ++i) discrete_[i] = DiscreteActionIndex(actions[i], space.n);
    a->set_dtype(v1::DTYPE_INT64);
    a->mutable_data()->assign(reinterpret_cast<const char*>(discrete_.data()),
                              sizeof(int64_t) * discrete_.size());
  } else {
    a->set_dtype(v1::DTYPE_FLOAT32);
    a->add_shape(dim);
    a->mutable_data()->assign(reinterpret_cast<const char*>(actions),
                              sizeof(float) * static_cast<size_t>(num_envs_) * dim);
  }
  absl::Status s = CheckedRoundTrip(*session_, options_.request_timeout, "batch_step");
  if (s.ok()) s = ReadStep(obs, final_obs, results);
  if (!s.ok()) {
    Fail(std::move(s));
    WriteFailed(obs, final_obs, results);
  }
}

absl::Status RemoteEnvBatch::ReadStep(float* obs, float* final_obs, StepResult* results) {
  const v1::EnvBatchStepResponse& reply = session_->response.batch_step();
  const int n = num_envs_;
  const int dim = spec_.obs_dim();
  std::vector<double>& rewards = rewards_;
  std::vector<uint8_t>& terminated = terminated_;
  std::vector<uint8_t>& truncated = truncated_;
  absl::Status s = ReadFloatRows(reply.observations(), n, dim, "batch_step observations", obs);
  if (s.ok()) s = ReadVector(reply.rewards(), v1::DTYPE_FLOAT64, 8, n, "rewards", rewards.data());
  if (s.ok()) {
    s = ReadVector(reply.terminated(), v1::DTYPE_BOOL, 1, n, "terminated", terminated.data());
  }
  if (s.ok()) {
    s = ReadVector(reply.truncated(), v1::DTYPE_BOOL, 1, n, "truncated", truncated.data());
  }
  if (!s.ok()) return s;
  int ended = 0;
  for (int i = 0; i < n; ++i) {
    if (terminated[i] > 1 || truncated[i] > 1) {
      return absl::InternalError(absl::StrCat(
          "protocol error: batch_step flags of column ", i, " are not 0 or 1"));
    }
    if (!std::isfinite(rewards[i])) {
      return absl::InternalError(absl::StrCat("protocol error: batch_step returned a non-finite ",
                                              "reward (", rewards[i], ") for column ", i));
    }
    ++elapsed_[i];
    const bool done = terminated[i] || truncated[i];
    if (!done && spec_.max_episode_steps > 0 && elapsed_[i] >= spec_.max_episode_steps) {
      return absl::InternalError(absl::StrCat(
          "protocol error: column ", i, " reached max_episode_steps = ", spec_.max_episode_steps,
          " but the server did not end its episode"));
    }
    results[i] = StepResult{rewards[i], terminated[i] != 0, truncated[i] != 0};
    ended += done ? 1 : 0;
  }
  // final_obs: the ended columns' rows from final_observations, the others
  // the same as obs.
  std::memcpy(final_obs, obs, sizeof(float) * static_cast<size_t>(n) * dim);
  if (ended == 0 && !reply.has_final_observations()) return absl::OkStatus();
  std::vector<float>& finals = finals_;  // num_envs rows: never grows
  s = ReadFloatRows(reply.final_observations(), ended, dim, "batch_step final_observations",
                    finals.data());
  if (!s.ok()) return s;
  for (int i = 0, k = 0; i < n; ++i) {
    if (!results[i].terminated && !results[i].truncated) continue;
    std::memcpy(final_obs + static_cast<size_t>(i) * dim, finals.data() + static_cast<size_t>(k) * dim,
                sizeof(float) * dim);
    elapsed_[i] = 0;
    ++k;
  }
  return absl::OkStatus();
}

}  // namespace proxima

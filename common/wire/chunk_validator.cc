#include "common/wire/chunk_validator.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/wire/chunk_codec.h"
#include "common/status_macros.h"

namespace proxima {
namespace {

std::string Shape(const google::protobuf::RepeatedField<int64_t>& s) {
  return absl::StrCat("[", absl::StrJoin(s, ","), "]");
}

std::string Shape(const std::vector<int64_t>& s) {
  return absl::StrCat("[", absl::StrJoin(s, ","), "]");
}

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

}  // namespace

// dtype, shape and byte length of one tensor.
absl::Status CheckWireTensor(const v1::TensorProto& t, absl::string_view field, v1::DType dtype,
                             const std::vector<int64_t>& shape) {
  if (t.dtype() != dtype) {
    return Invalid(field, absl::StrCat("dtype ", v1::DType_Name(t.dtype()), ", want ",
                                       v1::DType_Name(dtype)));
  }
  bool same = t.shape_size() == static_cast<int>(shape.size());
  for (int i = 0; same && i < t.shape_size(); ++i) same = t.shape(i) == shape[i];
  if (!same) return Invalid(field, absl::StrCat("shape ", Shape(t.shape()), ", want ", Shape(shape)));
  size_t n = DTypeSize(dtype);
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  if (t.data().size() != n) {
    return Invalid(field, absl::StrCat("data has ", t.data().size(), " bytes, want ", n));
  }
  return absl::OkStatus();
}

namespace {

absl::Status CheckFinite(const v1::TensorProto& t, absl::string_view field) {
  const size_t n = t.data().size() / sizeof(float);
  const char* p = t.data().data();
  for (size_t i = 0; i < n; ++i) {
    float v;
    std::memcpy(&v, p + i * sizeof(float), sizeof(float));  // data may be unaligned
    if (!std::isfinite(v)) {
      return Invalid(field, absl::StrCat("non-finite value ", v, " at flat index ", i));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckFlags(const v1::TensorProto& t, absl::string_view field) {
  const std::string& d = t.data();
  for (size_t i = 0; i < d.size(); ++i) {
    if (static_cast<uint8_t>(d[i]) > 1) {
      return Invalid(field, absl::StrCat("flag value ", static_cast<int>(static_cast<uint8_t>(d[i])),
                                         " at flat index ", i, " (must be 0 or 1)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

// The actor's timings (rollout_seconds and the issue-18 breakdown): seconds,
// so finite and >= 0.
absl::Status CheckChunkTimings(const v1::TrajectoryChunk& c) {
  const struct {
    const char* field;
    float value;
  } timings[] = {{"rollout_seconds", c.rollout_seconds()},
                 {"env_seconds", c.env_seconds()},
                 {"inference_seconds", c.inference_seconds()},
                 {"send_wait_seconds", c.send_wait_seconds()},
                 {"weights_wait_seconds", c.weights_wait_seconds()}};
  for (const auto& t : timings) {
    if (!std::isfinite(t.value) || t.value < 0) {
      return Invalid(t.field, absl::StrCat(t.value, ", want a finite number of seconds >= 0"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateChunkPayload(const v1::TrajectoryChunk& c, const ChunkSpec& spec) {
  const int64_t T = c.num_steps(), E = c.num_envs(), D = spec.obs_dim;
  if (absl::Status st = CheckChunkTimings(c); !st.ok()) return st;
  if (c.has_sequences()) {
    return Invalid("sequences", "this run steps an env and takes step chunks only (sequence "
                                "chunks belong to a sequence run, protocol revision 2)");
  }
  if (E != spec.num_envs) {
    return Invalid("num_envs", absl::StrCat(E, ", want ", spec.num_envs));
  }
  if (T > spec.rollout_length || (T == 0 && !c.final()) ||
      (!c.final() && T != spec.rollout_length)) {
    return Invalid("num_steps", absl::StrCat(T, ", want ", spec.rollout_length,
                                             " (a final chunk may have 0..",
                                             spec.rollout_length, ")"));
  }
  PROXIMA_RETURN_IF_ERROR(CheckWireTensor(c.observations(), "observations", v1::DTYPE_FLOAT32, {T, E, D}));
  const bool discrete = spec.action_space.is_discrete();
  if (discrete) {
    PROXIMA_RETURN_IF_ERROR(CheckWireTensor(c.actions(), "actions", v1::DTYPE_INT64, {T, E}));
  } else {
    PROXIMA_RETURN_IF_ERROR(CheckWireTensor(c.actions(), "actions", v1::DTYPE_FLOAT32,
                                        {T, E, spec.action_space.flat_dim()}));
  }
  PROXIMA_RETURN_IF_ERROR(
      CheckWireTensor(c.behaviour_log_probs(), "behaviour_log_probs", v1::DTYPE_FLOAT32, {T, E}));
  PROXIMA_RETURN_IF_ERROR(CheckWireTensor(c.rewards(), "rewards", v1::DTYPE_FLOAT32, {T, E}));
  PROXIMA_RETURN_IF_ERROR(CheckWireTensor(c.terminated(), "terminated", v1::DTYPE_UINT8, {T, E}));
  PROXIMA_RETURN_IF_ERROR(CheckWireTensor(c.truncated(), "truncated", v1::DTYPE_UINT8, {T, E}));
  PROXIMA_RETURN_IF_ERROR(CheckWireTensor(c.bootstrap_observations(), "bootstrap_observations",
                                      v1::DTYPE_FLOAT32, {E, D}));
  PROXIMA_RETURN_IF_ERROR(CheckFinite(c.observations(), "observations"));
  PROXIMA_RETURN_IF_ERROR(CheckFinite(c.behaviour_log_probs(), "behaviour_log_probs"));
  PROXIMA_RETURN_IF_ERROR(CheckFinite(c.rewards(), "rewards"));
  PROXIMA_RETURN_IF_ERROR(CheckFinite(c.bootstrap_observations(), "bootstrap_observations"));
  PROXIMA_RETURN_IF_ERROR(CheckFlags(c.terminated(), "terminated"));
  PROXIMA_RETURN_IF_ERROR(CheckFlags(c.truncated(), "truncated"));
  if (discrete) {
    const std::string& d = c.actions().data();
    for (int64_t i = 0; i < T * E; ++i) {
      int64_t a;
      std::memcpy(&a, d.data() + i * sizeof(int64_t), sizeof(int64_t));
      if (a < 0 || a >= spec.action_space.n) {
        return Invalid("actions", absl::StrCat("action ", a, " at flat index ", i,
                                               " outside Discrete(", spec.action_space.n, ")"));
      }
    }
  } else {
    PROXIMA_RETURN_IF_ERROR(CheckFinite(c.actions(), "actions"));
  }

  // Truncated observations: exactly the truncated-and-not-terminated steps.
  const char* term = c.terminated().data().data();
  const char* trunc = c.truncated().data().data();
  int k = 0, ep = 0;
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t e = 0; e < E; ++e) {
      const int64_t i = t * E + e;
      const bool te = term[i] != 0, tr = trunc[i] != 0;
      if (tr && !te) {
        if (k >= c.truncated_observations_size()) {
          return Invalid("truncated_observations",
                         absl::StrCat("missing the observation of step ", t, ", env ", e));
        }
        const v1::TruncatedObservation& o = c.truncated_observations(k);
        if (o.step() != t || o.env() != e) {
          return Invalid("truncated_observations",
                         absl::StrCat("entry ", k, " is (", o.step(), ", ", o.env(), "), want (",
                                      t, ", ", e, ")"));
        }
        if (o.observation_size() != D) {
          return Invalid("truncated_observations",
                         absl::StrCat("entry ", k, " has ", o.observation_size(),
                                      " values, want ", D));
        }
        for (float v : o.observation()) {
          if (!std::isfinite(v)) {
            return Invalid("truncated_observations", absl::StrCat("entry ", k, " is not finite"));
          }
        }
        ++k;
      }
      if (te || tr) {
        if (ep >= c.episodes_size()) {
          return Invalid("episodes", absl::StrCat("missing the episode ending at step ", t,
                                                  ", env ", e));
        }
        const v1::EpisodeSummary& s = c.episodes(ep);
        if (s.step() != t || s.env() != e) {
          return Invalid("episodes", absl::StrCat("entry ", ep, " is (", s.step(), ", ",
                                                  s.env(), "), want (", t, ", ", e, ")"));
        }
        if (!std::isfinite(s.episode_return()) || s.episode_length() == 0) {
          return Invalid("episodes", absl::StrCat("entry ", ep,
                                                  " has a non-finite return or zero length"));
        }
        ++ep;
      }
    }
  }
  if (k != c.truncated_observations_size()) {
    return Invalid("truncated_observations",
                   absl::StrCat(c.truncated_observations_size(), " entries, want ", k));
  }
  if (ep != c.episodes_size()) {
    return Invalid("episodes", absl::StrCat(c.episodes_size(), " entries, want ", ep));
  }
  return absl::OkStatus();
}

}  // namespace proxima

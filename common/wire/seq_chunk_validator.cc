#include "common/wire/seq_chunk_validator.h"

#include <cmath>
#include <cstring>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/wire/chunk_validator.h"

namespace proxima {
namespace {

template <typename T>
T At(const v1::TensorProto& t, size_t i) {
  T v;
  std::memcpy(&v, t.data().data() + i * sizeof(T), sizeof(T));  // data may be unaligned
  return v;
}

SeqRejection Reject(SeqReject rule, absl::string_view field, absl::string_view what) {
  return SeqRejection{rule, absl::StrCat(field, ": ", what)};
}

// A chunk of the other kind: step fields set.
std::optional<SeqRejection> CheckKind(const v1::TrajectoryChunk& c) {
  if (!c.has_sequences()) {
    return Reject(SeqReject::kKind, "sequences",
                  "missing: this run is a sequence run and takes sequence chunks only");
  }
  if (c.num_steps() != 0 || c.num_envs() != 0 || c.has_observations() || c.has_actions() ||
      c.has_behaviour_log_probs() || c.has_rewards() || c.has_terminated() ||
      c.has_truncated() || c.has_bootstrap_observations() ||
      c.truncated_observations_size() > 0 || c.episodes_size() > 0) {
    return Reject(SeqReject::kKind, "sequences",
                  "a sequence chunk carries no step fields (num_steps, num_envs, observations, "
                  "actions, ... must be unset)");
  }
  return std::nullopt;
}

std::optional<SeqRejection> CheckShapes(const v1::SequenceBatch& b, int64_t N) {
  if (N == 0) return Reject(SeqReject::kShape, "num_sequences", "0, want at least 1");
  const int64_t P = b.prompt_tokens().shape_size() == 2 ? b.prompt_tokens().shape(1) : -1;
  const int64_t C = b.completion_tokens().shape_size() == 2 ? b.completion_tokens().shape(1) : -1;
  if (P < 1) return Reject(SeqReject::kShape, "prompt_tokens", "want shape [N, P] with P >= 1");
  if (C < 1) {
    return Reject(SeqReject::kShape, "completion_tokens", "want shape [N, C] with C >= 1");
  }
  const struct {
    const v1::TensorProto& t;
    const char* field;
    v1::DType dtype;
    std::vector<int64_t> shape;
  } want[] = {{b.prompt_lengths(), "prompt_lengths", v1::DTYPE_INT32, {N}},
              {b.completion_lengths(), "completion_lengths", v1::DTYPE_INT32, {N}},
              {b.prompt_tokens(), "prompt_tokens", v1::DTYPE_INT32, {N, P}},
              {b.completion_tokens(), "completion_tokens", v1::DTYPE_INT32, {N, C}},
              {b.completion_mask(), "completion_mask", v1::DTYPE_UINT8, {N, C}},
              {b.behaviour_log_probs(), "behaviour_log_probs", v1::DTYPE_FLOAT32, {N, C}},
              {b.rewards(), "rewards", v1::DTYPE_FLOAT32, {N}},
              {b.group_ids(), "group_ids", v1::DTYPE_INT64, {N}}};
  for (const auto& w : want) {
    absl::Status st = CheckWireTensor(w.t, w.field, w.dtype, w.shape);
    if (!st.ok()) return SeqRejection{SeqReject::kShape, std::string(st.message())};
  }
  return std::nullopt;
}

// Lengths, token ids, padding, mask and log-probs, row by row.
std::optional<SeqRejection> CheckRows(const v1::SequenceBatch& b, const SequenceChunkSpec& spec,
                                      int64_t N) {
  const int64_t P = b.prompt_tokens().shape(1), C = b.completion_tokens().shape(1);
  for (int64_t i = 0; i < N; ++i) {
    const int32_t pl = At<int32_t>(b.prompt_lengths(), i);
    const int32_t cl = At<int32_t>(b.completion_lengths(), i);
    if (pl < 1 || pl > P) {
      return Reject(SeqReject::kLength, "prompt_lengths",
                    absl::StrCat(pl, " at sequence ", i, ", want 1..", P));
    }
    if (cl < 1 || cl > C) {
      return Reject(SeqReject::kLength, "completion_lengths",
                    absl::StrCat(cl, " at sequence ", i, ", want 1..", C));
    }
    if (pl + cl > spec.max_seq_len) {
      return Reject(SeqReject::kLength, "completion_lengths",
                    absl::StrCat("sequence ", i, " has ", pl, " + ", cl,
                                 " tokens, more than the model's ", spec.max_seq_len,
                                 " positions"));
    }
    const struct {
      const v1::TensorProto& t;
      const char* field;
      int64_t width, length;
    } rows[] = {{b.prompt_tokens(), "prompt_tokens", P, pl},
                {b.completion_tokens(), "completion_tokens", C, cl}};
    for (const auto& r : rows) {
      for (int64_t j = 0; j < r.width; ++j) {
        const int32_t id = At<int32_t>(r.t, i * r.width + j);
        if (j < r.length && (id < 0 || id >= spec.vocab_size)) {
          return Reject(SeqReject::kTokenRange, r.field,
                        absl::StrCat("id ", id, " at sequence ", i, ", position ", j,
                                     " outside the vocabulary [0, ", spec.vocab_size, ")"));
        }
        if (j >= r.length && id != 0) {
          return Reject(SeqReject::kTokenRange, r.field,
                        absl::StrCat("padding id ", id, " at sequence ", i, ", position ", j,
                                     " (past the length ", r.length, "), want 0"));
        }
      }
    }
    for (int64_t j = 0; j < C; ++j) {
      const uint8_t m = At<uint8_t>(b.completion_mask(), i * C + j);
      const uint8_t want = j < cl ? 1 : 0;
      if (m != want) {
        return Reject(SeqReject::kMask, "completion_mask",
                      absl::StrCat(static_cast<int>(m), " at sequence ", i, ", position ", j,
                                   ", want ", static_cast<int>(want), " (completion length ",
                                   cl, ")"));
      }
      const float lp = At<float>(b.behaviour_log_probs(), i * C + j);
      if (j < cl && (!std::isfinite(lp) || lp > 0)) {
        return Reject(SeqReject::kLogProb, "behaviour_log_probs",
                      absl::StrCat(lp, " at sequence ", i, ", position ", j,
                                   ", want a finite log-probability <= 0"));
      }
      if (j >= cl && lp != 0) {
        return Reject(SeqReject::kLogProb, "behaviour_log_probs",
                      absl::StrCat(lp, " on padding at sequence ", i, ", position ", j,
                                   ", want 0"));
      }
    }
    const float r = At<float>(b.rewards(), i);
    if (!std::isfinite(r)) {
      return Reject(SeqReject::kReward, "rewards",
                    absl::StrCat(r, " at sequence ", i, ", want a finite reward"));
    }
  }
  return std::nullopt;
}

// Group sizes, ids and shared prompts.
std::optional<SeqRejection> CheckGroups(const v1::SequenceBatch& b, const SequenceChunkSpec& spec,
                                        int64_t N) {
  const int64_t G = b.group_size();
  if (G == 0 || (spec.group_size > 0 && G != spec.group_size) || N % G != 0) {
    return Reject(SeqReject::kGroup, "group_size",
                  absl::StrCat(G, " with ", N, " sequences; want ",
                               spec.group_size > 0 ? absl::StrCat("the run's ", spec.group_size)
                                                   : std::string(">= 1"),
                               ", dividing num_sequences"));
  }
  const int64_t P = b.prompt_tokens().shape(1);
  std::set<int64_t> seen;
  for (int64_t g = 0; g < N / G; ++g) {
    const int64_t first = g * G;
    const int64_t id = At<int64_t>(b.group_ids(), first);
    if (id < 0 || !seen.insert(id).second) {
      return Reject(SeqReject::kGroup, "group_ids",
                    absl::StrCat("group ", g, " has id ", id,
                                 id < 0 ? ", want >= 0" : ", already used in this chunk"));
    }
    for (int64_t i = first + 1; i < first + G; ++i) {
      if (At<int64_t>(b.group_ids(), i) != id) {
        return Reject(SeqReject::kGroup, "group_ids",
                      absl::StrCat("sequence ", i, " has id ", At<int64_t>(b.group_ids(), i),
                                   ", want its group's ", id, " (groups of ", G, ")"));
      }
      const std::string& pt = b.prompt_tokens().data();
      const size_t row = static_cast<size_t>(P) * sizeof(int32_t);
      if (At<int32_t>(b.prompt_lengths(), i) != At<int32_t>(b.prompt_lengths(), first) ||
          pt.compare(i * row, row, pt, first * row, row) != 0) {
        return Reject(SeqReject::kGroup, "prompt_tokens",
                      absl::StrCat("sequence ", i, " differs from the prompt of its group ", g));
      }
    }
  }
  return std::nullopt;
}

}  // namespace

const char* SeqRejectName(SeqReject r) {
  switch (r) {
    case SeqReject::kKind: return "kind";
    case SeqReject::kShape: return "shape";
    case SeqReject::kLength: return "length";
    case SeqReject::kTokenRange: return "token_range";
    case SeqReject::kMask: return "mask";
    case SeqReject::kLogProb: return "log_prob";
    case SeqReject::kReward: return "reward";
    case SeqReject::kGroup: return "group";
    case SeqReject::kSampling: return "sampling";
    case SeqReject::kTiming: return "timing";
  }
  return "unknown";
}

std::string SeqRejection::reason() const { return absl::StrCat(SeqRejectName(rule), ": ", message); }

std::optional<SeqRejection> ValidateSequenceChunk(const v1::TrajectoryChunk& c,
                                                  const SequenceChunkSpec& spec) {
  if (absl::Status st = CheckChunkTimings(c); !st.ok()) {
    return SeqRejection{SeqReject::kTiming, std::string(st.message())};
  }
  if (auto r = CheckKind(c)) return r;
  const v1::SequenceBatch& b = c.sequences();
  const float temp = b.temperature();
  if (!std::isfinite(temp) || temp <= 0) {
    return Reject(SeqReject::kSampling, "temperature",
                  absl::StrCat(temp, ", want a finite temperature > 0"));
  }
  if (b.top_k() > static_cast<uint32_t>(spec.vocab_size)) {
    return Reject(SeqReject::kSampling, "top_k",
                  absl::StrCat(b.top_k(), ", want 0..", spec.vocab_size, " (the vocabulary)"));
  }
  const int64_t N = b.num_sequences();
  if (auto r = CheckShapes(b, N)) return r;
  if (auto r = CheckRows(b, spec, N)) return r;
  return CheckGroups(b, spec, N);
}

}  // namespace proxima

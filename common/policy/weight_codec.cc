#include "common/policy/weight_codec.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/wire/chunk_codec.h"

namespace proxima {

void Fnv1a64::Bytes(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h_ ^= p[i];
    h_ *= 0x100000001b3ULL;
  }
}

void Fnv1a64::F64(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  U64(bits);
}

void Fnv1a64::LittleEndian(uint64_t v, int n) {
  unsigned char b[8];
  for (int i = 0; i < n; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
  Bytes(b, n);
}

uint64_t CanonicalChecksum(const v1::WeightSnapshot& s) {
  Fnv1a64 h;
  h.U64(s.version());
  h.U32(static_cast<uint32_t>(s.tensors_size()));
  for (const v1::NamedTensor& t : s.tensors()) {
    h.U32(static_cast<uint32_t>(t.name().size()));
    h.Bytes(t.name().data(), t.name().size());
    h.U32(static_cast<uint32_t>(t.tensor().dtype()));
    h.U32(static_cast<uint32_t>(t.tensor().shape_size()));
    for (int64_t d : t.tensor().shape()) h.I64(d);
    h.U64(t.tensor().data().size());
    h.Bytes(t.tensor().data().data(), t.tensor().data().size());
  }
  const v1::ObservationNormalizer& n = s.obs_normalizer();
  h.U8(n.enabled() ? 1 : 0);
  h.U32(static_cast<uint32_t>(n.mean_size()));
  for (double m : n.mean()) h.F64(m);
  h.U32(static_cast<uint32_t>(n.var_size()));
  for (double v : n.var()) h.F64(v);
  h.F64(n.count());
  h.F64(n.clip());
  h.F64(n.epsilon());
  return h.value();
}

namespace {

// The version and every named parameter of `module` (float32, in
// registration order).
void AddParameters(torch::nn::Module& module, uint64_t version, v1::WeightSnapshot* out) {
  out->Clear();
  out->set_version(version);
  for (const auto& item : module.named_parameters()) {
    at::Tensor p = item.value().detach().to(at::kCPU).to(at::kFloat).contiguous();
    v1::NamedTensor* t = out->add_tensors();
    t->set_name(item.key());
    v1::TensorProto* tp = t->mutable_tensor();
    tp->set_dtype(v1::DTYPE_FLOAT32);
    for (int64_t d : p.sizes()) tp->add_shape(d);
    tp->set_data(p.data_ptr(), p.nbytes());
  }
}

}  // namespace

void EncodeWeights(ActorCritic& model, const NormalizerState& normalizer, uint64_t version,
                   v1::WeightSnapshot* out) {
  AddParameters(*model, version, out);
  v1::ObservationNormalizer* n = out->mutable_obs_normalizer();
  n->set_enabled(normalizer.enabled);
  for (double m : normalizer.stats.mean()) n->add_mean(m);
  for (double v : normalizer.stats.var()) n->add_var(v);
  n->set_count(normalizer.stats.count());
  n->set_clip(normalizer.clip);
  n->set_epsilon(RunningMeanStd::kEpsilon);
  out->set_checksum_algorithm(v1::CHECKSUM_ALGORITHM_FNV1A64_CANONICAL);
  out->set_checksum(CanonicalChecksum(*out));
}

namespace {

// The checksum and every tensor's name, dtype, shape and values against
// `module`'s parameters; nothing is copied.
absl::Status CheckParameters(const v1::WeightSnapshot& s, torch::nn::Module& module) {
  if (s.checksum_algorithm() != v1::CHECKSUM_ALGORITHM_FNV1A64_CANONICAL) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weights version ", s.version(), ": unsupported checksum algorithm ",
        v1::ChecksumAlgorithm_Name(s.checksum_algorithm())));
  }
  const uint64_t want = CanonicalChecksum(s);
  if (s.checksum() != want) {
    return absl::DataLossError(absl::StrCat("weights version ", s.version(),
                                            ": checksum mismatch (got ", s.checksum(),
                                            ", computed ", want, ")"));
  }
  auto params = module.named_parameters();
  if (static_cast<size_t>(s.tensors_size()) != params.size()) {
    return absl::InvalidArgumentError(absl::StrCat("weights version ", s.version(), ": ",
                                                   s.tensors_size(), " tensors, model has ",
                                                   params.size()));
  }
  // Check everything before touching anything.
  for (int i = 0; i < s.tensors_size(); ++i) {
    const v1::NamedTensor& t = s.tensors(i);
    const auto& item = params.begin()[i];
    const at::Tensor& p = item.value();
    if (t.name() != item.key()) {
      return absl::InvalidArgumentError(absl::StrCat("weights: tensor ", i, " is '", t.name(),
                                                     "', model expects '", item.key(), "'"));
    }
    bool same = t.tensor().dtype() == v1::DTYPE_FLOAT32 &&
                t.tensor().shape_size() == p.dim();
    for (int d = 0; same && d < p.dim(); ++d) same = t.tensor().shape(d) == p.size(d);
    if (!same || t.tensor().data().size() != static_cast<size_t>(p.numel()) * sizeof(float)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "weights: tensor '", t.name(), "' has dtype ", v1::DType_Name(t.tensor().dtype()),
          " shape [", absl::StrJoin(t.tensor().shape(), ","), "], model expects float32 [",
          absl::StrJoin(p.sizes(), ","), "]"));
    }
    const char* d = t.tensor().data().data();
    for (int64_t k = 0; k < p.numel(); ++k) {
      float v;
      std::memcpy(&v, d + k * sizeof(float), sizeof(float));
      if (!std::isfinite(v)) {
        return absl::InvalidArgumentError(
            absl::StrCat("weights: tensor '", t.name(), "' has a non-finite value"));
      }
    }
  }
  return absl::OkStatus();
}

// Copies the tensors of a checked snapshot into `module`'s parameters.
void CopyParameters(const v1::WeightSnapshot& s, torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  auto params = module.named_parameters();
  for (int i = 0; i < s.tensors_size(); ++i) {
    at::Tensor p = params.begin()[i].value();
    at::Tensor src = at::from_blob(const_cast<char*>(s.tensors(i).tensor().data().data()),
                                   p.sizes(), at::kFloat);
    p.copy_(src);
  }
}

}  // namespace

absl::Status ApplyWeights(const v1::WeightSnapshot& s, ActorCritic& model,
                          NormalizerState* normalizer) {
  if (absl::Status st = CheckParameters(s, *model); !st.ok()) return st;
  const v1::ObservationNormalizer& n = s.obs_normalizer();
  RunningMeanStd stats(normalizer->stats.dim());
  absl::Status st = stats.Restore(std::vector<double>(n.mean().begin(), n.mean().end()),
                                  std::vector<double>(n.var().begin(), n.var().end()),
                                  n.count() > 0 ? n.count() : RunningMeanStd::kInitialCount);
  if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat("weights: ", st.message()));
  CopyParameters(s, *model);
  normalizer->enabled = n.enabled();
  normalizer->clip = n.clip() > 0 ? n.clip() : normalizer->clip;
  normalizer->stats = std::move(stats);
  return absl::OkStatus();
}

void EncodeModuleWeights(torch::nn::Module& module, uint64_t version, v1::WeightSnapshot* out) {
  AddParameters(module, version, out);
  out->mutable_obs_normalizer()->set_enabled(false);
  out->set_checksum_algorithm(v1::CHECKSUM_ALGORITHM_FNV1A64_CANONICAL);
  out->set_checksum(CanonicalChecksum(*out));
}

absl::Status ApplyModuleWeights(const v1::WeightSnapshot& s, torch::nn::Module& module) {
  if (absl::Status st = CheckParameters(s, module); !st.ok()) return st;
  if (s.obs_normalizer().enabled()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weights version ", s.version(),
        ": obs_normalizer is enabled, but this model reads tokens, not observations"));
  }
  CopyParameters(s, module);
  return absl::OkStatus();
}

}  // namespace proxima

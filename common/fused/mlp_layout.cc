#include "common/fused/mlp_layout.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace proxima::fused {

int MlpLayout::max_hidden() const {
  return *std::max_element(hidden_sizes.begin(), hidden_sizes.end());
}

namespace {

int64_t AddBlock(MlpLayout& l, std::string name, std::vector<int64_t> shape) {
  ParamBlock b;
  b.name = std::move(name);
  b.size = 1;
  for (int64_t d : shape) b.size *= d;
  b.shape = std::move(shape);
  b.offset = l.total;
  l.total += b.size;
  l.params.push_back(std::move(b));
  return l.params.back().offset;
}

LinearRef AddLinear(MlpLayout& l, const std::string& prefix, int in, int out) {
  LinearRef r;
  r.in = in;
  r.out = out;
  r.weight = AddBlock(l, prefix + ".weight", {out, in});
  r.bias = AddBlock(l, prefix + ".bias", {out});
  return r;
}

std::vector<LinearRef> AddTrunk(MlpLayout& l, const std::string& name) {
  std::vector<LinearRef> layers;
  int in = l.obs_dim;
  for (size_t k = 0; k < l.hidden_sizes.size(); ++k) {
    layers.push_back(AddLinear(l, absl::StrCat(name, ".", 2 * k), in, l.hidden_sizes[k]));
    in = l.hidden_sizes[k];
  }
  return layers;
}

}  // namespace

absl::StatusOr<MlpLayout> MakeMlpLayout(int obs_dim, const Space& action_space,
                                        const ModelSpec& spec) {
  if (obs_dim < 1) {
    return absl::InvalidArgumentError(absl::StrCat("fused MLP: obs_dim must be >= 1 (got ", obs_dim, ")"));
  }
  MlpLayout l;
  l.obs_dim = obs_dim;
  l.discrete = action_space.is_discrete();
  l.action_dim = l.discrete ? action_space.n : action_space.flat_dim();
  if (l.action_dim < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fused MLP: the action space has no ", l.discrete ? "actions (Discrete n = " : "dimensions (Box of ",
        l.action_dim, ")"));
  }
  if (spec.hidden_sizes.empty()) {
    return absl::InvalidArgumentError("fused MLP: the model has no hidden layers (hidden_sizes is empty)");
  }
  for (int h : spec.hidden_sizes) {
    if (h < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("fused MLP: every hidden size must be >= 1 (got ", h, ")"));
    }
  }
  if (spec.activation == "tanh") {
    l.activation = Activation::kTanh;
  } else if (spec.activation == "relu") {
    l.activation = Activation::kRelu;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "fused MLP: activation must be \"tanh\" or \"relu\" (got \"", spec.activation, "\")"));
  }
  l.hidden_sizes = spec.hidden_sizes;
  l.shared_trunk = spec.shared_trunk;
  if (!l.discrete) l.log_std = AddBlock(l, "log_std", {l.action_dim});
  l.policy_trunk = AddTrunk(l, l.shared_trunk ? "trunk" : "policy_trunk");
  if (!l.shared_trunk) l.value_trunk = AddTrunk(l, "value_trunk");
  l.policy_head = AddLinear(l, "policy_head", l.last_hidden(), l.action_dim);
  l.value_head = AddLinear(l, "value_head", l.last_hidden(), 1);
  return l;
}

}  // namespace proxima::fused

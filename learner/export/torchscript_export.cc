#include "learner/export/torchscript_export.h"

#include <ATen/ATen.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "learner/export/checkpoint_policy.h"
#include "nlohmann/json.hpp"

#ifndef PROXIMA_VERSION_STRING
#define PROXIMA_VERSION_STRING "unknown"
#endif

namespace proxima {
namespace {

constexpr char kHalfLog2Pi[] = "0.91893853320467274178";  // as ActorCritic::LogProbEntropy
constexpr double kSelfCheckTolerance = 1e-5;
constexpr int kSelfCheckRows = 64;

// Attribute names of one Linear layer.
struct LinearNames {
  std::string weight;
  std::string bias;
};

// The network's layers as module attribute names, in forward order.
struct Layout {
  std::vector<LinearNames> policy_trunk;
  std::vector<LinearNames> value_trunk;  // empty when the trunk is shared
  LinearNames policy_head;
  LinearNames value_head;
};

std::string AttrName(const std::string& param_name) {
  return absl::StrReplaceAll(param_name, {{".", "_"}});
}

// Groups `<prefix>.<i>.weight|bias` parameters into layers, in registration
// order (= forward order for Sequential trunks).
std::vector<LinearNames> TrunkLayers(const std::vector<std::string>& names,
                                     const std::string& prefix) {
  std::vector<LinearNames> layers;
  std::vector<std::string> seen;
  for (const std::string& n : names) {
    if (!absl::StartsWith(n, prefix)) continue;
    const std::string layer = n.substr(0, n.rfind('.'));
    auto it = std::find(seen.begin(), seen.end(), layer);
    size_t i = static_cast<size_t>(it - seen.begin());
    if (it == seen.end()) {
      seen.push_back(layer);
      layers.emplace_back();
    }
    (absl::EndsWith(n, ".weight") ? layers[i].weight : layers[i].bias) = AttrName(n);
  }
  return layers;
}

absl::StatusOr<Layout> MakeLayout(const std::vector<std::string>& names, const PpoConfig& config,
                                  bool discrete) {
  Layout l;
  const bool shared = config.model.shared_trunk;
  l.policy_trunk = TrunkLayers(names, shared ? "trunk." : "policy_trunk.");
  if (!shared) l.value_trunk = TrunkLayers(names, "value_trunk.");
  l.policy_head = {"policy_head_weight", "policy_head_bias"};
  l.value_head = {"value_head_weight", "value_head_bias"};
  const size_t depth = config.model.hidden_sizes.size();
  auto complete = [](const std::vector<LinearNames>& v) {
    return std::all_of(v.begin(), v.end(),
                       [](const LinearNames& n) { return !n.weight.empty() && !n.bias.empty(); });
  };
  auto has = [&names](const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  if (l.policy_trunk.size() != depth || !complete(l.policy_trunk) ||
      (!shared && (l.value_trunk.size() != depth || !complete(l.value_trunk))) ||
      !has("policy_head.weight") || !has("policy_head.bias") || !has("value_head.weight") ||
      !has("value_head.bias") || has("log_std") == discrete) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the checkpoint's network does not have the layers its config describes (",
        depth, " hidden layers, ", shared ? "shared" : "separate", " trunk, ",
        discrete ? "Categorical" : "Gaussian", " head)"));
  }
  return l;
}

std::string LinearExpr(const std::string& x, const LinearNames& n) {
  return absl::StrCat("torch.linear(", x, ", self.", n.weight, ", self.", n.bias, ")");
}

std::string TrunkMethod(const std::string& name, const std::vector<LinearNames>& layers,
                        const std::string& activation) {
  std::string s = absl::StrCat("def ", name, "(self, x: Tensor) -> Tensor:\n");
  for (const LinearNames& n : layers) {
    absl::StrAppend(&s, "    x = ", activation, "(", LinearExpr("x", n), ")\n");
  }
  absl::StrAppend(&s, "    return x\n\n");
  return s;
}

// The TorchScript source of every method (docs/export.md has the contracts).
std::string MethodsSource(const Layout& l, const std::string& activation, bool discrete) {
  std::string s = TrunkMethod("_policy_trunk", l.policy_trunk, activation);
  if (l.value_trunk.empty()) {
    absl::StrAppend(&s,
                    "def _value_trunk(self, x: Tensor) -> Tensor:\n"
                    "    return self._policy_trunk(x)\n\n");
  } else {
    absl::StrAppend(&s, TrunkMethod("_value_trunk", l.value_trunk, activation));
  }
  absl::StrAppend(&s, R"(def _batch(self, obs: Tensor) -> Tensor:
    assert obs.dim() == 1 or obs.dim() == 2, "obs must be [obs_dim] or [N, obs_dim], got {} dimensions".format(obs.dim())
    assert obs.size(-1) == self.obs_dim, "obs must have {} features ({}), got {}".format(self.obs_dim, self.env_id, obs.size(-1))
    if obs.dim() == 1:
        return obs.unsqueeze(0)
    return obs

def _unbatch(self, obs: Tensor, out: Tensor) -> Tensor:
    if obs.dim() == 1:
        return out.squeeze(0)
    return out

def _normalized(self, obs: Tensor) -> Tensor:
    x = self._batch(obs)
    if self.normalize_obs:
        inv_std = torch.reciprocal(torch.sqrt(self.obs_var + self.obs_epsilon))
        return torch.clamp((x.double() - self.obs_mean) * inv_std, -self.obs_clip, self.obs_clip).float()
    return x.float()

def _head(self, x: Tensor) -> Tensor:
    )",
                  "return ", LinearExpr("self._policy_trunk(x)", l.policy_head), R"(

def normalize(self, obs: Tensor) -> Tensor:
    return self._unbatch(obs, self._normalized(obs))

def dist_params(self, obs: Tensor) -> Tensor:
    return self._unbatch(obs, self._head(self._normalized(obs)))

def value(self, obs: Tensor) -> Tensor:
    v = )",
                  LinearExpr("self._value_trunk(self._normalized(obs))", l.value_head), R"(
    return self._unbatch(obs, v.squeeze(-1))

)");
  if (discrete) {
    absl::StrAppend(&s, R"(def forward(self, obs: Tensor) -> Tensor:
    logp = torch.log_softmax(self._head(self._normalized(obs)), -1)
    return self._unbatch(obs, torch.argmax(logp, -1))

def act(self, obs: Tensor) -> Tuple[Tensor, Tensor]:
    logp = torch.log_softmax(self._head(self._normalized(obs)), -1)
    a = torch.multinomial(torch.exp(logp), 1)
    return self._unbatch(obs, a.squeeze(-1)), self._unbatch(obs, logp.gather(-1, a).squeeze(-1))

def log_prob(self, obs: Tensor, action: Tensor) -> Tensor:
    logp = torch.log_softmax(self._head(self._normalized(obs)), -1)
    return self._unbatch(obs, logp.gather(-1, action.long().reshape([-1, 1])).squeeze(-1))

def entropy(self, obs: Tensor) -> Tensor:
    logp = torch.log_softmax(self._head(self._normalized(obs)), -1)
    return self._unbatch(obs, -(torch.exp(logp) * logp).sum(-1))
)");
  } else {
    absl::StrAppend(&s, R"(def _log_density(self, mean: Tensor, a: Tensor) -> Tensor:
    z = (a - mean) * torch.exp(-self.log_std)
    return (-0.5 * z * z - self.log_std - )",
                    kHalfLog2Pi, R"().sum(-1)

def forward(self, obs: Tensor) -> Tensor:
    return self._unbatch(obs, self._head(self._normalized(obs)))

def act(self, obs: Tensor) -> Tuple[Tensor, Tensor]:
    mean = self._head(self._normalized(obs))
    a = mean + torch.exp(self.log_std) * torch.randn_like(mean)
    return self._unbatch(obs, a), self._unbatch(obs, self._log_density(mean, a))

def log_prob(self, obs: Tensor, action: Tensor) -> Tensor:
    mean = self._head(self._normalized(obs))
    return self._unbatch(obs, self._log_density(mean, action.float().reshape([-1, self.action_dim])))

def entropy(self, obs: Tensor) -> Tensor:
    mean = self._head(self._normalized(obs))
    return self._unbatch(obs, (0.5 + )",
                    kHalfLog2Pi, R"( + self.log_std).sum().expand([mean.size(0)]))
)");
  }
  return s;
}

c10::List<double> FloatList(const std::vector<float>& v) {
  c10::List<double> out;
  for (float x : v) out.push_back(static_cast<double>(x));
  return out;
}

nlohmann::json MetadataJson(const CheckpointPolicy& p) {
  const Space& a = p.env.action_space;
  nlohmann::json j;
  j["format_version"] = kTorchScriptPolicyFormat;
  j["proxima_version"] = PROXIMA_VERSION_STRING;
  j["env_id"] = p.env.id;
  j["obs_dim"] = p.env.obs_dim();
  j["action_space"] = a.DebugString();
  j["discrete"] = a.is_discrete();
  j["num_actions"] = a.is_discrete() ? a.n : 0;
  j["action_dim"] = a.flat_dim();
  j["action_low"] = a.low;
  j["action_high"] = a.high;
  j["hidden_sizes"] = p.config.model.hidden_sizes;
  j["activation"] = p.config.model.activation;
  j["shared_trunk"] = p.config.model.shared_trunk;
  j["clip_action"] = p.config.clip_action && !a.is_discrete();
  j["normalize_obs"] = p.snapshot->normalizer.enabled;
  j["obs_clip"] = p.snapshot->normalizer.clip;
  j["obs_count"] = p.snapshot->normalizer.stats.count();
  j["policy_version"] = p.policy_version;
  j["env_steps"] = p.env_steps;
  return j;
}

void RegisterMetadata(const CheckpointPolicy& p, torch::jit::Module& m) {
  const Space& a = p.env.action_space;
  const NormalizerState& norm = p.snapshot->normalizer;
  auto str = [&m](const char* name, const std::string& v) {
    m.register_attribute(name, c10::StringType::get(), c10::IValue(v));
  };
  auto integer = [&m](const char* name, int64_t v) {
    m.register_attribute(name, c10::IntType::get(), c10::IValue(v));
  };
  auto boolean = [&m](const char* name, bool v) {
    m.register_attribute(name, c10::BoolType::get(), c10::IValue(v));
  };
  auto real = [&m](const char* name, double v) {
    m.register_attribute(name, c10::FloatType::get(), c10::IValue(v));
  };
  integer("format_version", kTorchScriptPolicyFormat);
  str("proxima_version", PROXIMA_VERSION_STRING);
  str("env_id", p.env.id);
  integer("obs_dim", p.env.obs_dim());
  str("action_space", a.DebugString());
  boolean("discrete", a.is_discrete());
  integer("num_actions", a.is_discrete() ? a.n : 0);
  integer("action_dim", a.flat_dim());
  m.register_attribute("action_low", c10::ListType::ofFloats(), FloatList(a.low));
  m.register_attribute("action_high", c10::ListType::ofFloats(), FloatList(a.high));
  c10::List<int64_t> hidden;
  for (int h : p.config.model.hidden_sizes) hidden.push_back(h);
  m.register_attribute("hidden_sizes", c10::ListType::ofInts(), hidden);
  str("activation", p.config.model.activation);
  boolean("shared_trunk", p.config.model.shared_trunk);
  // Added within format 1: readers treat a missing one as false.
  boolean("clip_action", p.config.clip_action && !a.is_discrete());
  boolean("normalize_obs", norm.enabled);
  real("obs_clip", norm.clip);
  real("obs_epsilon", RunningMeanStd::kEpsilon);
  real("obs_count", norm.stats.count());
  integer("policy_version", static_cast<int64_t>(p.policy_version));
  integer("env_steps", p.env_steps);
}

// max |exported − live| of dist_params and value on random observations
// spread around (and, for the normalizer, beyond its clip of) the statistics.
double SelfCheck(const CheckpointPolicy& p, torch::jit::Module& exported) {
  const NormalizerState& norm = p.snapshot->normalizer;
  const int d = p.env.obs_dim();
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(20240601);
  at::Tensor obs = at::randn({kSelfCheckRows, d}, gen, at::TensorOptions().dtype(at::kFloat));
  if (norm.enabled) {
    for (int j = 0; j < d; ++j) {
      const double sd = std::sqrt(norm.stats.var()[j]);
      obs.select(1, j).mul_(4.0 * sd).add_(norm.stats.mean()[j]);
    }
  } else {
    obs.mul_(2.0);
  }
  at::Tensor normalized = obs.clone();
  if (norm.enabled) {
    norm.stats.Normalize(obs.data_ptr<float>(), normalized.data_ptr<float>(), kSelfCheckRows,
                         norm.clip);
  }
  torch::NoGradGuard no_grad;
  ActorCritic model = p.snapshot->model;
  PolicyHeads live = model->forward(normalized);
  at::Tensor params = exported.get_method("dist_params")({obs}).toTensor();
  at::Tensor value = exported.get_method("value")({obs}).toTensor();
  if (params.sizes() != live.dist_params.sizes() || value.sizes() != live.value.sizes()) {
    return INFINITY;
  }
  return std::max((params - live.dist_params).abs().max().item<double>(),
                  (value - live.value).abs().max().item<double>());
}

}  // namespace

absl::StatusOr<TorchScriptExportInfo> ExportTorchScriptPolicy(const CheckpointPolicy& policy,
                                                              const std::string& out_path) {
  if (policy.snapshot == nullptr || policy.snapshot->model.is_empty()) {
    return absl::InvalidArgumentError("no policy to export");
  }
  const std::string& activation = policy.config.model.activation;
  if (activation != "tanh" && activation != "relu") {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot export activation '", activation, "' (tanh or relu)"));
  }
  const bool discrete = policy.env.action_space.is_discrete();
  const ActorCritic& model = policy.snapshot->model;
  std::vector<std::string> names;
  for (const auto& item : model->named_parameters()) names.push_back(item.key());
  PROXIMA_ASSIGN_OR_RETURN(Layout layout, MakeLayout(names, policy.config, discrete));

  TorchScriptExportInfo info;
  info.path = out_path;
  info.checkpoint = policy.path;
  info.env_id = policy.env.id;
  info.obs_dim = policy.env.obs_dim();
  info.action_space = policy.env.action_space.DebugString();
  info.policy_version = policy.policy_version;
  std::string bytes;
  try {
    torch::jit::Module m("__torch__.ProximaPolicy");
    for (const auto& item : model->named_parameters()) {
      m.register_parameter(AttrName(item.key()),
                           item.value().detach().to(at::kCPU).to(at::kFloat).contiguous().clone(),
                           /*is_buffer=*/false);
    }
    const RunningMeanStd& stats = policy.snapshot->normalizer.stats;
    const auto f64 = at::TensorOptions().dtype(at::kDouble);
    m.register_buffer("obs_mean", at::tensor(stats.mean(), f64));
    m.register_buffer("obs_var", at::tensor(stats.var(), f64));
    RegisterMetadata(policy, m);
    m.define(MethodsSource(layout, activation == "relu" ? "torch.relu" : "torch.tanh", discrete));
    m.eval();
    torch::jit::ExtraFilesMap extra = {{"proxima.json", MetadataJson(policy).dump(2)}};
    std::ostringstream os;
    m.save(os, extra);
    bytes = os.str();
    std::istringstream in(bytes);
    torch::jit::Module loaded = torch::jit::load(in);
    info.self_check_max_abs_diff = SelfCheck(policy, loaded);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("cannot build the TorchScript module: ", e.what()));
  }
  if (!(info.self_check_max_abs_diff <= kSelfCheckTolerance)) {
    return absl::InternalError(absl::StrCat(
        "the exported module differs from the checkpoint's network by ",
        info.self_check_max_abs_diff, " (> ", kSelfCheckTolerance, "); nothing written"));
  }
  PROXIMA_RETURN_IF_ERROR(WriteFileAtomic(out_path, bytes));
  info.size_bytes = static_cast<int64_t>(bytes.size());
  return info;
}

absl::StatusOr<TorchScriptExportInfo> ExportCheckpointToTorchScript(
    const std::string& checkpoint_path, const std::string& out_path) {
  PROXIMA_ASSIGN_OR_RETURN(CheckpointPolicy policy, LoadCheckpointPolicy(checkpoint_path));
  return ExportTorchScriptPolicy(policy, out_path);
}

}  // namespace proxima

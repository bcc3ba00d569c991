#include "learner/export/policy_evaluator.h"

#include <sys/stat.h>

#include <ATen/ATen.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/utils.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/export/checkpoint_policy.h"
#include "learner/export/torchscript_export.h"

namespace proxima {
namespace {

class TorchScriptEvalPolicy : public EvalPolicy {
 public:
  static absl::StatusOr<std::unique_ptr<EvalPolicy>> Load(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      return absl::NotFoundError(absl::StrCat("no such policy file: ", path));
    }
    std::unique_ptr<TorchScriptEvalPolicy> p(new TorchScriptEvalPolicy());
    try {
      p->module_ = torch::jit::load(path, torch::Device(torch::kCPU));
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": not a TorchScript module: ", e.what()));
    }
    torch::jit::Module& m = p->module_;
    for (const char* attr : {"format_version", "env_id", "obs_dim", "discrete", "num_actions",
                             "action_low", "action_high"}) {
      if (!m.hasattr(attr)) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": not a Proxima policy (no '", attr, "' attribute; write one with "
            "`proxima export`)"));
      }
    }
    if (!m.find_method("forward") || !m.find_method("act")) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": not a Proxima policy (no forward/act methods)"));
    }
    try {
      const int64_t format = m.attr("format_version").toInt();
      if (format > kTorchScriptPolicyFormat) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": policy format ", format, " is newer than this Proxima's (",
            kTorchScriptPolicyFormat, ")"));
      }
      p->env_id_ = m.attr("env_id").toStringRef();
      p->obs_dim_ = static_cast<int>(m.attr("obs_dim").toInt());
      if (m.attr("discrete").toBool()) {
        p->action_space_ = Space::Discrete(static_cast<int>(m.attr("num_actions").toInt()));
      } else {
        std::vector<float> low, high;
        for (double v : m.attr("action_low").toDoubleList()) low.push_back(static_cast<float>(v));
        for (double v : m.attr("action_high").toDoubleList()) high.push_back(static_cast<float>(v));
        p->action_space_ = Space::Box(std::move(low), std::move(high));
      }
      // Optional: files written before the attribute existed did not record it.
      p->clip_action_ = m.hasattr("clip_action") && m.attr("clip_action").toBool();
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": malformed Proxima policy metadata: ", e.what()));
    }
    return std::unique_ptr<EvalPolicy>(std::move(p));
  }

  const std::string& env_id() const override { return env_id_; }
  int obs_dim() const override { return obs_dim_; }
  const Space& action_space() const override { return action_space_; }
  bool clip_action() const override { return clip_action_; }
  void Seed(uint64_t seed) override { torch::manual_seed(seed ^ kPolicySeedSalt); }

  absl::Status Act(const float* raw_obs, bool deterministic, float* action) override {
    const int n = action_space_.flat_dim();
    try {
      torch::NoGradGuard no_grad;
      // A [1, obs_dim] batch, as the checkpoint path's PolicyInference runs.
      at::Tensor obs = at::from_blob(const_cast<float*>(raw_obs), {1, obs_dim_},
                                     at::TensorOptions().dtype(at::kFloat))
                           .clone();
      at::Tensor out = deterministic
                           ? module_.forward({obs}).toTensor()
                           : module_.get_method("act")({obs}).toTupleRef().elements()[0].toTensor();
      out = out.to(at::kFloat).contiguous();
      if (out.numel() != n) {
        return absl::InternalError(absl::StrCat("the policy returned ", out.numel(),
                                                " action values, expected ", n));
      }
      const float* a = out.data_ptr<float>();
      for (int i = 0; i < n; ++i) action[i] = a[i];
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("the policy failed: ", e.what()));
    }
    return absl::OkStatus();
  }

 private:
  TorchScriptEvalPolicy() = default;

  torch::jit::Module module_;
  std::string env_id_;
  int obs_dim_ = 0;
  Space action_space_;
  bool clip_action_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<EvalPolicy>> LoadCheckpointEvalPolicy(const std::string& path) {
  PROXIMA_ASSIGN_OR_RETURN(CheckpointPolicy policy, LoadCheckpointPolicy(path));
  return MakeSnapshotEvalPolicy(policy.env, policy.config.model, policy.config.clip_action,
                                policy.snapshot);
}

absl::StatusOr<std::unique_ptr<EvalPolicy>> LoadTorchScriptEvalPolicy(const std::string& path) {
  return TorchScriptEvalPolicy::Load(path);
}

}  // namespace proxima

// Python interop: a policy exported by Proxima loads in Python with
// torch.jit.load and reproduces the live C++ policy there
// (check_torchscript_policy.py). Needs Debian's python3-torch; without it the
// test is skipped and says so.
#include <ATen/ATen.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "learner/export/checkpoint_policy.h"
#include "learner/export/torchscript_export.h"
#include "nlohmann/json.hpp"
#include "tests/learner/policy_test_util.h"
#include "tests/test_util.h"

#ifndef PROXIMA_SOURCE_DIR
#error "PROXIMA_SOURCE_DIR must be defined"
#endif

namespace proxima {
namespace {

// Python's torch.jit.load runs the same LibTorch ops: batched outputs equal
// the live C++ policy's exactly. One unbatched observation goes through other
// BLAS kernels than the batch, so it matches the batch's row to rounding.
constexpr double kTolerance = 0.0;
constexpr double kUnbatchedTolerance = 1e-6;

// A Python that imports torch: $PROXIMA_PYTHON if set, else python3 from
// PATH, else Debian's /usr/bin/python3 (python3-torch installs for that
// interpreter only, so a virtualenv or pyenv python3 earlier in PATH does not
// see it). Empty if none; `tried` says what each attempt printed.
std::string FindPythonWithTorch(std::string* tried) {
  std::vector<std::string> candidates = {"python3", "/usr/bin/python3"};
  if (const char* env = std::getenv("PROXIMA_PYTHON"); env != nullptr && *env != '\0') {
    candidates = {env};
  }
  for (const std::string& python : candidates) {
    CommandResult r = RunCommand(python + " -c 'import torch; print(torch.__version__)'");
    if (r.exit_code == 0) return python;
    absl::StrAppend(tried, "\n  ", python, " (exit ", r.exit_code, "): ",
                    r.output.substr(r.output.size() > 300 ? r.output.size() - 300 : 0));
  }
  return "";
}

nlohmann::json ToJson(const at::Tensor& t) {
  at::Tensor d = t.to(at::kDouble).contiguous();
  const double* p = d.data_ptr<double>();
  if (d.dim() == 1) return std::vector<double>(p, p + d.numel());
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t i = 0; i < d.size(0); ++i) {
    rows.push_back(std::vector<double>(p + i * d.size(1), p + (i + 1) * d.size(1)));
  }
  return rows;
}

TEST(PolicyInteropTest, PythonLoadsTheExportAndMatchesTheLiveCppPolicy) {
  std::string tried;
  const std::string python = FindPythonWithTorch(&tried);
  if (python.empty()) {
    PROXIMA_SKIP_OR_FAIL_IN_CI() << "no python3 with torch — install Debian's python3-torch "
                    "(apt-get install python3-torch) to run the Python interop check; tried:"
                 << tried;
  }
  const std::string dir = MakeTempDir("interop");
  nlohmann::json cases = nlohmann::json::array();
  for (const PolicyVariant& v : AllPolicyVariants()) {
    const std::string sub = dir + "/" + v.name;
    absl::StatusOr<std::string> ckpt = WriteRandomPolicyCheckpoint(v, sub, 31);
    ASSERT_TRUE(ckpt.ok()) << ckpt.status();
    absl::StatusOr<CheckpointPolicy> live = LoadCheckpointPolicy(*ckpt);
    ASSERT_TRUE(live.ok()) << live.status();
    absl::StatusOr<TorchScriptExportInfo> info =
        ExportTorchScriptPolicy(*live, sub + "/policy.pt");
    ASSERT_TRUE(info.ok()) << info.status();
    const at::Tensor raw = RandomRawObs(*live, 64, 4);
    const LiveOutputs out = ComputeLiveOutputs(*live, raw);
    const Space& a = live->env.action_space;
    nlohmann::json c;
    c["name"] = v.name;
    c["policy"] = info->path;
    c["tolerance"] = kTolerance;
    c["unbatched_tolerance"] = kUnbatchedTolerance;
    c["metadata"] = {
        {"env_id", v.env_id},
        {"obs_dim", live->env.obs_dim()},
        {"discrete", a.is_discrete()},
        {"num_actions", a.is_discrete() ? a.n : 0},
        {"action_dim", a.flat_dim()},
        {"action_space", a.DebugString()},
        {"hidden_sizes", v.hidden_sizes},
        {"activation", v.activation},
        {"shared_trunk", v.shared_trunk},
        {"normalize_obs", v.normalize_obs},
        {"policy_version", 7},
        {"format_version", kTorchScriptPolicyFormat},
    };
    c["obs"] = ToJson(raw);
    c["normalized"] = ToJson(out.normalized);
    c["dist_params"] = ToJson(out.dist_params);
    c["value"] = ToJson(out.value);
    c["det_action"] = ToJson(out.det_action);
    c["det_logp"] = ToJson(out.det_logp);
    c["sampled_action"] = ToJson(out.sampled_action);
    c["sampled_logp"] = ToJson(out.sampled_logp);
    c["entropy"] = ToJson(out.entropy);
    cases.push_back(c);
  }
  const std::string cases_path = dir + "/cases.json";
  std::ofstream(cases_path) << cases.dump();
  const std::string script = std::string(PROXIMA_SOURCE_DIR) + "/tests/learner/check_torchscript_policy.py";
  CommandResult r = RunCommand(python + " " + script + " " + cases_path);
  std::printf("%s", r.output.c_str());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("all cases match"), std::string::npos) << r.output;
  RecordProperty("python", python);
}

}  // namespace
}  // namespace proxima

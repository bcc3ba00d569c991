// TorchScript export of sequence policies (learner/export/
// seq_torchscript_export.h): the module reloaded in C++ equals the live
// model within 1e-5 at every length, and Python's torch.jit.load
// (check_seq_export.py, Debian's python3-torch) reproduces it too — skipped,
// saying so, without a python3 that has torch.
#include "learner/export/seq_torchscript_export.h"

#include <torch/csrc/jit/serialization/import.h>
#include <torch/types.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/lm/char_tokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/lm/seq_checkpoint.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

#ifndef PROXIMA_SOURCE_DIR
#error "PROXIMA_SOURCE_DIR must be defined"
#endif

namespace proxima {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::HasSubstr;

constexpr double kTolerance = 1e-5;

std::string WriteCheckpoint(const std::string& dir, lm::SeqPolicy* model) {
  lm::SeqCheckpointInfo info;
  info.config.vocab_size = lm::CharTokenizer().vocab_size();
  info.config.max_seq_len = 12;
  info.config.d_model = 24;
  info.config.num_layers = 2;
  info.config.num_heads = 3;
  info.config.d_ff = 48;
  info.tokenizer = lm::CharTokenizer().spec();
  info.task_id = "lm/Sort-v0";
  info.policy_version = 5;
  info.sft.steps = 40;
  info.sft.held_out_accuracy = 0.25;
  *model = lm::SeqPolicy(info.config, 11);
  return lm::SaveSeqCheckpoint(dir, **model, info).value();
}

nlohmann::json Nested(const torch::Tensor& t) {
  const torch::Tensor d = t.to(torch::kDouble).contiguous();
  if (d.dim() == 1) {
    return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
  }
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t i = 0; i < d.size(0); ++i) rows.push_back(Nested(d[i]));
  return rows;
}

TEST(SeqExportTest, ReloadedModuleMatchesTheLiveModel) {
  const std::string dir = proxima::MakeTempDir("seq_export");
  lm::SeqPolicy model{nullptr};
  const std::string ckpt = WriteCheckpoint(dir, &model);
  const SeqExportInfo info = ExportSeqCheckpointToTorchScript(dir, dir + "/policy.pt").value();
  EXPECT_EQ(info.checkpoint, ckpt);
  EXPECT_EQ(info.task_id, "lm/Sort-v0");
  EXPECT_EQ(info.parameters, model->NumParameters());
  EXPECT_LE(info.self_check_max_abs_diff, kTolerance);
  EXPECT_GT(info.size_bytes, 0);

  torch::jit::Module m = torch::jit::load(dir + "/policy.pt");
  EXPECT_EQ(m.attr("kind").toStringRef(), "seq_policy");
  EXPECT_EQ(m.attr("tokenizer_alphabet").toStringRef(), std::string(lm::kDefaultAlphabet));
  EXPECT_EQ(m.attr("num_layers").toInt(), 2);
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  for (int64_t t : {1, 5, 12}) {
    const torch::Tensor tokens = torch::randint(19, {4, t}, torch::kLong);
    const auto out = m.forward({tokens}).toTuple();
    const lm::SeqPolicyOutput live = model->forward(tokens);
    EXPECT_LE((out->elements()[0].toTensor() - live.logits).abs().max().item<double>(), kTolerance);
    EXPECT_LE((out->elements()[1].toTensor() - live.values).abs().max().item<double>(), kTolerance);
  }
}

TEST(SeqExportTest, MissingAndDamagedCheckpointsAreNamed) {
  const std::string dir = proxima::MakeTempDir("seq_export_bad");
  EXPECT_THAT(ExportSeqCheckpointToTorchScript(dir, dir + "/p.pt").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no sequence-policy checkpoint")));
  ASSERT_TRUE(WriteFileAtomic(dir + "/ckpt-000000000001.pt", "not a zip").ok());
  EXPECT_THAT(ExportSeqCheckpointToTorchScript(dir + "/ckpt-000000000001.pt", dir + "/p.pt").status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("corrupted archive")));
  EXPECT_FALSE(ReadFile(dir + "/p.pt").ok());
}

// A Python that imports torch (Debian's python3-torch installs for
// /usr/bin/python3), or "" when there is none.
std::string PythonWithTorch() {
  for (const char* python : {"/usr/bin/python3", "python3"}) {
    if (RunCommand(std::string(python) + " -c 'import torch'").exit_code == 0) return python;
  }
  return "";
}

TEST(SeqExportTest, PythonLoadsTheExportAndMatchesTheLiveModel) {
  const std::string python = PythonWithTorch();
  if (python.empty()) {
    PROXIMA_SKIP_OR_FAIL_IN_CI() << "no python3 with torch (apt-get install python3-torch)";
  }
  const std::string dir = proxima::MakeTempDir("seq_export_py");
  lm::SeqPolicy model{nullptr};
  WriteCheckpoint(dir, &model);
  ASSERT_TRUE(ExportSeqCheckpointToTorchScript(dir, dir + "/policy.pt").ok());
  nlohmann::json c = {{"module", dir + "/policy.pt"},
                      {"tolerance", kTolerance},
                      {"metadata",
                       {{"task", "lm/Sort-v0"},
                        {"vocab_size", 19},
                        {"max_seq_len", 12},
                        {"policy_version", 5},
                        {"tokenizer_kind", "char"},
                        {"tokenizer_alphabet", std::string(lm::kDefaultAlphabet)}}},
                      {"batches", nlohmann::json::array()}};
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  for (int64_t t : {1, 7, 12}) {
    const torch::Tensor tokens = torch::randint(19, {3, t}, torch::kLong);
    const lm::SeqPolicyOutput live = model->forward(tokens);
    c["batches"].push_back(
        {{"tokens", Nested(tokens)}, {"logits", Nested(live.logits)}, {"values", Nested(live.values)}});
  }
  ASSERT_TRUE(WriteFileAtomic(dir + "/case.json", c.dump()).ok());
  const auto r = RunCommand(python + " " + PROXIMA_SOURCE_DIR + "/tests/lm/check_seq_export.py " +
                            dir + "/case.json");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("max |python - c++|"));
}

}  // namespace
}  // namespace proxima

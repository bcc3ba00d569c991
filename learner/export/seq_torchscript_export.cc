#include "learner/export/seq_torchscript_export.h"

#include <ATen/ATen.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "learner/lm/seq_checkpoint.h"
#include "nlohmann/json.hpp"

namespace proxima {
namespace {

constexpr double kSelfCheckTolerance = 1e-5;
constexpr int kSelfCheckRows = 8;

std::string Attr(const std::string& param_name) {
  return absl::StrCat("self.", absl::StrReplaceAll(param_name, {{".", "_"}}));
}

// forward() as TorchScript source, unrolled over the layers: op for op
// SeqPolicyImpl::Run and its blocks without a cache.
std::string ForwardSource(const lm::SeqPolicyConfig& c) {
  const int head_dim = c.d_model / c.num_heads;
  const std::string scale = absl::StrFormat("%.17g", 1.0 / std::sqrt(static_cast<double>(head_dim)));
  auto linear = [](const std::string& x, const std::string& layer) {
    return absl::StrCat("torch.linear(", x, ", ", Attr(layer + ".weight"), ", ",
                        Attr(layer + ".bias"), ")");
  };
  auto norm = [&c](const std::string& x, const std::string& layer) {
    return absl::StrCat("torch.layer_norm(", x, ", [", c.d_model, "], ", Attr(layer + ".weight"),
                        ", ", Attr(layer + ".bias"), ", 1e-05)");
  };
  std::string s =
      "def forward(self, tokens: Tensor) -> Tuple[Tensor, Tensor]:\n"
      "    b = tokens.size(0)\n"
      "    t = tokens.size(1)\n"
      "    positions = torch.arange(t, device=tokens.device)\n";
  absl::StrAppend(&s, "    x = torch.embedding(", Attr("token_embedding.weight"),
                  ", tokens) + torch.embedding(", Attr("position_embedding.weight"),
                  ", positions)\n",
                  "    mask = torch.ones([t, t], device=tokens.device).triu(1) > 0.5\n");
  for (int i = 0; i < c.num_layers; ++i) {
    const std::string p = absl::StrCat("blocks.", i, ".");
    absl::StrAppend(&s, "    qkv = ", linear(norm("x", p + "ln1"), p + "qkv"), ".view([b, t, 3, ",
                    c.num_heads, ", ", head_dim, "]).permute([2, 0, 3, 1, 4])\n",
                    "    scores = torch.matmul(qkv[0], qkv[1].transpose(-2, -1)) * ", scale, "\n",
                    "    scores = scores.masked_fill(mask, float('-inf'))\n",
                    "    attended = torch.matmul(torch.softmax(scores, -1), qkv[2])\n",
                    "    x = x + ", linear("attended.transpose(1, 2).reshape([b, t, " +
                                           std::to_string(c.d_model) + "])",
                                       p + "proj"),
                    "\n", "    x = x + ",
                    linear("torch.gelu(" + linear(norm("x", p + "ln2"), p + "fc1") + ")",
                           p + "fc2"),
                    "\n");
  }
  absl::StrAppend(&s, "    h = ", norm("x", "final_norm"), "\n",
                  "    logits = torch.linear(h, ", Attr("lm_head.weight"), ")\n",
                  "    values = ", linear("h", "value_head"), ".squeeze(-1)\n",
                  "    return logits, values\n");
  return s;
}

nlohmann::json Metadata(const lm::LoadedSeqCheckpoint& ckpt) {
  const lm::SeqCheckpointInfo& i = ckpt.info;
  nlohmann::json j = {{"format", kTorchScriptSeqPolicyFormat},
                      {"kind", lm::kSeqCheckpointKind},
                      {"checkpoint", ckpt.path},
                      {"task", i.task_id},
                      {"vocab_size", i.config.vocab_size},
                      {"max_seq_len", i.config.max_seq_len},
                      {"d_model", i.config.d_model},
                      {"num_layers", i.config.num_layers},
                      {"num_heads", i.config.num_heads},
                      {"d_ff", i.config.d_ff},
                      {"tokenizer_kind", i.tokenizer.kind},
                      {"policy_version", i.policy_version},
                      {"sft_steps", i.sft.steps},
                      {"sft_held_out_accuracy", i.sft.held_out_accuracy}};
  if (i.tokenizer.kind == lm::kCharTokenizerKind) j["tokenizer_alphabet"] = i.tokenizer.data;
  return j;
}

void RegisterMetadata(const lm::LoadedSeqCheckpoint& ckpt, torch::jit::Module& m) {
  const lm::SeqCheckpointInfo& i = ckpt.info;
  auto integer = [&m](const char* name, int64_t v) {
    m.register_attribute(name, c10::IntType::get(), c10::IValue(v));
  };
  auto str = [&m](const char* name, const std::string& v) {
    m.register_attribute(name, c10::StringType::get(), c10::IValue(v));
  };
  integer("format", kTorchScriptSeqPolicyFormat);
  str("kind", lm::kSeqCheckpointKind);
  str("task", i.task_id);
  integer("vocab_size", i.config.vocab_size);
  integer("max_seq_len", i.config.max_seq_len);
  integer("d_model", i.config.d_model);
  integer("num_layers", i.config.num_layers);
  integer("num_heads", i.config.num_heads);
  integer("d_ff", i.config.d_ff);
  str("tokenizer_kind", i.tokenizer.kind);
  str("tokenizer_alphabet", i.tokenizer.kind == lm::kCharTokenizerKind ? i.tokenizer.data : "");
  integer("policy_version", static_cast<int64_t>(i.policy_version));
  integer("sft_steps", i.sft.steps);
  m.register_attribute("sft_held_out_accuracy", c10::FloatType::get(),
                       c10::IValue(i.sft.held_out_accuracy));
}

// max |exported − live| of logits and values on random full-length batches
// and on a one-token batch.
double SelfCheck(lm::SeqPolicyImpl& model, torch::jit::Module& exported) {
  const lm::SeqPolicyConfig& c = model.config();
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(20241207);
  double worst = 0;
  torch::NoGradGuard no_grad;
  for (int64_t t : {int64_t{1}, int64_t{c.max_seq_len}}) {
    const at::Tensor tokens = at::randint(c.vocab_size, {kSelfCheckRows, t}, gen,
                                          at::TensorOptions().dtype(at::kLong));
    const lm::SeqPolicyOutput live = model.forward(tokens);
    const auto out = exported.forward({tokens}).toTuple();
    const at::Tensor logits = out->elements()[0].toTensor();
    const at::Tensor values = out->elements()[1].toTensor();
    if (logits.sizes() != live.logits.sizes() || values.sizes() != live.values.sizes()) {
      return INFINITY;
    }
    worst = std::max({worst, (logits - live.logits).abs().max().item<double>(),
                      (values - live.values).abs().max().item<double>()});
  }
  return worst;
}

}  // namespace

absl::StatusOr<SeqExportInfo> ExportSeqCheckpointToTorchScript(const std::string& checkpoint_path,
                                                               const std::string& out_path) {
  PROXIMA_ASSIGN_OR_RETURN(lm::LoadedSeqCheckpoint ckpt, lm::LoadSeqCheckpoint(checkpoint_path));
  SeqExportInfo info;
  info.path = out_path;
  info.checkpoint = ckpt.path;
  info.task_id = ckpt.info.task_id;
  info.vocab_size = ckpt.info.config.vocab_size;
  info.max_seq_len = ckpt.info.config.max_seq_len;
  info.parameters = ckpt.model->NumParameters();
  info.policy_version = ckpt.info.policy_version;
  std::string bytes;
  try {
    torch::jit::Module m("__torch__.ProximaSeqPolicy");
    for (const auto& item : ckpt.model->named_parameters()) {
      m.register_parameter(Attr(item.key()).substr(5),
                           item.value().detach().to(at::kFloat).contiguous().clone(),
                           /*is_buffer=*/false);
    }
    RegisterMetadata(ckpt, m);
    m.define(ForwardSource(ckpt.info.config));
    m.eval();
    torch::jit::ExtraFilesMap extra = {{"proxima.json", Metadata(ckpt).dump(2)}};
    if (ckpt.info.tokenizer.kind == lm::kSentencePieceTokenizerKind) {
      extra["tokenizer.model"] = ckpt.info.tokenizer.data;
    }
    std::ostringstream os;
    m.save(os, extra);
    bytes = os.str();
    std::istringstream in(bytes);
    torch::jit::Module loaded = torch::jit::load(in);
    info.self_check_max_abs_diff = SelfCheck(*ckpt.model, loaded);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("cannot build the TorchScript module: ", e.what()));
  }
  if (!(info.self_check_max_abs_diff <= kSelfCheckTolerance)) {
    return absl::InternalError(absl::StrCat(
        "the exported module differs from the checkpoint's model by ",
        info.self_check_max_abs_diff, " (> ", kSelfCheckTolerance, "); nothing written"));
  }
  PROXIMA_RETURN_IF_ERROR(WriteFileAtomic(out_path, bytes));
  info.size_bytes = static_cast<int64_t>(bytes.size());
  return info;
}

}  // namespace proxima

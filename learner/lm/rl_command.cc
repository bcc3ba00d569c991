#include "learner/lm/rl_command.h"

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"
#include "common/lm/task_registry.h"
#include "common/policy/cpu_threads.h"
#include "common/status_macros.h"
#include "learner/lm/lm_flags.h"
#include "learner/lm/seq_checkpoint.h"
#include "learner/lm/seq_rl_loop.h"

namespace proxima {

const char kLmRlUsage[] =
    "       proxima lm rl --init CKPT [--algo grpo|ppo] [--iterations N] [--prompts N]\n"
    "                     [--group-size G] [--temperature T] [--top-k K] [--reward exact|partial]\n"
    "                     [--lr X] [--epochs N] [--minibatch N] [--kl-beta B] [--clip C]\n"
    "                     [--clip-high C] [--loss-aggregation token-mean|sequence-mean]\n"
    "                     [--reward-kl-beta B] [--kl-target K] [--gamma G] [--lambda L]\n"
    "                     [--vf-coef C] [--eval-every N] [--eval-prompts N]\n"
    "                     [--eval-samples N] [--seed S]\n"
    "                     [--threads N] [--run-dir DIR]\n";

namespace {

constexpr char kCsvHeader[] =
    "iteration,seconds,sequences,tokens,mean_reward,solved_fraction,mean_completion_length,"
    "kl_to_ref,seq_kl_to_ref,entropy,loss,policy_loss,value_loss,clip_fraction,approx_kl,"
    "grad_norm,first_ratio_deviation,kl_coef,degenerate_groups,groups,held_out_accuracy,"
    "held_out_partial_credit,held_out_sampled_accuracy\n";

std::string CsvRow(const learner_lm::SeqRlProgress& p) {
  const learner_lm::SeqUpdateMetrics& u = p.update;
  std::string held_out = ",";
  if (p.held_out.has_value()) {
    held_out = absl::StrFormat("%.6g,%.6g", p.held_out->accuracy, p.held_out->mean_partial_credit);
  }
  held_out += ",";
  if (p.held_out_sampled.has_value()) {
    held_out += absl::StrFormat("%.6g", p.held_out_sampled->accuracy);
  }
  return absl::StrFormat(
      "%d,%.3f,%d,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%d,%d,"
      "%s\n",
      p.iteration, p.seconds, p.sequences, p.tokens, u.mean_reward, u.solved_fraction,
      u.mean_completion_length, u.kl_to_ref, u.seq_kl_to_ref, u.entropy, u.loss, u.policy_loss,
      u.value_loss, u.clip_fraction, u.approx_kl, u.grad_norm, u.first_ratio_deviation, u.kl_coef,
      u.degenerate_groups, u.groups, held_out);
}

}  // namespace

absl::Status RunLmRl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                     int* exit_code) {
  std::string init, algo = "grpo", reward = "exact", aggregation = "token-mean", run_dir;
  int threads = 1;
  learner_lm::SeqTrainerOptions t;
  learner_lm::SeqRlLoopOptions loop;
  const std::vector<LmFlag> flags = {
      {"init", LmString("init", &init)},
      {"algo", LmString("algo", &algo)},
      {"iterations", LmNumber("iterations", &loop.iterations)},
      {"prompts", LmNumber("prompts", &loop.prompts_per_update)},
      {"group-size", LmNumber("group-size", &loop.group_size)},
      {"temperature", LmNumber("temperature", &loop.temperature)},
      {"top-k", LmNumber("top-k", &loop.top_k)},
      {"reward", LmString("reward", &reward)},
      {"lr", LmNumber("lr", &t.learning_rate)},
      {"epochs", LmNumber("epochs", &t.epochs)},
      {"minibatch", LmNumber("minibatch", &t.minibatch_size)},
      {"kl-beta", LmNumber("kl-beta", &t.grpo.kl_beta)},
      {"clip", LmNumber("clip", &t.grpo.clip_eps_low)},
      {"clip-high", LmNumber("clip-high", &t.grpo.clip_eps_high)},
      {"loss-aggregation", LmString("loss-aggregation", &aggregation)},
      {"reward-kl-beta", LmNumber("reward-kl-beta", &t.reward_kl_beta)},
      {"kl-target", LmNumber("kl-target", &t.kl_target)},
      {"gamma", LmNumber("gamma", &t.gamma)},
      {"lambda", LmNumber("lambda", &t.lambda)},
      {"vf-coef", LmNumber("vf-coef", &t.ppo.vf_coef)},
      {"eval-every", LmNumber("eval-every", &loop.eval_every)},
      {"eval-prompts", LmNumber("eval-prompts", &loop.eval_prompts)},
      {"eval-samples", LmNumber("eval-samples", &loop.eval_samples)},
      {"seed", LmNumber("seed", &loop.seed)},
      {"threads", LmNumber("threads", &threads)},
      {"run-dir", LmString("run-dir", &run_dir)},
  };
  // Defaults measured on lm/Addition-v0 (docs/sequence-policies.md).
  t.learning_rate = 1e-5;
  t.minibatch_size = 128;
  loop.prompts_per_update = 32;
  PROXIMA_RETURN_IF_ERROR(ParseLmFlags(args, flags));
  if (init.empty()) return absl::InvalidArgumentError("`proxima lm rl` needs --init CKPT");
  if (threads < 1) return absl::InvalidArgumentError(absl::StrCat("--threads=", threads, " must be >= 1"));
  PROXIMA_ASSIGN_OR_RETURN(t.algo, learner_lm::ParseSeqAlgo(algo));
  PROXIMA_ASSIGN_OR_RETURN(loop.reward_mode, lm::ParseRewardMode(reward));
  PROXIMA_ASSIGN_OR_RETURN(t.grpo.aggregation, learner_lm::ParseLossAggregation(aggregation));
  t.ppo.clip_eps = t.grpo.clip_eps_low;
  t.seed = loop.seed;
  PROXIMA_RETURN_IF_ERROR(t.Validate());
  PROXIMA_RETURN_IF_ERROR(loop.Validate());

  ConfigureCpuThreads(threads);
  absl::StatusOr<lm::LoadedSeqCheckpoint> policy = lm::LoadSeqCheckpoint(init);
  if (!policy.ok()) return policy.status();
  absl::StatusOr<lm::LoadedSeqCheckpoint> reference = lm::LoadSeqCheckpoint(init);
  if (!reference.ok()) return reference.status();
  PROXIMA_ASSIGN_OR_RETURN(const std::unique_ptr<lm::Task> task,
                           lm::MakeTask(policy->info.task_id));
  for (auto& p : policy->model->parameters()) p.set_requires_grad(true);
  policy->model->train();
  PROXIMA_ASSIGN_OR_RETURN(
      std::unique_ptr<learner_lm::SeqTrainer> trainer,
      learner_lm::SeqTrainer::Create(policy->model, reference->model, t));

  std::ofstream csv;
  if (!run_dir.empty()) {
    PROXIMA_RETURN_IF_ERROR(MakeDirs(run_dir));
    csv.open(run_dir + "/metrics.csv");
    if (!csv) return absl::InvalidArgumentError(absl::StrCat("cannot write ", run_dir, "/metrics.csv"));
    csv << kCsvHeader;
  }
  *exit_code = 1;  // from here on a failure is a runtime one
  out << absl::StrFormat(
      "proxima lm rl: %s on %s from %s (SFT held-out exact %.1f%%); %d iterations of %d prompts "
      "x %d completions at temperature %g\n",
      learner_lm::SeqAlgoName(t.algo), task->spec().id, policy->path,
      100.0 * policy->info.sft.held_out_accuracy, loop.iterations, loop.prompts_per_update,
      loop.group_size, loop.temperature);
  auto report = [&](const learner_lm::SeqRlProgress& p) {
    const learner_lm::SeqUpdateMetrics& u = p.update;
    out << absl::StrFormat(
        "iter %5d  %7.1f s  reward %.3f  solved %.3f  kl/token %.4f  kl/seq %.3f  clip %.3f  "
        "%6.0f tokens/s",
        p.iteration, p.seconds, u.mean_reward, u.solved_fraction, u.kl_to_ref, u.seq_kl_to_ref,
        u.clip_fraction, p.generation_seconds > 0 ? p.tokens / p.generation_seconds : 0.0);
    if (p.held_out.has_value()) {
      out << absl::StrFormat("  held-out exact %.1f%% (%d/%d)", 100.0 * p.held_out->accuracy,
                             p.held_out->exact, p.held_out->prompts);
    }
    if (p.held_out_sampled.has_value()) {
      out << absl::StrFormat("  sampled %.1f%% (%d/%d)", 100.0 * p.held_out_sampled->accuracy,
                             p.held_out_sampled->exact, p.held_out_sampled->completions);
    }
    out << std::endl;
    if (csv.is_open()) csv << CsvRow(p) << std::flush;
  };
  absl::StatusOr<learner_lm::SeqRlResult> result =
      learner_lm::RunSeqRlLoop(*trainer, *task, *policy->tokenizer, loop, report);
  if (!result.ok()) {
    err << "proxima lm rl: " << result.status().message() << "\n";
    return absl::OkStatus();
  }
  out << absl::StrFormat("done: held-out exact match %.1f%% -> %.1f%% in %.1f s (%d tokens)\n",
                         100.0 * result->initial.accuracy, 100.0 * result->final.accuracy,
                         result->last.seconds, result->last.tokens);
  if (result->initial_sampled.has_value() && result->final_sampled.has_value()) {
    out << absl::StrFormat("      held-out sampled exact match %.1f%% -> %.1f%% (%d completions "
                           "at temperature %g)\n",
                           100.0 * result->initial_sampled->accuracy,
                           100.0 * result->final_sampled->accuracy,
                           result->final_sampled->completions, loop.temperature);
  }
  if (!run_dir.empty()) {
    lm::SeqCheckpointInfo info = policy->info;
    info.policy_version = static_cast<uint64_t>(loop.iterations);
    policy->model->eval();
    absl::StatusOr<std::string> saved =
        lm::SaveSeqCheckpoint(run_dir + "/checkpoints", *policy->model, info);
    if (!saved.ok()) {
      err << "proxima lm rl: cannot write the checkpoint: " << saved.status().message() << "\n";
      return absl::OkStatus();
    }
    out << "checkpoint: " << *saved << "\n";
  }
  *exit_code = 0;
  return absl::OkStatus();
}

}  // namespace proxima

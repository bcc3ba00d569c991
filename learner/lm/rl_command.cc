#include "learner/lm/rl_command.h"

#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"
#include "common/lm/task_registry.h"
#include "common/policy/cpu_threads.h"
#include "common/status_macros.h"
#include "learner/lm/lm_flags.h"
#include "learner/lm/preferences.h"
#include "learner/lm/rlhf_scorer.h"
#include "learner/lm/seq_checkpoint.h"
#include "learner/lm/seq_rl_loop.h"
#include "learner/lm/sft.h"
#include "nlohmann/json.hpp"

namespace proxima {

const char kLmRlUsage[] =
    "       proxima lm rl --init CKPT [--algo grpo|ppo] [--iterations N] [--prompts N]\n"
    "                     [--group-size G] [--temperature T] [--top-k K] [--reward exact|partial]\n"
    "                     [--lr X] [--epochs N] [--minibatch N] [--kl-beta B] [--clip C]\n"
    "                     [--clip-high C] [--loss-aggregation token-mean|sequence-mean]\n"
    "                     [--reward-kl-beta B] [--kl-target K] [--gamma G] [--lambda L]\n"
    "                     [--vf-coef C] [--eval-every N] [--eval-prompts N]\n"
    "                     [--eval-samples N] [--seed S]\n"
    "                     [--reward-model RM [--style none|length|pad:C] [--style-weight W]\n"
    "                      [--style-cap K]] [--threads N] [--run-dir DIR]\n";

namespace {

constexpr char kCsvHeader[] =
    "iteration,seconds,sequences,tokens,mean_reward,solved_fraction,mean_completion_length,"
    "kl_to_ref,seq_kl_to_ref,entropy,loss,policy_loss,value_loss,clip_fraction,approx_kl,"
    "grad_norm,first_ratio_deviation,kl_coef,degenerate_groups,groups,held_out_accuracy,"
    "held_out_partial_credit,held_out_sampled_accuracy";

// With --reward-model: the learned and the true reward of the iteration's
// completions, and at evaluations the same of held-out samples with their KL.
constexpr char kRlhfCsvColumns[] =
    ",learned_reward,true_reward,true_rule,true_style,held_out_learned_reward,"
    "held_out_true_reward,held_out_exact,held_out_seq_kl_to_ref";

std::string RlhfCsv(const learner_lm::RlhfScores& s,
                    const std::optional<learner_lm::RlhfHeldOut>& held) {
  std::string row = absl::StrFormat(",%.6g,%.6g,%.6g,%.6g", s.learned, s.true_score, s.true_rule,
                                    s.true_style);
  if (held.has_value()) {
    absl::StrAppendFormat(&row, ",%.6g,%.6g,%.6g,%.6g", held->scores.learned,
                          held->scores.true_score, held->scores.exact, held->seq_kl_to_ref);
  } else {
    row += ",,,,";
  }
  return row;
}

std::string DescribeHeldOut(const learner_lm::RlhfHeldOut& h) {
  return absl::StrFormat(
      "held-out samples (T = 1, %d prompts): true %.3f (rule %.3f + style %.3f), learned %.3f, "
      "exact %.3f, KL to reference %.3f nats/sequence",
      h.scores.completions, h.scores.true_score, h.scores.true_rule, h.scores.true_style,
      h.scores.learned, h.scores.exact, h.seq_kl_to_ref);
}

nlohmann::ordered_json HeldOutJson(const learner_lm::RlhfHeldOut& h) {
  nlohmann::ordered_json j;
  j["prompts"] = h.scores.completions;
  j["true_reward"] = h.scores.true_score;
  j["true_rule"] = h.scores.true_rule;
  j["true_style"] = h.scores.true_style;
  j["learned_reward"] = h.scores.learned;
  j["exact"] = h.scores.exact;
  j["seq_kl_to_ref"] = h.seq_kl_to_ref;
  return j;
}

std::string CsvRow(const learner_lm::SeqRlProgress& p, const learner_lm::SeqUpdateMetrics& u) {
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
      "%s",
      p.iteration, p.seconds, p.sequences, p.tokens, u.mean_reward, u.solved_fraction,
      u.mean_completion_length, u.kl_to_ref, u.seq_kl_to_ref, u.entropy, u.loss, u.policy_loss,
      u.value_loss, u.clip_fraction, u.approx_kl, u.grad_norm, u.first_ratio_deviation, u.kl_coef,
      u.degenerate_groups, u.groups, held_out);
}

}  // namespace

absl::Status RunLmRl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                     int* exit_code) {
  std::string init, algo = "grpo", reward = "exact", aggregation = "token-mean", run_dir;
  std::string reward_model_path, style = "length";
  double style_weight = 0.1;  // `proxima lm preferences`' defaults
  int style_cap = 4;
  bool style_given = false;
  // A flag that only means something with --reward-model.
  auto rlhf_only = [&style_given](std::function<absl::Status(absl::string_view)> set) {
    return [&style_given, set](absl::string_view text) {
      style_given = true;
      return set(text);
    };
  };
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
      {"reward-model", LmString("reward-model", &reward_model_path)},
      {"style", rlhf_only(LmString("style", &style))},
      {"style-weight", rlhf_only(LmNumber("style-weight", &style_weight))},
      {"style-cap", rlhf_only(LmNumber("style-cap", &style_cap))},
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
  if (style_given && reward_model_path.empty()) {
    return absl::InvalidArgumentError(
        "--style, --style-weight and --style-cap name the true score of a --reward-model run");
  }
  PROXIMA_ASSIGN_OR_RETURN(const lm::StyleTerm style_term,
                           lm::StyleTerm::Parse(style, style_weight, style_cap));
  PROXIMA_RETURN_IF_ERROR(t.Validate());
  PROXIMA_RETURN_IF_ERROR(loop.Validate());

  ConfigureCpuThreads(threads);
  auto flag_error = [](const char* flag, const absl::Status& s) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", s.message()));
  };
  absl::StatusOr<lm::LoadedSeqCheckpoint> policy = lm::LoadSeqCheckpoint(init);
  if (!policy.ok()) return flag_error("init", policy.status());
  absl::StatusOr<lm::LoadedSeqCheckpoint> reference = lm::LoadSeqCheckpoint(init);
  if (!reference.ok()) return flag_error("init", reference.status());
  PROXIMA_ASSIGN_OR_RETURN(const std::unique_ptr<lm::Task> task,
                           lm::MakeTask(policy->info.task_id));
  // Against a learned reward model: generation gets the room the true
  // score's style pays for, as `proxima lm preferences` sampled.
  std::unique_ptr<learner_lm::RewardModelScorer> scorer;
  std::optional<learner_lm::RlhfHeldOut> held_out_rlhf, initial_rlhf;
  const uint64_t rlhf_eval_seed = lm::HeldOutEvalSeed(policy->info.sft.seed);
  if (!reward_model_path.empty()) {
    loop.max_new_tokens = learner_lm::TrueScoreMaxNewTokens(*task, style_term);
    absl::StatusOr<lm::LoadedSeqCheckpoint> rm =
        lm::LoadSeqCheckpoint(reward_model_path, lm::kRewardModelKind);
    if (!rm.ok()) return flag_error("reward-model", rm.status());
    if (absl::Status s =
            learner_lm::CheckRewardModelFits(rm->info, policy->info, *task, loop.max_new_tokens);
        !s.ok()) {
      return flag_error("reward-model", absl::InvalidArgumentError(
                                            absl::StrCat(rm->path, ": ", s.message())));
    }
    absl::StatusOr<std::unique_ptr<learner_lm::RewardModelScorer>> made =
        learner_lm::RewardModelScorer::Create(*std::move(rm), *task, *policy->tokenizer,
                                              style_term, loop.reward_mode);
    if (!made.ok()) return flag_error("reward-model", made.status());
    scorer = *std::move(made);
  }
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
    csv << kCsvHeader << (scorer ? kRlhfCsvColumns : "") << "\n";
  }
  // With a reward model: DIR/summary.json, the held-out figures before the
  // first update (written then) and after the last (added at the end).
  nlohmann::ordered_json summary;
  auto write_summary = [&]() -> absl::Status {
    if (run_dir.empty()) return absl::OkStatus();
    return WriteFileAtomic(run_dir + "/summary.json", summary.dump(2) + "\n");
  };
  *exit_code = 1;  // from here on a failure is a runtime one
  out << absl::StrFormat(
      "proxima lm rl: %s on %s from %s (SFT held-out exact %.1f%%); %d iterations of %d prompts "
      "x %d completions at temperature %g\n",
      learner_lm::SeqAlgoName(t.algo), task->spec().id, policy->path,
      100.0 * policy->info.sft.held_out_accuracy, loop.iterations, loop.prompts_per_update,
      loop.group_size, loop.temperature);
  learner_lm::SeqRlHooks hooks;
  if (scorer) {
    out << absl::StrFormat(
        "rewarded by the reward model %s (log-likelihood weight %g); true score = %s reward + "
        "style %s (weight %g, cap %d)\n",
        reward_model_path, scorer->reward_loglik_weight(), lm::RewardModeName(loop.reward_mode),
        style_term.Name(), style_term.weight, style_term.cap);
    hooks.score = [&](const learner_lm::CompletionBatch& b) { return scorer->Score(b); };
    hooks.evaluate = [&](int iteration) -> absl::Status {
      PROXIMA_ASSIGN_OR_RETURN(held_out_rlhf,
                               scorer->EvaluateHeldOut(*policy->model, *reference->model,
                                                       loop.eval_prompts, rlhf_eval_seed,
                                                       loop.max_new_tokens));
      if (iteration == 0) {
        initial_rlhf = held_out_rlhf;
        out << "before: " << DescribeHeldOut(*held_out_rlhf) << std::endl;
        // Rewards centred and scaled on the SFT policy's own samples.
        // (Scaled by 1 when the samples all score alike.)
        const double spread = held_out_rlhf->scores.learned_std;
        PROXIMA_RETURN_IF_ERROR(
            scorer->SetNormalization(held_out_rlhf->scores.learned, spread > 0 ? spread : 1.0));
        out << absl::StrFormat(
                   "the policy is trained on (r - %.4f) / %.4f: the reward model's mean and "
                   "standard deviation on those samples\n",
                   scorer->normalization_mean(), scorer->normalization_std())
            << std::flush;
        summary["method"] = std::string(learner_lm::SeqAlgoName(t.algo));
        summary["init"] = policy->path;
        summary["reward_model"] = reward_model_path;
        summary["reward_kl_beta"] = t.reward_kl_beta;
        summary["kl_beta"] = t.grpo.kl_beta;
        summary["learning_rate"] = t.learning_rate;
        summary["iterations"] = loop.iterations;
        summary["normalization"] = {{"mean", scorer->normalization_mean()},
                                    {"std", scorer->normalization_std()}};
        summary["before"] = HeldOutJson(*held_out_rlhf);
        PROXIMA_RETURN_IF_ERROR(write_summary());
      }
      return absl::OkStatus();
    };
  }
  auto report = [&](const learner_lm::SeqRlProgress& p) {
    learner_lm::SeqUpdateMetrics u = p.update;
    // Against a reward model the trainer's "solved" (reward >= 1) means
    // nothing: the exact-match fraction of the same completions instead.
    // mean_reward stays what the trainer was given (the normalized r).
    if (scorer) u.solved_fraction = scorer->last().exact;
    out << absl::StrFormat(
        "iter %5d  %7.1f s  %s %.3f  solved %.3f  kl/token %.4f  kl/seq %.3f  clip %.3f  "
        "%6.0f tokens/s",
        p.iteration, p.seconds, scorer ? "learned reward" : "reward",
        scorer ? scorer->last().learned : u.mean_reward,
        u.solved_fraction, u.kl_to_ref, u.seq_kl_to_ref, u.clip_fraction,
        p.generation_seconds > 0 ? p.tokens / p.generation_seconds : 0.0);
    if (scorer) {
      const learner_lm::RlhfScores& s = scorer->last();
      out << absl::StrFormat("  true %.3f (rule %.3f + style %.3f)", s.true_score, s.true_rule,
                             s.true_style);
    }
    if (p.held_out.has_value()) {
      out << absl::StrFormat("  held-out exact %.1f%% (%d/%d)", 100.0 * p.held_out->accuracy,
                             p.held_out->exact, p.held_out->prompts);
    }
    if (p.held_out_sampled.has_value()) {
      out << absl::StrFormat("  sampled %.1f%% (%d/%d)", 100.0 * p.held_out_sampled->accuracy,
                             p.held_out_sampled->exact, p.held_out_sampled->completions);
    }
    out << std::endl;
    if (scorer && p.held_out.has_value() && held_out_rlhf.has_value()) {
      out << "      " << DescribeHeldOut(*held_out_rlhf) << std::endl;
    }
    if (csv.is_open()) {
      csv << CsvRow(p, u);
      if (scorer) {
        csv << RlhfCsv(scorer->last(), p.held_out.has_value()
                                           ? held_out_rlhf
                                           : std::optional<learner_lm::RlhfHeldOut>());
      }
      csv << "\n" << std::flush;
    }
  };
  absl::StatusOr<learner_lm::SeqRlResult> result =
      learner_lm::RunSeqRlLoop(*trainer, *task, *policy->tokenizer, loop, report, hooks);
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
  if (initial_rlhf.has_value() && held_out_rlhf.has_value()) {
    out << absl::StrFormat(
        "      held-out samples: true score %.3f -> %.3f, learned reward %.3f -> %.3f, KL to "
        "the reference %.3f nats/sequence\n",
        initial_rlhf->scores.true_score, held_out_rlhf->scores.true_score,
        initial_rlhf->scores.learned, held_out_rlhf->scores.learned, held_out_rlhf->seq_kl_to_ref);
    summary["seconds"] = result->last.seconds;
    summary["after"] = HeldOutJson(*held_out_rlhf);
    if (absl::Status s = write_summary(); !s.ok()) {
      err << "proxima lm rl: " << s.message() << "\n";
      return absl::OkStatus();
    }
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

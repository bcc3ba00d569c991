// The PpoConfig field list: the one place a hyperparameter is declared.
//
// PROXIMA_PPO_CONFIG_FIELDS(X) calls X once per field that has a command-line
// flag, in config.json's (and Validate()'s) order, with these columns:
//
//   key       config.json key and Admin.SetHyperparameters key (identifier)
//   flag      the absl flag's name (identifier; shown as --dashed-name)
//   alias     a second flag and key for the field ("lr"), or nullptr
//   member    where the field lives in a PpoConfig (model.hidden_sizes)
//   range     the PpoRange Validate() checks (kPositive, kUnit, ...)
//   choices   for kChoice: the allowed values ("tanh, relu"); else nullptr
//   settable  whether Admin.SetHyperparameters may change it while training
//   optional_in_json  added after runs were written: a config.json without
//             the key keeps PpoConfig's default
//   help      the flag's help text ("[preset]": the env's preset decides)
//
// It is expanded twice: into the field table (learner/ppo_config_fields.cc:
// config.json, Validate(), set-by-key, and the flag → field mapping) and into
// the flags themselves (learner/cli/ppo_flags.cc, where mains live: one
// ABSL_FLAG(std::optional<...>, flag, std::nullopt, help) per row, the type
// following the member's). So a new hyperparameter is a PpoConfig member with
// its default, a row here and, if it depends on the env, a value in
// PresetFor() (learner/ppo_config.cc). Not here: --env, which picks the
// preset rather than a field, and the alias flag --lr (both written out in
// ppo_flags.cc).
//
// Only a macro: include it where the list is expanded, nowhere else.
#ifndef PROXIMA_LEARNER_PPO_CONFIG_FIELD_LIST_H_
#define PROXIMA_LEARNER_PPO_CONFIG_FIELD_LIST_H_

// clang-format off
#define PROXIMA_PPO_CONFIG_FIELDS(X)                                                               \
  /* Run */                                                                                        \
  X(seed, seed, nullptr, seed, kAny, nullptr, false, false, "Random seed [preset: 1]")             \
  X(total_steps, total_steps, nullptr, total_steps, kCount, nullptr, false, false,                 \
    "Environment steps to train for [preset]")                                                     \
  X(num_envs, num_envs, nullptr, num_envs, kAtLeastOne, nullptr, false, false,                     \
    "Envs per rollout batch [preset]")                                                             \
  X(rollout_length, rollout_length, nullptr, rollout_length, kAtLeastOne, nullptr, false, false,   \
    "Steps per env per rollout [preset]")                                                          \
  /* Model */                                                                                      \
  X(hidden_sizes, hidden_sizes, nullptr, model.hidden_sizes, kLayerSizes, nullptr, false, false,   \
    "Comma-separated hidden layer sizes [preset: 64,64]")                                          \
  X(activation, activation, nullptr, model.activation, kChoice, "tanh, relu", false, false,        \
    "tanh or relu [tanh]")                                                                         \
  X(shared_trunk, shared_trunk, nullptr, model.shared_trunk, kAny, nullptr, false, false,          \
    "Share one MLP trunk between policy and value [false]")                                        \
  X(init_log_std, init_log_std, nullptr, model.init_log_std, kFinite, nullptr, false, false,       \
    "Initial Gaussian log-std (continuous actions) [0]")                                           \
  /* Optimization */                                                                               \
  X(learning_rate, learning_rate, "lr", learning_rate, kPositive, nullptr, true, false,            \
    "Adam learning rate, > 0 [preset]")                                                            \
  X(anneal_lr, anneal_lr, nullptr, anneal_lr, kAny, nullptr, true, false,                          \
    "Linear learning-rate decay [true]")                                                           \
  X(adam_eps, adam_eps, nullptr, adam_eps, kPositive, nullptr, false, false,                       \
    "Adam epsilon [1e-5]")                                                                         \
  X(num_minibatches, num_minibatches, nullptr, num_minibatches, kMinibatches, nullptr, true,       \
    false, "Minibatches per epoch; must divide num_envs × rollout_length [preset]")                \
  X(update_epochs, update_epochs, nullptr, update_epochs, kAtLeastOne, nullptr, true, false,       \
    "Epochs per update [preset]")                                                                  \
  X(max_grad_norm, max_grad_norm, nullptr, max_grad_norm, kFinite, nullptr, true, false,           \
    "Global gradient-norm clip, <= 0 disables [0.5]")                                              \
  /* Objective */                                                                                  \
  X(gamma, gamma, nullptr, gamma, kUnit, nullptr, true, false, "Discount in [0, 1] [preset]")      \
  X(gae_lambda, gae_lambda, nullptr, gae_lambda, kUnit, nullptr, true, false,                      \
    "GAE / V-trace λ in [0, 1] [preset]")                                                          \
  X(normalize_advantages, norm_adv, nullptr, normalize_advantages, kAny, nullptr, true, false,     \
    "Per-minibatch advantage normalization [true]")                                                \
  X(clip_coef, clip_coef, nullptr, clip_coef, kPositive, nullptr, true, false,                     \
    "Surrogate clip ε, > 0 [0.2]")                                                                 \
  X(clip_value_loss, clip_vloss, nullptr, clip_value_loss, kAny, nullptr, false, false,            \
    "Clipped value loss [true]")                                                                   \
  X(value_clip_coef, value_clip_coef, nullptr, value_clip_coef, kPositive, nullptr, false, false,  \
    "Value clip ε_v, > 0 [0.2]")                                                                   \
  X(ent_coef, ent_coef, nullptr, ent_coef, kNonNegative, nullptr, true, false,                     \
    "Entropy bonus coefficient [preset]")                                                          \
  X(vf_coef, vf_coef, nullptr, vf_coef, kNonNegative, nullptr, true, false,                        \
    "Value loss coefficient [0.5]")                                                                \
  X(target_kl, target_kl, nullptr, target_kl, kPositive, nullptr, true, false,                     \
    "Stop an update's epochs once approx_kl exceeds this [off]")                                   \
  X(adaptive_kl, adaptive_kl, nullptr, adaptive_kl, kAny, nullptr, false, false,                   \
    "Adaptive KL penalty (PPO §4) [false]")                                                        \
  X(kl_target, kl_target, nullptr, kl_target, kPositive, nullptr, true, false,                     \
    "d_targ of the KL penalty [0.01]")                                                             \
  X(kl_beta, kl_beta, nullptr, kl_beta, kNonNegative, nullptr, false, false,                       \
    "Initial β of the KL penalty [1]")                                                             \
  X(advantage, advantage, nullptr, advantage, kAny, nullptr, false, false, "gae or vtrace [gae]")  \
  X(vtrace_rho_bar, vtrace_rho_bar, nullptr, vtrace_rho_bar, kPositive, nullptr, false, false,     \
    "V-trace ρ̄ [1]")                                                                              \
  X(vtrace_c_bar, vtrace_c_bar, nullptr, vtrace_c_bar, kPositive, nullptr, false, false,           \
    "V-trace c̄ [1]")                                                                              \
  X(normalize_obs, normalize_obs, nullptr, normalize_obs, kAny, nullptr, false, false,             \
    "Running observation normalization [preset]")                                                  \
  X(obs_clip, obs_clip, nullptr, obs_clip, kPositive, nullptr, false, false,                       \
    "Clip of normalized observations [10]")                                                        \
  X(normalize_reward, normalize_reward, nullptr, normalize_reward, kAny, nullptr, false, false,    \
    "Return-based reward scaling [preset]")                                                        \
  X(reward_clip, reward_clip, nullptr, reward_clip, kPositive, nullptr, false, false,              \
    "Clip of scaled rewards [10]")                                                                 \
  X(clip_action, clip_action, nullptr, clip_action, kAny, nullptr, false, true,                    \
    "Clip Box actions to the action space before the env (CleanRL's ClipAction) [preset]")         \
  /* Execution */                                                                                  \
  X(device, device, nullptr, device, kChoice, "auto, cpu, cuda", false, false,                     \
    "auto, cpu or cuda [auto]")                                                                    \
  X(torch_threads, torch_threads, nullptr, torch_threads, kThreads, nullptr, false, false,         \
    "Trainer intra-op threads [1]")                                                                \
  X(engine, engine, nullptr, engine, kChoice, "auto, fused, torch", false, true,                   \
    "PPO update engine: fused (hand-written CPU kernel), torch (LibTorch) or auto "                \
    "(fused on CPU) [auto]")
// clang-format on

#endif  // PROXIMA_LEARNER_PPO_CONFIG_FIELD_LIST_H_

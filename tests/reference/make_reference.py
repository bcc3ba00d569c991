#!/usr/bin/python3
"""Writes the float64 NumPy references under tests/reference/ppo/.

Independent of the C++ code: every formula below is written from the
conventions stated in learner/ppo_loss.h, learner/gae.h, learner/vtrace.h,
common/policy/actor_critic.h and learner/ppo_updater.h, in float64. Every input is
rounded to float32 first, so the C++ side (which runs in float32 where the
trainer does) sees exactly the numbers the reference used.

  ppo_total_loss.json          the PPO loss terms and their weighted total
  updater_targets_gae.json     PpoUpdater::ComputeTargets with GAE
  updater_targets_vtrace.json  PpoUpdater::ComputeTargets with V-trace

Usage (see README.md):
  /usr/bin/python3 tests/reference/make_reference.py          # rewrite the files
  /usr/bin/python3 tests/reference/make_reference.py --check  # compare, write nothing
"""

import argparse
import json
import os
import sys

import numpy as np

HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)
HERE = os.path.dirname(os.path.abspath(__file__))


def f32(x):
    """x rounded to float32, held as float64."""
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def flat(x):
    return [float(v) for v in np.asarray(x, dtype=np.float64).reshape(-1)]


# ---------------------------------------------------------------- distributions


def log_softmax(z):
    s = z - z.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def categorical_logp_entropy(logits, actions):
    lp = log_softmax(logits)
    logp = lp[np.arange(len(actions)), actions.astype(np.int64)]
    entropy = -(np.exp(lp) * lp).sum(axis=-1)
    return logp, entropy


def gaussian_logp_entropy(mean, log_std, actions):
    """Diagonal Gaussian with a state-independent log-std (actor_critic.h)."""
    z = (actions - mean) * np.exp(-log_std)
    logp = (-0.5 * z * z - log_std - HALF_LOG_2PI).sum(axis=-1)
    entropy = np.full(len(actions), (0.5 + HALF_LOG_2PI + log_std).sum())
    return logp, entropy


# ---------------------------------------------------------------- PPO loss


def ppo_terms(logp, behaviour_logp, entropy, adv, new_v, old_v, ret, o):
    log_ratio = logp - behaviour_logp
    ratio = np.exp(log_ratio)
    if o["normalize_advantages"]:
        adv = (adv - adv.mean()) / (adv.std(ddof=1) + 1e-8)
    eps = o["clip_eps"]
    policy_loss = np.maximum(-adv * ratio, -adv * np.clip(ratio, 1 - eps, 1 + eps)).mean()
    sq = (new_v - ret) ** 2
    if o["clip_value_loss"]:
        ve = o["value_clip_eps"]
        clipped = old_v + np.clip(new_v - old_v, -ve, ve)
        value_loss = 0.5 * np.maximum(sq, (clipped - ret) ** 2).mean()
    else:
        value_loss = 0.5 * sq.mean()
    ent = entropy.mean()
    approx_kl = ((ratio - 1) - log_ratio).mean()
    clip_fraction = (np.abs(ratio - 1) > eps).mean()
    total = (policy_loss - o["ent_coef"] * ent + o["vf_coef"] * value_loss
             + o["kl_beta"] * approx_kl)
    return {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": ent,
            "approx_kl": approx_kl, "clip_fraction": clip_fraction, "total": total}


def total_loss_case(rng, gaussian, clip_value_loss, normalize, coefs):
    n = 12
    if gaussian:
        act_dim = 2
        mean = f32(rng.normal(0, 1, (n, act_dim)))
        log_std = f32(rng.uniform(-0.8, 0.4, act_dim))
        actions = f32(mean + np.exp(log_std) * rng.normal(0, 1, (n, act_dim)))
        logp, entropy = gaussian_logp_entropy(mean, log_std, actions)
        dist = {"distribution": "gaussian", "act_dim": act_dim, "mean": flat(mean),
                "log_std": flat(log_std), "actions": flat(actions)}
    else:
        k = 4
        logits = f32(rng.normal(0, 1.2, (n, k)))
        actions = rng.integers(0, k, n).astype(np.float64)
        logp, entropy = categorical_logp_entropy(logits, actions)
        dist = {"distribution": "categorical", "num_actions": k, "logits": flat(logits),
                "actions": flat(actions)}
    # Ratios spread over exp(±0.45): some clipped, some not.
    behaviour_logp = f32(logp + rng.uniform(-0.45, 0.45, n))
    advantages = f32(rng.normal(0.3, 1.5, n))
    old_values = f32(rng.normal(0, 1, n))
    new_values = f32(old_values + rng.uniform(-0.6, 0.6, n))
    returns = f32(old_values + rng.normal(0, 1, n))
    options = dict(coefs, clip_value_loss=clip_value_loss, normalize_advantages=normalize)
    out = ppo_terms(logp, behaviour_logp, entropy, advantages, new_values, old_values,
                    returns, options)
    out = {k: float(v) for k, v in out.items()}
    out["logp"] = flat(logp)
    inputs = dict(dist, behaviour_logp=flat(behaviour_logp), advantages=flat(advantages),
                  new_values=flat(new_values), old_values=flat(old_values),
                  returns=flat(returns), **options)
    return {"inputs": inputs, "outputs": out}


def total_loss_doc():
    rng = np.random.default_rng(20240615)
    cases = []
    i = 0
    for gaussian in (False, True):
        for clip_value_loss in (True, False):
            for normalize in (True, False):
                # Distinct, non-zero coefficients per case, none equal to another.
                coefs = {"clip_eps": [0.2, 0.15, 0.25, 0.1][i % 4],
                         "value_clip_eps": [0.2, 0.3, 0.1, 0.25][i % 4],
                         "ent_coef": round(0.011 + 0.017 * i, 4),
                         "vf_coef": round(0.5 + 0.13 * i, 4),
                         "kl_beta": round(0.7 + 0.31 * i, 4)}
                cases.append(total_loss_case(rng, gaussian, clip_value_loss, normalize, coefs))
                i += 1
    return {
        "description": (
            "PPO loss terms and total (learner/ppo_loss.h). distribution 'categorical': "
            "logits N x num_actions row-major, logp=log_softmax(logits)[a], entropy="
            "-sum(p log p). 'gaussian': mean N x act_dim row-major, state-independent log_std "
            "[act_dim], actions N x act_dim; logp=sum(-0.5 z^2 - log_std - 0.5 log 2pi) with "
            "z=(a-mean)/exp(log_std), entropy=sum(0.5 + 0.5 log 2pi + log_std). "
            "ratio=exp(logp-behaviour_logp). If normalize_advantages: A=(A-mean)/(std_unbiased"
            "+1e-8). policy_loss=mean(max(-A*ratio, -A*clip(ratio,1-clip_eps,1+clip_eps))). "
            "value_loss=0.5*mean((new-ret)^2), or if clip_value_loss 0.5*mean(max((new-ret)^2, "
            "(old+clip(new-old,-value_clip_eps,value_clip_eps)-ret)^2)). entropy=mean entropy. "
            "approx_kl=mean((ratio-1)-log ratio). clip_fraction=mean(|ratio-1|>clip_eps). "
            "total=policy_loss - ent_coef*entropy + vf_coef*value_loss + kl_beta*approx_kl. "
            "Generated by tests/reference/make_reference.py (float64)."),
        "cases": cases,
    }


# ---------------------------------------------------------------- actor-critic


def mlp_params(rng, prefix, in_dim, hidden):
    """Linear layers of a Sequential(Linear, act, Linear, act, ...): indices 0, 2, ..."""
    params = {}
    for i, h in enumerate(hidden):
        params[f"{prefix}.{2 * i}.weight"] = f32(rng.normal(0, 0.8, (h, in_dim)))
        params[f"{prefix}.{2 * i}.bias"] = f32(rng.normal(0, 0.3, h))
        in_dim = h
    return params


def mlp_forward(params, prefix, x, num_layers, activation):
    act = np.tanh if activation == "tanh" else (lambda z: np.maximum(z, 0.0))
    h = x
    for i in range(num_layers):
        h = act(h @ params[f"{prefix}.{2 * i}.weight"].T + params[f"{prefix}.{2 * i}.bias"])
    return h


def make_model(rng, model):
    d, hidden = model["obs_dim"], model["hidden_sizes"]
    space = model["action_space"]
    heads = space["n"] if space["kind"] == "discrete" else space["dim"]
    params = {}
    if model["shared_trunk"]:
        params.update(mlp_params(rng, "trunk", d, hidden))
    else:
        params.update(mlp_params(rng, "policy_trunk", d, hidden))
        params.update(mlp_params(rng, "value_trunk", d, hidden))
    params["policy_head.weight"] = f32(rng.normal(0, 0.7, (heads, hidden[-1])))
    params["policy_head.bias"] = f32(rng.normal(0, 0.2, heads))
    params["value_head.weight"] = f32(rng.normal(0, 0.6, (1, hidden[-1])))
    params["value_head.bias"] = f32(rng.normal(0, 0.5, 1))
    if space["kind"] == "box":
        params["log_std"] = f32(rng.uniform(-0.7, 0.3, heads))
    return params


def model_forward(params, model, x):
    """(distribution parameters [N, heads], values [N]) for normalized obs x."""
    layers = len(model["hidden_sizes"])
    act = model["activation"]
    if model["shared_trunk"]:
        hp = hv = mlp_forward(params, "trunk", x, layers, act)
    else:
        hp = mlp_forward(params, "policy_trunk", x, layers, act)
        hv = mlp_forward(params, "value_trunk", x, layers, act)
    dist = hp @ params["policy_head.weight"].T + params["policy_head.bias"]
    value = (hv @ params["value_head.weight"].T + params["value_head.bias"])[:, 0]
    return dist, value


# ---------------------------------------------------------------- targets


def gae_column(r, v, nv, term, trunc, gamma, lam):
    adv = np.zeros(len(r))
    nxt = 0.0
    for t in reversed(range(len(r))):
        delta = r[t] + gamma * nv[t] * (1 - term[t]) - v[t]
        nxt = delta + gamma * lam * (1 - term[t]) * (1 - trunc[t]) * nxt
        adv[t] = nxt
    return adv, adv + v


def vtrace_column(r, v, nv, term, trunc, target_logp, behaviour_logp, gamma, lam, rho_bar,
                  c_bar):
    n = len(r)
    ratio = np.exp(target_logp - behaviour_logp)
    rho = np.minimum(rho_bar, ratio)
    c = lam * np.minimum(c_bar, ratio)
    vs = np.zeros(n)
    pg = np.zeros(n)
    for t in reversed(range(n)):
        bootstrap = nv[t] * (1 - term[t])
        cut = term[t] or trunc[t] or t == n - 1
        correction = 0.0 if cut else vs[t + 1] - v[t + 1]
        vs[t] = v[t] + rho[t] * (r[t] + gamma * bootstrap - v[t]) + gamma * c[t] * correction
        nxt = bootstrap if cut else vs[t + 1]
        pg[t] = rho[t] * (r[t] + gamma * nxt - v[t])
    return vs, pg


def targets_case(rng, model, config, T=7, E=3):
    d = model["obs_dim"]
    space = model["action_space"]
    params = make_model(rng, model)
    obs = f32(rng.normal(0, 1.2, (T, E, d)))
    bootstrap_obs = f32(rng.normal(0, 1.2, (E, d)))
    rewards = f32(rng.normal(0.5, 1.0, (T, E)))
    terminated = np.zeros((T, E), dtype=np.int64)
    truncated = np.zeros((T, E), dtype=np.int64)
    terminated[2, 0] = 1      # inside the chunk: masked, no bootstrap
    terminated[T - 1, 2] = 1  # at the last step: the bootstrap obs is not used
    truncated[4, 1] = 1       # inside the chunk: V(final obs), not V(obs[5, 1])
    truncated[T - 1, 0] = 1   # at the last step: V(final obs), not V(bootstrap obs)
    truncated[1, 2] = 1
    final_index = [[1, 2], [4, 1], [T - 1, 0]]

    flat_obs = obs.reshape(T * E, d)
    dist, values = model_forward(params, model, flat_obs)
    _, v_boot = model_forward(params, model, bootstrap_obs)
    # Final observations whose values differ clearly from the value the updater
    # would use without them (the next reset observation, or the bootstrap).
    wrong = np.array([values[(t + 1) * E + e] if t < T - 1 else v_boot[e]
                      for t, e in final_index])
    final_obs = np.zeros((len(final_index), d))
    for k in range(len(final_index)):
        for _ in range(1000):
            final_obs[k] = f32(rng.normal(0.5, 1.5, d))
            if abs(model_forward(params, model, final_obs[k:k + 1])[1][0] - wrong[k]) > 0.25:
                break
        else:
            raise RuntimeError("no final observation with a distinct value")
    _, v_final = model_forward(params, model, final_obs)
    next_values = np.zeros((T, E))
    next_values[:T - 1] = values.reshape(T, E)[1:]
    next_values[T - 1] = v_boot
    for k, (t, e) in enumerate(final_index):
        next_values[t, e] = v_final[k]

    if space["kind"] == "discrete":
        actions = rng.integers(0, space["n"], (T, E)).astype(np.float64)
        target_logp, _ = categorical_logp_entropy(dist, actions.reshape(-1))
    else:
        k = space["dim"]
        mean = dist.reshape(T, E, k)
        actions = f32(mean + np.exp(params["log_std"]) * rng.normal(0, 1, (T, E, k)))
        target_logp, _ = gaussian_logp_entropy(dist, params["log_std"], actions.reshape(-1, k))
    target_logp = target_logp.reshape(T, E)
    # The behaviour policy lags: ratios spread on both sides of rho_bar and c_bar.
    behaviour_logp = f32(target_logp + rng.uniform(-0.6, 0.6, (T, E)))

    v = values.reshape(T, E)
    advantages = np.zeros((T, E))
    returns = np.zeros((T, E))
    out = {}
    for e in range(E):
        col = (rewards[:, e], v[:, e], next_values[:, e], terminated[:, e], truncated[:, e])
        if config["advantage"] == "gae":
            advantages[:, e], returns[:, e] = gae_column(*col, config["gamma"],
                                                         config["gae_lambda"])
        else:
            returns[:, e], advantages[:, e] = vtrace_column(
                *col, target_logp[:, e], behaviour_logp[:, e], config["gamma"],
                config["gae_lambda"], config["vtrace_rho_bar"], config["vtrace_c_bar"])
    out = {"values": flat(v), "next_values": flat(next_values), "advantages": flat(advantages),
           "returns": flat(returns)}
    if config["advantage"] == "vtrace":
        out.update(target_logp=flat(target_logp), vs=flat(returns), pg_advantages=flat(advantages))
    weights = {name: {"shape": list(p.shape), "data": flat(p)} for name, p in params.items()}
    batch = {"num_steps": T, "num_envs": E, "obs": flat(obs), "actions": flat(actions),
             "behaviour_logp": flat(behaviour_logp), "rewards": flat(rewards),
             "terminated": flat(terminated), "truncated": flat(truncated),
             "bootstrap_obs": flat(bootstrap_obs), "final_index": final_index,
             "final_obs": flat(final_obs)}
    return {"inputs": {"config": config, "model": model, "weights": weights, "batch": batch},
            "outputs": out}


TARGETS_DESCRIPTION = (
    "PpoUpdater::ComputeTargets (learner/ppo_updater.cc) on one RolloutBatch, observation "
    "normalization off. model: ActorCritic (common/policy/actor_critic.h) with obs_dim, action_space "
    "{kind discrete, n} or {kind box, dim}, hidden_sizes, activation, shared_trunk; weights by "
    "parameter name (row-major data, shape) as named_parameters() names them: "
    "policy_trunk.<i>.*, value_trunk.<i>.* (or trunk.<i>.* when shared; i = 0, 2, ... are the "
    "Linear layers, each followed by its activation), policy_head.*, "
    "value_head.*, log_std (box). batch: arrays time-major [T, E, ...] flattened; actions are "
    "indices (discrete) or T x E x dim; terminated/truncated 0/1; final_index [t, e] pairs, one "
    "row of final_obs each. Outputs, flattened [T, E]: values=V(obs); next_values[t]=V(obs[t+1]), "
    "V(bootstrap_obs) at t=T-1, V(final_obs) where truncated (overrides both; masked where "
    "terminated). GAE: delta=r+gamma*next_values*(1-terminated)-values; A_t=delta+gamma*lam*"
    "(1-terminated)(1-truncated)A_{t+1}; returns=A+values. V-trace (advantage vtrace, lam="
    "gae_lambda): target_logp from the model's policy head for the batch actions, vs and "
    "pg_advantages as in learner/vtrace.h; returns=vs, advantages=pg_advantages. "
    "Generated by tests/reference/make_reference.py (float64).")


def targets_doc(advantage, seed, models):
    rng = np.random.default_rng(seed)
    config = {"advantage": advantage, "gamma": 0.97, "gae_lambda": 0.9,
              "vtrace_rho_bar": 1.2, "vtrace_c_bar": 0.9, "normalize_obs": False}
    return {"description": TARGETS_DESCRIPTION,
            "cases": [targets_case(rng, m, config) for m in models]}


def model(kind, activation, shared, hidden=(5, 4)):
    space = {"kind": "discrete", "n": 3} if kind == "discrete" else {"kind": "box", "dim": 2}
    return {"obs_dim": 3, "action_space": space, "hidden_sizes": list(hidden),
            "activation": activation, "shared_trunk": shared}


def documents():
    return {
        "ppo_total_loss.json": total_loss_doc(),
        "updater_targets_gae.json": targets_doc("gae", 7101, [
            model("discrete", "tanh", False), model("discrete", "relu", True),
            model("box", "tanh", False)]),
        "updater_targets_vtrace.json": targets_doc("vtrace", 7102, [
            model("discrete", "tanh", False), model("box", "relu", True, hidden=(6,))]),
    }


def max_difference(a, b, path="$"):
    """Largest |a - b| over matching numbers; inf where the structure differs."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            print(f"{path}: keys differ", file=sys.stderr)
            return float("inf")
        return max([max_difference(a[k], b[k], f"{path}.{k}") for k in a] + [0.0])
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            print(f"{path}: lengths differ", file=sys.stderr)
            return float("inf")
        return max([max_difference(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b))]
                   + [0.0])
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not (
            isinstance(a, bool) or isinstance(b, bool)):
        return abs(float(a) - float(b))
    if a != b:
        print(f"{path}: {a!r} != {b!r}", file=sys.stderr)
        return float("inf")
    return 0.0


def compare_or_write(out_dir, docs, check):
    """Writes docs ({file name: document}) into out_dir, or with check compares
    them with the files there (to 1e-12) and writes nothing. Returns the exit
    status: 1 when a check found a difference."""
    failed = False
    for name, doc in docs.items():
        path = os.path.join(out_dir, name)
        if check:
            with open(path) as f:
                diff = max_difference(json.load(f), json.loads(json.dumps(doc)))
            print(f"{path}: max difference {diff:.3g}")
            failed |= not diff <= 1e-12
        else:
            os.makedirs(out_dir, exist_ok=True)
            with open(path, "w") as f:
                json.dump(doc, f)
                f.write("\n")
            print(f"wrote {path} ({len(doc['cases'])} cases)")
    return 1 if failed else 0


def reference_main(doc, folder, make_docs):
    """The command line of every make_*reference.py here: --out DIR (default
    tests/reference/<folder>) and --check; writes make_docs() ({file name:
    document}) into DIR, or checks them against it. doc is the script's
    docstring; returns the exit status."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(HERE, folder),
                        help=f"directory to write (default: tests/reference/{folder})")
    parser.add_argument("--check", action="store_true",
                        help="compare with the files in --out (to 1e-12) instead of writing")
    args = parser.parse_args()
    return compare_or_write(args.out, make_docs(), args.check)


def main():
    return reference_main(__doc__, "ppo", documents)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Writes the float64 NumPy references under tests/reference/lm/.

Independent of the C++ code: every formula below is written from the
convention stated in learner/lm/seq_loss.h, in float64, gradients included
(in closed form, not by autograd). Every input is rounded to float32 first,
so a float32 caller sees exactly the numbers the reference used.

  grpo_loss.json  GroupRelativeAdvantages and GrpoLoss: advantages, the loss
                  terms, d total / d logp
  seq_ppo.json    KlShapedRewards, TokenGae and SeqPpoLoss: rewards,
                  advantages, returns, the loss terms, d total / d logp and
                  d total / d new_values

Usage (see README.md):
  /usr/bin/python3 tests/reference/make_lm_reference.py          # rewrite the files
  /usr/bin/python3 tests/reference/make_lm_reference.py --check  # compare, write nothing
"""

import sys

import numpy as np

from make_reference import f32, flat, reference_main  # noqa: E402  (same folder)

def ragged_mask(rng, rows, cols):
    """[rows, cols] 0/1, each row a prefix of ones of length 1..cols."""
    lengths = rng.integers(1, cols + 1, rows)
    lengths[0] = cols  # one full row
    return (np.arange(cols)[None, :] < lengths[:, None]).astype(np.float64)


def padded(rng, mask, values):
    """values on real tokens, arbitrary finite junk on padding."""
    return f32(np.where(mask > 0, values, rng.normal(0, 5, mask.shape)))


def aggregate_weights(mask, aggregation):
    """w such that aggregate(x) = sum(w * x)."""
    if aggregation == "token-mean":
        return mask / mask.sum()
    lengths = mask.sum(axis=1, keepdims=True)
    present = (lengths > 0).sum()
    return np.where(lengths > 0, mask / np.maximum(lengths, 1), 0.0) / present


# --------------------------------------------------------------------- GRPO


def group_advantages(rewards, groups, scale_by_std, eps):
    adv = np.zeros_like(rewards)
    degenerate = 0
    ids = sorted(set(groups.tolist()))
    for g in ids:
        idx = np.flatnonzero(groups == g)
        r = rewards[idx]
        mean = r.mean()
        if len(idx) < 2 or r.max() - r.min() <= 1e-12 * max(1.0, abs(mean)):
            degenerate += 1
            continue
        scale = 1.0 / (r.std(ddof=1) + eps) if scale_by_std else 1.0
        adv[idx] = (r - mean) * scale
    return adv, len(ids), degenerate


def grpo_terms(logp, beh, ref, mask, adv, o):
    lo, hi = 1 - o["clip_eps_low"], 1 + o["clip_eps_high"]
    log_ratio = (logp - beh) * mask
    ratio = np.exp(log_ratio)
    a = adv[:, None]
    unclipped, clipped = ratio * a, np.clip(ratio, lo, hi) * a
    surr = -np.minimum(unclipped, clipped)
    d = (ref - logp) * mask
    kl = np.exp(d) - d - 1
    w = aggregate_weights(mask, o["aggregation"])
    tw = aggregate_weights(mask, "token-mean")
    # d surr / d logp: -A*ratio where the unclipped branch is the minimum (a
    # tie happens only inside the clip range, where both branches agree).
    dsurr = np.where(unclipped <= clipped, -a * ratio, 0.0)
    dkl = 1 - np.exp(d)
    return {
        "total": float((w * (surr + o["kl_beta"] * kl)).sum()),
        "policy_loss": float((w * surr).sum()),
        "kl": float((w * kl).sum()),
        "clip_fraction": float((tw * ((ratio < lo) | (ratio > hi))).sum()),
        "approx_kl": float((tw * ((ratio - 1) - log_ratio)).sum()),
        "grad_logp": flat(w * (dsurr + o["kl_beta"] * dkl) * mask),
    }


def grpo_case(rng, aggregation, scale_by_std, kl_beta, eps_high):
    # Five groups of four, members interleaved; group 30's rewards are all
    # equal (degenerate) and group 40 has a single member.
    groups = np.array([10, 20, 10, 30, 20, 10, 30, 20, 50, 10, 30, 20, 40, 30, 50, 50])
    rows, cols = len(groups), 6
    rewards = f32(rng.integers(0, 3, rows) / 2.0 + rng.normal(0, 0.1, rows))
    rewards[groups == 30] = f32(0.75)
    rewards[groups == 50] = f32([0.0, 1.0, 1.0])
    mask = ragged_mask(rng, rows, cols)
    logp = f32(-rng.uniform(0.05, 3.0, (rows, cols)))
    beh = padded(rng, mask, logp + rng.uniform(-0.4, 0.4, (rows, cols)))
    ref = padded(rng, mask, logp + rng.normal(0, 0.3, (rows, cols)))
    logp = padded(rng, mask, logp)
    eps = 1e-4
    adv, num_groups, degenerate = group_advantages(rewards, groups, scale_by_std, eps)
    options = {"clip_eps_low": 0.2, "clip_eps_high": eps_high, "kl_beta": kl_beta,
               "aggregation": aggregation}
    out = grpo_terms(logp, beh, ref, mask, adv, options)
    out.update(advantages=flat(adv), num_groups=num_groups, degenerate_groups=degenerate)
    inputs = dict(options, rows=rows, cols=cols, rewards=flat(rewards),
                  group_ids=[int(g) for g in groups], scale_by_std=scale_by_std, eps=eps,
                  logp=flat(logp), behaviour_logp=flat(beh), ref_logp=flat(ref),
                  mask=flat(mask))
    return {"inputs": inputs, "outputs": out}


def grpo_doc():
    rng = np.random.default_rng(20261207)
    cases = [grpo_case(rng, agg, scale, beta, high)
             for agg, scale, beta, high in [("token-mean", True, 0.04, 0.2),
                                            ("sequence-mean", True, 0.1, 0.2),
                                            ("token-mean", False, 0.0, 0.28),
                                            ("sequence-mean", False, 0.5, 0.28)]]
    return {
        "description": (
            "GRPO (learner/lm/seq_loss.h). Per-token arrays are rows x cols row-major, "
            "completion-aligned; mask rows are prefixes of ones, padding holds junk. "
            "advantages: per group, (r - mean)/(std_unbiased + eps), or r - mean when "
            "scale_by_std is false; all-equal or single-member groups get 0. "
            "ratio=exp((logp-behaviour_logp)*mask); surr=-min(ratio*A, clip(ratio,1-clip_eps_low,"
            "1+clip_eps_high)*A); kl=exp(d)-d-1 with d=(ref_logp-logp)*mask; total=agg(surr+"
            "kl_beta*kl); token-mean=sum(mask*x)/sum(mask), sequence-mean=mean over rows of "
            "row means. clip_fraction and approx_kl are token means. grad_logp=d total/d logp."),
        "cases": cases,
    }


# ------------------------------------------------------------- sequence PPO


def token_gae(rewards, values, mask, gamma, lam):
    adv = np.zeros_like(rewards)
    for b in range(rewards.shape[0]):
        n = int(mask[b].sum())
        next_v, next_a = 0.0, 0.0
        for t in range(n - 1, -1, -1):
            delta = rewards[b, t] + gamma * next_v - values[b, t]
            next_a = delta + gamma * lam * next_a
            next_v = values[b, t]
            adv[b, t] = next_a
    return adv, np.where(mask > 0, adv + values, 0.0)


def seq_ppo_case(rng, clip_value_loss, normalize, beta):
    rows, cols = 7, 8
    mask = ragged_mask(rng, rows, cols)
    base = -rng.uniform(0.05, 2.5, (rows, cols))
    prepass = padded(rng, mask, base)
    ref = padded(rng, mask, base + rng.normal(0, 0.3, (rows, cols)))
    task = f32(rng.integers(0, 2, rows).astype(np.float64))
    values = padded(rng, mask, rng.normal(0, 0.5, (rows, cols)))
    gamma, lam = [(1.0, 0.95), (0.99, 0.9)][int(normalize)]
    lengths = mask.sum(axis=1).astype(int)
    rewards = -beta * (prepass - ref) * mask
    rewards[np.arange(rows), lengths - 1] += task
    adv, ret = token_gae(rewards, values, mask, gamma, lam)

    logp = padded(rng, mask, prepass + rng.uniform(-0.35, 0.35, (rows, cols)))
    beh = prepass  # sync mode: the behaviour policy is the pre-pass policy
    new_v = padded(rng, mask, values + rng.uniform(-0.5, 0.5, (rows, cols)))
    o = {"clip_eps": 0.2, "clip_value_loss": clip_value_loss, "value_clip_eps": 0.2,
         "vf_coef": 0.5 if clip_value_loss else 0.7, "normalize_advantages": normalize}

    a = adv * mask
    if normalize:
        real = a[mask > 0]
        a = np.where(mask > 0, (a - real.mean()) / (real.std(ddof=1) + 1e-8), 0.0)
    log_ratio = (logp - beh) * mask
    ratio = np.exp(log_ratio)
    eps = o["clip_eps"]
    unclipped, clipped = -a * ratio, -a * np.clip(ratio, 1 - eps, 1 + eps)
    policy = np.maximum(unclipped, clipped)
    dpolicy = np.where(unclipped >= clipped, -a * ratio, 0.0)
    sq = (new_v - ret) ** 2
    if clip_value_loss:
        ve = o["value_clip_eps"]
        inside = np.abs(new_v - values) < ve
        vclip = values + np.clip(new_v - values, -ve, ve)
        value = 0.5 * np.maximum(sq, (vclip - ret) ** 2)
        dvalue = np.where(sq >= (vclip - ret) ** 2, new_v - ret, (vclip - ret) * inside)
    else:
        value = 0.5 * sq
        dvalue = new_v - ret
    w = aggregate_weights(mask, "token-mean")
    policy_loss, value_loss = (w * policy).sum(), (w * value).sum()
    out = {
        "rewards": flat(rewards), "advantages": flat(adv), "returns": flat(ret),
        "policy_loss": float(policy_loss), "value_loss": float(value_loss),
        "total": float(policy_loss + o["vf_coef"] * value_loss),
        "clip_fraction": float((w * (np.abs(ratio - 1) > eps)).sum()),
        "approx_kl": float((w * ((ratio - 1) - log_ratio)).sum()),
        "grad_logp": flat(w * dpolicy * mask),
        "grad_new_values": flat(o["vf_coef"] * w * dvalue * mask),
    }
    inputs = dict(o, rows=rows, cols=cols, mask=flat(mask), prepass_logp=flat(prepass),
                  ref_logp=flat(ref), task_rewards=flat(task), kl_beta=beta,
                  old_values=flat(values), gamma=gamma, lam=lam, logp=flat(logp),
                  behaviour_logp=flat(beh), new_values=flat(new_v))
    return {"inputs": inputs, "outputs": out}


def seq_ppo_doc():
    rng = np.random.default_rng(20261208)
    cases = [seq_ppo_case(rng, clip, norm, beta)
             for clip, norm, beta in [(True, True, 0.05), (False, True, 0.2),
                                      (True, False, 0.1), (False, False, 0.0)]]
    return {
        "description": (
            "Sequence PPO (learner/lm/seq_loss.h). Per-token arrays rows x cols row-major, "
            "completion-aligned, mask rows prefixes of ones, padding holds junk. rewards="
            "-kl_beta*(prepass_logp-ref_logp) on real tokens plus task_rewards at each row's "
            "last real token. GAE per row over real tokens with V after the last = 0: "
            "delta=r+gamma*V'-V, A=delta+gamma*lam*A'; returns=A+V (0 on padding). Loss with "
            "those advantages (normalized over real tokens, unbiased std + 1e-8, when "
            "normalize_advantages) and returns, old_values as V_old: policy=max(-A*ratio, "
            "-A*clip(ratio,1-clip_eps,1+clip_eps)), ratio=exp((logp-behaviour_logp)*mask); "
            "value=0.5*max((V-R)^2,(V_old+clip(V-V_old,+-value_clip_eps)-R)^2) or 0.5*(V-R)^2; "
            "total=token_mean(policy)+vf_coef*token_mean(value). grad_* = d total / d input."),
        "cases": cases,
    }


def main():
    return reference_main(__doc__, "lm",
                          lambda: {"grpo_loss.json": grpo_doc(), "seq_ppo.json": seq_ppo_doc()})


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Writes the float64 NumPy reference of the DPO loss to tests/reference/lm/.

Independent of the C++ code: the loss and its gradients are written from the
convention stated in learner/lm/dpo_loss.h, in float64, the gradients in
closed form (not by autograd). Every input is rounded to float32 first, so a
float32 caller sees exactly the numbers the reference used.

  dpo_loss.json  DpoLoss: loss, implicit rewards, margin, accuracy and
                 d loss / d each of the four log-prob inputs

Usage (see README.md):
  /usr/bin/python3 tests/reference/make_dpo_reference.py          # rewrite the file
  /usr/bin/python3 tests/reference/make_dpo_reference.py --check  # compare, write nothing
"""

import sys

import numpy as np

from make_reference import f32, flat, reference_main  # noqa: E402  (same folder)

def softplus(x):
    """log(1 + exp(x)) without overflow."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def dpo_terms(pc, pr, rc, rr, beta):
    n = len(pc)
    h_w, h_l = pc - rc, pr - rr
    z = beta * (h_w - h_l)
    # d softplus(-z)/dz = -sigmoid(-z); dz/d pc = beta, dz/d pr = -beta,
    # dz/d rc = -beta, dz/d rr = beta.
    g = -sigmoid(-z) * beta / n
    return {
        "loss": float(softplus(-z).mean()),
        "chosen_reward": float((beta * h_w).mean()),
        "rejected_reward": float((beta * h_l).mean()),
        "reward_margin": float(z.mean()),
        "accuracy": float((z > 0).mean()),
        "grad_policy_chosen": flat(g),
        "grad_policy_rejected": flat(-g),
        "grad_ref_chosen": flat(-g),
        "grad_ref_rejected": flat(g),
    }


def dpo_case(rng, n, beta, spread, extremes=False):
    # Sequence log-probs are sums over a few tokens: negative, a few nats.
    pc = -rng.uniform(0.5, 12.0, n)
    pr = -rng.uniform(0.5, 12.0, n)
    rc = pc + rng.normal(0, spread, n)
    rr = pr + rng.normal(0, spread, n)
    if extremes:
        # A tie (z = 0 exactly: loss log 2, not counted as right) and margins
        # far out on both sides, where a naive log(sigmoid) would overflow.
        rc[0], rr[0] = pc[0], pr[0]
        pc[1], rc[1], pr[1], rr[1] = -1.0, -300.0, -300.0, -1.0
        pc[2], rc[2], pr[2], rr[2] = -300.0, -1.0, -1.0, -300.0
    pc, pr, rc, rr = f32(pc), f32(pr), f32(rc), f32(rr)
    inputs = {"beta": beta, "pairs": n, "policy_chosen": flat(pc), "policy_rejected": flat(pr),
              "ref_chosen": flat(rc), "ref_rejected": flat(rr)}
    return {"inputs": inputs, "outputs": dpo_terms(pc, pr, rc, rr, beta)}


def dpo_doc():
    rng = np.random.default_rng(20261207)
    cases = [dpo_case(rng, 1, 0.1, 1.0),
             dpo_case(rng, 7, 0.1, 2.0),
             dpo_case(rng, 16, 0.5, 1.0),
             dpo_case(rng, 9, 2.0, 3.0, extremes=True)]
    return {
        "description": (
            "DPO (learner/lm/dpo_loss.h). Inputs are per-pair sequence log-probs [pairs]: "
            "policy_chosen=log pi(y_w|x), policy_rejected=log pi(y_l|x), ref_chosen, "
            "ref_rejected under the frozen reference. h_w=policy_chosen-ref_chosen, "
            "h_l=policy_rejected-ref_rejected, z=beta*(h_w-h_l); loss=mean(-log sigmoid(z)); "
            "chosen_reward=mean(beta*h_w), rejected_reward=mean(beta*h_l), reward_margin=mean(z), "
            "accuracy=mean(z>0). grad_*=d loss/d that input."),
        "cases": cases,
    }


def main():
    return reference_main(__doc__, "lm", lambda: {"dpo_loss.json": dpo_doc()})


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Writes the float64 NumPy reference of the Bradley-Terry reward-model loss
to tests/reference/lm/.

Independent of the C++ code: written from the convention stated in
learner/lm/reward_model.h, in float64, the gradients in closed form (not by
autograd). Every input is rounded to float32 first, so a float32 caller sees
exactly the numbers the reference used.

  bt_loss.json  BradleyTerryLoss: the loss and d loss / d r(chosen),
                d loss / d r(rejected); PairwiseStats on the same margins:
                accuracy (ties count one half), noise-free accuracy against
                a true order, ECE over ten bins, mean margin

Usage (see README.md):
  /usr/bin/python3 tests/reference/make_rlhf_reference.py          # rewrite the file
  /usr/bin/python3 tests/reference/make_rlhf_reference.py --check  # compare, write nothing
"""

import sys

import numpy as np

from make_reference import f32, flat, reference_main  # noqa: E402  (same folder)

def bt_case(name, chosen, rejected, true_order):
    chosen, rejected = f32(chosen), f32(rejected)
    true_order = np.asarray(true_order, dtype=np.int64)
    n = len(chosen)
    d = chosen - rejected
    # -log sigma(d) = log(1 + exp(-d)); d/dd = -sigma(-d) = -(1 - sigma(d)).
    loss_terms = np.logaddexp(0.0, -d)
    p = 0.5 * (1.0 + np.tanh(0.5 * d))  # sigma(d)
    q = 0.5 * (1.0 - np.tanh(0.5 * d))  # sigma(-d), not 1 - p (no cancellation)
    right = np.where(d > 0, 1.0, np.where(d == 0, 0.5, 0.0))
    signed = true_order * d
    known = true_order != 0
    true_right = np.where(signed > 0, 1.0, np.where(signed == 0, 0.5, 0.0))[known]
    # ECE: each pair as (p, 1) and (1 - p, 0); ten equal bins of [0, 1].
    probs = np.concatenate([p, q])
    outcomes = np.concatenate([np.ones(n), np.zeros(n)])
    bins = np.minimum((probs * 10).astype(np.int64), 9)
    ece = 0.0
    for b in range(10):
        sel = bins == b
        if sel.any():
            ece += sel.sum() / (2 * n) * abs(outcomes[sel].mean() - probs[sel].mean())
    return {
        "name": name,
        "inputs": {"chosen": flat(chosen), "rejected": flat(rejected),
                   "true_order": [int(v) for v in true_order]},
        "outputs": {
            "loss": float(loss_terms.mean()),
            "grad_chosen": flat(-q / n),
            "grad_rejected": flat(q / n),
            "accuracy": float(right.mean()),
            "true_pairs": int(known.sum()),
            "true_accuracy": float(true_right.mean()) if known.any() else 0.0,
            "ece": float(ece),
            "mean_margin": float(d.mean()),
        },
    }


def bt_doc():
    rng = np.random.default_rng(26)
    cases = []
    n = 9
    cases.append(bt_case("random", rng.normal(0, 1.5, n), rng.normal(0, 1.5, n),
                         rng.choice([-1, 0, 1], n)))
    # Far apart margins: the loss of a large negative margin must not overflow.
    cases.append(bt_case("wide margins", [40.0, -40.0, 3.0, -0.25], [-40.0, 40.0, 3.5, 0.25],
                         [1, 1, -1, 1]))
    # Ties (margin exactly 0) count one half, in both accuracies.
    cases.append(bt_case("ties", [0.5, 0.5, 1.0], [0.5, 0.25, 2.0], [1, -1, 0]))
    cases.append(bt_case("one pair", [0.125], [-0.375], [0]))
    big = 64
    cases.append(bt_case("many", rng.normal(0.5, 1.0, big), rng.normal(0.0, 1.0, big),
                         rng.choice([-1, 1], big, p=[0.2, 0.8])))
    return {
        "description": "Bradley-Terry reward-model loss (learner/lm/reward_model.h). "
                       "d = chosen - rejected; loss = mean log(1 + exp(-d)); "
                       "grad_chosen = -sigmoid(-d)/n, grad_rejected = +sigmoid(-d)/n. "
                       "accuracy: d > 0 counts 1, d = 0 one half; true_accuracy the same for "
                       "true_order * d over pairs with true_order != 0 (true_pairs of them). "
                       "ece: every pair as (sigmoid(d), 1) and (sigmoid(-d), 0) in ten equal "
                       "bins of [0, 1] (bin = min(floor(10 p), 9)); sum over bins of "
                       "count/(2n) * |mean outcome - mean p|. mean_margin = mean d.",
        "cases": cases,
    }


def main():
    return reference_main(__doc__, "lm", lambda: {"bt_loss.json": bt_doc()})


if __name__ == "__main__":
    sys.exit(main())

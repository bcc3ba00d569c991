#!/usr/bin/env python3
"""Checks Proxima TorchScript policies from Python (tests/learner/policy_interop_test.cc).

Usage: check_torchscript_policy.py CASES.json

CASES.json is a list of cases written by the C++ test, each with the path of
an exported policy, the metadata it must carry, a batch of raw observations
and the live C++ policy's outputs on them (PolicyInference / ActorCritic).
For every case this loads the policy with torch.jit.load and checks the
metadata, normalize/dist_params/value/forward/log_prob/entropy against the
live outputs, act() against log_prob(), and single-observation calls.
Prints one line per case with the largest differences.

Exit status: 0 all match, 1 a mismatch, 2 bad usage, 3 torch missing.
"""
import json
import sys

try:
    import torch
except ImportError as e:  # The C++ test probes first; this is a fallback.
    print(f"cannot import torch: {e}", file=sys.stderr)
    sys.exit(3)


def max_abs_diff(a, b):
    if tuple(a.shape) != tuple(b.shape):
        raise AssertionError(f"shape {tuple(a.shape)} != {tuple(b.shape)}")
    if a.numel() == 0:
        return 0.0
    return (a.double() - b.double()).abs().max().item()


def check_case(case):
    failures = []
    extra = {"proxima.json": ""}
    policy = torch.jit.load(case["policy"], _extra_files=extra)
    meta = json.loads(extra["proxima.json"])
    tol = case["tolerance"]
    # forward(obs[0]) against the batch's row: other BLAS kernels, rounding.
    unbatched_tol = case.get("unbatched_tolerance", tol)

    for key, want in case["metadata"].items():
        got = getattr(policy, key)
        if got != want:
            failures.append(f"attribute {key} = {got!r}, expected {want!r}")
        if meta.get(key) != want:
            failures.append(f"proxima.json {key} = {meta.get(key)!r}, expected {want!r}")

    obs = torch.tensor(case["obs"], dtype=torch.float32)
    discrete = case["metadata"]["discrete"]
    diffs = {}
    with torch.no_grad():
        action = policy(obs)
        if discrete and action.dtype != torch.int64:
            failures.append(f"forward returned {action.dtype} for a discrete policy, not int64")
        if not discrete and action.dtype != torch.float32:
            failures.append(f"forward returned {action.dtype} for a continuous policy")
        sampled = torch.tensor(case["sampled_action"], dtype=torch.float32)
        outputs = {
            "normalize": (policy.normalize(obs), case["normalized"]),
            "dist_params": (policy.dist_params(obs), case["dist_params"]),
            "value": (policy.value(obs), case["value"]),
            "forward": (action, case["det_action"]),
            "log_prob(forward)": (policy.log_prob(obs, action), case["det_logp"]),
            "log_prob(live sample)": (policy.log_prob(obs, sampled), case["sampled_logp"]),
            "entropy": (policy.entropy(obs), case["entropy"]),
        }
        for name, (got, want) in outputs.items():
            diffs[name] = max_abs_diff(got, torch.tensor(want, dtype=torch.float32))

        # act(): samples with the log-prob log_prob() gives them.
        torch.manual_seed(0)
        a, logp = policy.act(obs)
        diffs["act log_prob"] = max_abs_diff(logp, policy.log_prob(obs, a))
        if discrete:
            if a.dtype != torch.int64 or a.min() < 0 or a.max() >= case["metadata"]["num_actions"]:
                failures.append(f"act returned invalid discrete actions {a[:8].tolist()}")
        # One observation, unbatched.
        one = policy(obs[0])
        if one.dim() != action.dim() - 1:
            failures.append(f"forward(obs[0]) has {one.dim()} dims, expected {action.dim() - 1}")
        diffs["forward(obs[0])"] = max_abs_diff(one, action[0])
        if policy.value(obs[0]).dim() != 0:
            failures.append("value(obs[0]) is not a scalar")

    for name, d in diffs.items():
        limit = unbatched_tol if name == "forward(obs[0])" else tol
        if not d <= limit:
            failures.append(f"{name}: max |diff| {d:.3g} > {limit}")
    summary = ", ".join(f"{k} {v:.3g}" for k, v in diffs.items())
    print(f"[{case['name']}] torch {torch.__version__}: max |python - live C++|: {summary}")
    for f in failures:
        print(f"[{case['name']}] MISMATCH: {f}")
    return not failures


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        cases = json.load(f)
    ok = all([check_case(c) for c in cases])
    print("all cases match" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Checks an exported sequence policy from Python (tests/lm/seq_export_test.cc).

Usage: check_seq_export.py CASE.json

CASE.json, written by the C++ test, names the exported module, the metadata
it must carry, token batches and the live C++ model's logits and values on
them. This loads the module with torch.jit.load, runs forward(tokens) on each
batch and compares with the C++ outputs; it also checks the attributes and the
proxima.json extra file. Prints the largest difference.

Exit status: 0 all match, 1 a mismatch, 2 bad usage, 3 torch missing.
"""
import json
import sys

try:
    import torch
except ImportError as e:  # The C++ test probes first; this is a fallback.
    print(f"cannot import torch: {e}", file=sys.stderr)
    sys.exit(3)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        case = json.load(f)
    extra = {"proxima.json": ""}
    module = torch.jit.load(case["module"], _extra_files=extra)
    meta = json.loads(extra["proxima.json"])
    failures = []
    for key, want in case["metadata"].items():
        if getattr(module, key) != want:
            failures.append(f"attribute {key} = {getattr(module, key)!r}, want {want!r}")
        if meta.get(key) != want:
            failures.append(f"proxima.json {key} = {meta.get(key)!r}, want {want!r}")
    worst = 0.0
    with torch.no_grad():
        for batch in case["batches"]:
            tokens = torch.tensor(batch["tokens"], dtype=torch.long)
            logits, values = module(tokens)
            for name, got, want in (("logits", logits, batch["logits"]),
                                    ("values", values, batch["values"])):
                want = torch.tensor(want, dtype=torch.float64)
                if tuple(got.shape) != tuple(want.shape):
                    failures.append(f"{name} shape {tuple(got.shape)} != {tuple(want.shape)}")
                    continue
                worst = max(worst, (got.double() - want).abs().max().item())
    if worst > case["tolerance"]:
        failures.append(f"max |python - c++| = {worst:.3g} > {case['tolerance']}")
    print(f"max |python - c++| = {worst:.3g} over {len(case['batches'])} batches")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

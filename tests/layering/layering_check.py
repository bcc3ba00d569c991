#!/usr/bin/env python3
"""The include layering of Proxima's source tree, checked.

    proto/                     generated messages; includes nothing of ours
    common/  (bottom)          the shared RL core, in seven layers:
        common/*.h             utilities
        common/grpc/           channels, keepalive, status conversion, security
        common/envs/           environments
        common/wire/           the chunk format, run config
        common/fused/          the fused MLP engines' torch-free shared part
        common/lm/             sequence policies: tokenizer, tasks, transformer
        common/policy/         actor-critic, sampling, snapshots, rollout loop
      a layer includes only itself and the layers listed above it.
    actor/   learner/          side by side above common/: neither includes
                               the other
    learner/cli/  (top)        the executables, `proxima train`'s local cluster
                               and the bench: the one place that may include
                               both actor/ and learner/

Usage: layering_check.py ROOT      exit 1 and one line per violation
       layering_check.py --self-test   plants one violation per rule in a
                               scratch tree and checks each is reported
"""
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

COMMON_LAYERS = ["common", "common/grpc", "common/envs", "common/wire", "common/fused",
                 "common/lm", "common/policy"]
OURS = ("common/", "actor/", "learner/")


def room_of(path):
    """The layer a source file (or an included header) belongs to."""
    if path.startswith("learner/cli/"):
        return "top"
    if path.startswith("actor/"):
        return "actor"
    if path.startswith("learner/"):
        return "learner"
    if path.startswith("common/"):
        sub = path.split("/")
        if len(sub) > 2 and "common/" + sub[1] in COMMON_LAYERS:
            return "common/" + sub[1]
        return "common"
    return None


def allowed(src_room, dst_room):
    if src_room == "top":
        return True
    if dst_room.startswith("common"):
        if src_room in ("actor", "learner"):
            return True
        return COMMON_LAYERS.index(dst_room) <= COMMON_LAYERS.index(src_room)
    return dst_room == src_room


def check(root):
    violations = []
    for top in ("common", "actor", "learner", "proto"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if not name.endswith((".h", ".cc", ".proto")):
                    continue
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                with open(full, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                src = room_of(rel)
                for m in INCLUDE.finditer(text):
                    inc = m.group(1)
                    if not inc.startswith(OURS):
                        continue
                    line = text.count("\n", 0, m.start()) + 1
                    if src is None:  # proto/ includes nothing of ours
                        violations.append(f"{rel}:{line}: proto/ includes \"{inc}\"")
                        continue
                    dst = room_of(inc)
                    if not allowed(src, dst):
                        violations.append(
                            f"{rel}:{line}: {src}/ must not include \"{inc}\" ({dst}/): see "
                            "tests/layering/layering_check.py for the layers")
    return violations


def self_test():
    plants = {
        "learner/ppo_loss.cc": '#include "actor/chunk_sender.h"\n',
        "actor/chunk_sender.cc": '#include "learner/gae.h"\n',
        "common/rng.cc": '#include "common/grpc/backoff.h"\n',
        "common/grpc/backoff.cc": '#include "common/envs/env.h"\n',
        "common/envs/env.cc": '#include "common/wire/run_config.h"\n',
        "common/wire/chunk_codec.cc": '#include "common/policy/actor_critic.h"\n',
        "common/policy/actor_critic.cc": '#include "actor/chunk_sender.h"\n',
        "common/lm/seq_policy.cc": '#include "common/policy/actor_critic.h"\n',
        "common/file_util.cc": '#include "learner/gae.h"\n',
    }
    fine = {
        "learner/cli/proxima_main.cc": '#include "actor/actor_client.h"\n#include "learner/gae.h"\n',
        "learner/gae.cc": '#include "common/policy/actor_critic.h"\n#include "learner/gae.h"\n',
        "actor/actor_client.cc": '#include "common/policy/actor_critic.h"\n',
        "common/policy/x.cc": '#include "common/wire/chunk_codec.h"\n#include "common/rng.h"\n',
        "common/policy/y.cc": '#include "common/lm/seq_policy.h"\n',
    }
    with tempfile.TemporaryDirectory() as root:
        for rel, text in {**plants, **fine}.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)
        found = check(root)
    reported = {v.split(":")[0] for v in found}
    missed = sorted(set(plants) - reported)
    wrong = sorted(reported - set(plants))
    for m in missed:
        print(f"self-test: planted violation in {m} was not reported")
    for w in wrong:
        print(f"self-test: allowed include in {w} was reported")
    if missed or wrong:
        return 1
    print(f"self-test: all {len(plants)} planted violations reported, {len(fine)} allowed files pass")
    return 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) != 2:
        print(__doc__)
        return 2
    violations = check(argv[1])
    for v in violations:
        print(v)
    if violations:
        print(f"{len(violations)} include(s) break the layering")
        return 1
    print("layering holds")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

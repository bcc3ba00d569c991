#!/usr/bin/python3
"""Known answers for tests/proto/weights_checksum_test.cc, computed apart from the C++.

    /usr/bin/python3 tests/proto/weights_checksum_reference.py
    /usr/bin/python3 tests/proto/weights_checksum_reference.py \
        --check tests/proto/weights_checksum_test.cc

prints the values the test pins (FNV-1a 64 of three strings, and the
CHECKSUM_ALGORITHM_FNV1A64_CANONICAL checksum of the test's ReferenceSnapshot()
and of an empty snapshot); with --check it instead compares them with the
hex literals of each TEST in the given file and exits 1 on any difference
(ctest: weights_checksum_reference). It builds the canonical byte string C
exactly as the comment on WeightSnapshot in proto/proxima/v1/weights.proto
defines it, with struct.pack and nothing from this repository. Standard
library only.
"""

import re
import struct
import sys

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
DTYPE_FLOAT32 = 1  # proto/proxima/v1/tensor.proto


def fnv1a64(data):
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def canonical_bytes(version, tensors, normalizer):
    """tensors: [(name, dtype, shape, data bytes)]; normalizer: dict or None (unset)."""
    out = bytearray()
    out += struct.pack("<Q", version)
    out += struct.pack("<I", len(tensors))
    for name, dtype, shape, data in tensors:
        encoded = name.encode("utf-8")
        out += struct.pack("<I", len(encoded)) + encoded
        out += struct.pack("<I", dtype)
        out += struct.pack("<I", len(shape))
        for d in shape:
            out += struct.pack("<q", d)
        out += struct.pack("<Q", len(data)) + data
    n = normalizer or {"enabled": False, "mean": [], "var": [], "count": 0.0, "clip": 0.0,
                       "epsilon": 0.0}
    out += struct.pack("<B", 1 if n["enabled"] else 0)
    for key in ("mean", "var"):
        out += struct.pack("<I", len(n[key]))
        for v in n[key]:
            out += struct.pack("<d", v)
    for key in ("count", "clip", "epsilon"):
        out += struct.pack("<d", n[key])
    return bytes(out)


def float32_bytes(values):
    return struct.pack("<%df" % len(values), *values)


def reference_snapshot():
    """The test's ReferenceSnapshot(): see its comment."""
    weight = [-1.0 + 0.5 * i for i in range(6)]
    tensors = [
        ("actor.0.weight", DTYPE_FLOAT32, [2, 3], float32_bytes(weight)),
        ("actor.0.bias", DTYPE_FLOAT32, [2], float32_bytes([0.25, -0.25])),
    ]
    normalizer = {"enabled": True, "mean": [1.0, -2.0, 0.5], "var": [4.0, 0.25, 1.0],
                  "count": 1000.0001, "clip": 10.0, "epsilon": 1e-8}
    return canonical_bytes(42, tensors, normalizer)


def known_answers():
    """TEST name -> the values its EXPECT_EQs pin, in order."""
    empty = fnv1a64(canonical_bytes(0, [], None))
    return {
        "Fnv1a64KnownAnswers": [fnv1a64(t) for t in (b"", b"a", b"foobar")],
        "ReferenceSnapshotKnownAnswer": [fnv1a64(reference_snapshot())],
        # Unset normalizer, then set to the default message: the same bytes.
        "UnsetNormalizerHashesAsDefault": [empty, empty],
    }


def check(path):
    with open(path, encoding="utf-8") as f:
        source = f.read()
    # Each TEST's body runs to the next TEST (or the end of the file).
    bodies = re.split(r"^TEST\(", source, flags=re.M)[1:]
    pinned = {}
    for body in bodies:
        name = re.match(r"\s*\w+\s*,\s*(\w+)", body).group(1)
        pinned[name] = [int(h, 16) for h in re.findall(r"\b0x([0-9a-fA-F]{16})ULL\b", body)]
    ok = True
    for name, want in known_answers().items():
        got = pinned.get(name)
        status = "ok" if got == want else "MISMATCH"
        ok &= got == want
        print("%-32s %s: file %s, computed %s" % (
            name, status, None if got is None else ["0x%016x" % v for v in got],
            ["0x%016x" % v for v in want]))
    return ok


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        sys.exit(0 if check(sys.argv[2]) else 1)
    if len(sys.argv) != 1:
        sys.exit("usage: weights_checksum_reference.py [--check weights_checksum_test.cc]")
    for name, values in known_answers().items():
        print(name + ":")
        for v in values:
            print("  0x%016xULL" % v)


if __name__ == "__main__":
    main()

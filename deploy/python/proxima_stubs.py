#!/usr/bin/env python3
"""Python stubs for Proxima's gRPC protocol, generated from proto/ on demand.

The .proto files under proto/proxima/v1 are the contract (package
proxima.v1). Python code talks to a learner or serves an env with
stubs generated from them by protoc and gRPC's Python plugin:

    # Debian: apt-get install protobuf-compiler protobuf-compiler-grpc \\
    #                         python3-grpcio python3-protobuf
    python3 deploy/python/proxima_stubs.py OUT_DIR        # every file, once
    PYTHONPATH=OUT_DIR python3 -c 'from proxima.v1 import monitor_service_pb2_grpc'

which runs

    protoc -I proto --python_out=OUT_DIR --grpc_python_out=OUT_DIR \\
        --plugin=protoc-gen-grpc_python=$(command -v grpc_python_plugin) \\
        proto/proxima/v1/*.proto

(without protoc on PATH it falls back to pip's grpcio-tools, i.e.
`python3 -m grpc_tools.protoc`). From Python, `load()` makes the modules
importable, generating them into a cache directory keyed by the contents of
the .proto files the first time (so an updated checkout regenerates):

    import proxima_stubs
    proxima_stubs.load()
    from proxima.v1 import monitor_service_pb2, monitor_service_pb2_grpc

The learner also serves the standard grpc.health.v1 service; its Python stubs
are not generated here (a generated `grpc` package would clash with grpcio's):
use grpcio-health-checking's grpc_health.v1, or call '/grpc.health.v1.Health/
Check' with a message class of your own. Needs Python >= 3.8; protobuf's runtime must be at least as new as the protoc
that generated the stubs (Debian bookworm pairs 3.21 with 3.21).
"""

import argparse
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

_HERE = os.path.dirname(os.path.abspath(__file__))
class StubsError(RuntimeError):
    """The stubs cannot be generated (no protoc, no .proto files, protoc failed)."""


def find_proto_dir(proto_dir=None):
    """The directory holding proxima/v1/*.proto.

    Order: the argument, $PROXIMA_PROTO_DIR, then ../../proto beside this file
    (a source checkout)."""
    candidates = [proto_dir, os.environ.get("PROXIMA_PROTO_DIR"),
                  os.path.join(_HERE, "..", "..", "proto")]
    for d in candidates:
        if d and os.path.isfile(os.path.join(d, "proxima", "v1", "env_service.proto")):
            return os.path.abspath(d)
    raise StubsError("cannot find proto/proxima/v1/*.proto (tried %s); pass --proto-dir or set "
                     "PROXIMA_PROTO_DIR" % ", ".join(repr(c) for c in candidates if c))


def proto_files(proto_dir):
    """Every .proto file to generate, relative to proto_dir, sorted."""
    return sorted(os.path.relpath(p, proto_dir)
                  for p in glob.glob(os.path.join(proto_dir, "proxima", "v1", "*.proto")))


def _protoc_command(proto_dir, out_dir):
    protoc = shutil.which("protoc")
    plugin = shutil.which("grpc_python_plugin")
    if protoc and plugin:
        return [protoc, "-I", proto_dir, "--python_out=" + out_dir, "--grpc_python_out=" + out_dir,
                "--plugin=protoc-gen-grpc_python=" + plugin]
    try:
        import grpc_tools  # noqa: F401  (pip's grpcio-tools)
    except ImportError:
        raise StubsError("need protoc and grpc_python_plugin on PATH (Debian: protobuf-compiler "
                         "protobuf-compiler-grpc) or the grpcio-tools Python package") from None
    return [sys.executable, "-m", "grpc_tools.protoc", "-I", proto_dir,
            "--python_out=" + out_dir, "--grpc_python_out=" + out_dir]


def generate(out_dir, proto_dir=None):
    """Generates *_pb2.py and *_pb2_grpc.py for every file into out_dir."""
    proto_dir = find_proto_dir(proto_dir)
    os.makedirs(out_dir, exist_ok=True)
    cmd = _protoc_command(proto_dir, out_dir) + proto_files(proto_dir)
    run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if run.returncode != 0:
        raise StubsError("protoc failed (%d): %s\n%s" % (run.returncode, " ".join(cmd), run.stdout))
    return out_dir


def _cache_root():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "proxima", "python-stubs")


def load(stubs_dir=None, proto_dir=None):
    """Makes `proxima.v1.*_pb2(_grpc)` importable and returns their directory.

    stubs_dir: use (and if empty, fill) this directory. Default: stubs already
    importable are used as they are; otherwise a cache directory
    ($XDG_CACHE_HOME or ~/.cache)/proxima/python-stubs/<hash of the .proto
    files>, generated on first use."""
    if stubs_dir is None:
        try:
            from proxima.v1 import env_service_pb2_grpc  # noqa: F401
            import proxima.v1
            return os.path.dirname(os.path.dirname(os.path.abspath(list(proxima.v1.__path__)[0])))
        except ImportError:
            pass
        proto_dir = find_proto_dir(proto_dir)
        digest = hashlib.sha256()
        for f in proto_files(proto_dir):
            digest.update(f.encode())
            with open(os.path.join(proto_dir, f), "rb") as fh:
                digest.update(fh.read())
        stubs_dir = os.path.join(_cache_root(), digest.hexdigest()[:16])
    marker = os.path.join(stubs_dir, "proxima", "v1", "env_service_pb2_grpc.py")
    if not os.path.isfile(marker):
        parent = os.path.dirname(os.path.abspath(stubs_dir))
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".stubs-", dir=parent)
        try:
            generate(tmp, proto_dir)
            if os.path.isdir(stubs_dir) and not os.listdir(stubs_dir):
                os.rmdir(stubs_dir)
            try:
                os.rename(tmp, stubs_dir)  # atomic; a concurrent winner is as good
            except OSError:
                if not os.path.isfile(marker):
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if stubs_dir not in sys.path:
        sys.path.insert(0, stubs_dir)
    return stubs_dir


def main(argv=None):
    parser = argparse.ArgumentParser(description="Generate Proxima's Python gRPC stubs.")
    parser.add_argument("out_dir", help="directory to write proxima/v1/*_pb2*.py into")
    parser.add_argument("--proto-dir", help="directory holding proxima/v1/*.proto "
                        "[$PROXIMA_PROTO_DIR, else ../../proto beside this script]")
    args = parser.parse_args(argv)
    try:
        generate(args.out_dir, args.proto_dir)
    except StubsError as e:
        print("proxima_stubs: %s" % e, file=sys.stderr)
        return 1
    print("proxima_stubs: wrote %s (use PYTHONPATH=%s)" % (args.out_dir, args.out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())

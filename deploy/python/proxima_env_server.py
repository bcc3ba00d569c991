#!/usr/bin/env python3
"""Serves Python environments to Proxima over the proxima.v1.Env gRPC service.

Any object with Gymnasium's API can be trained on by Proxima's C++ actors:

    reset(seed=None) -> (obs, info)
    step(action)     -> (obs, reward, terminated, truncated, info)
    observation_space, action_space
    close()          (optional)

Spaces are read from plain attributes, so Gymnasium's own spaces work and so
does any stand-in: a Discrete space has `n` (and `start`, which must be 0); a
Box has `low`, `high` and `shape` (arrays or scalars broadcast to the shape).
The time limit and reward threshold are read from `env.spec` (Gymnasium's
EnvSpec: `id`, `max_episode_steps`, `reward_threshold`) or, failing that, from
attributes of the same names on the env. The server applies the time limit
(truncated once an episode reaches max_episode_steps) whether or not the env
does.

Run it (Debian: apt-get install python3-grpcio python3-numpy python3-protobuf
protobuf-compiler protobuf-compiler-grpc):

    python3 deploy/python/proxima_env_server.py --listen 127.0.0.1:50061 \\
        --env mypackage.envs:make_env
    proxima train --env remote://127.0.0.1:50061 --in-process

It prints `proxima-env-server: listening on HOST:PORT` once serving (with
--listen HOST:0 the port is chosen by the system). `--env [ID=]MODULE:FACTORY`
may be repeated; MODULE is a module name (found on sys.path and the current
directory) or a path to a .py file. The first --env is the default, used when
a client names no env (remote://HOST:PORT); a client picks another with
remote://HOST:PORT/ID. ID defaults to FACTORY's `id` attribute (a class
may carry one), else FACTORY's name. With
--gymnasium, any other id is built with gymnasium.make(id, **options).

Each session (one gRPC stream) calls FACTORY(**options) once per env it
serves, where options are the remote id's ?KEY=VALUE pairs: a value that is
a Python literal is passed as that literal ("500" -> 500, "0.1,0.2" ->
(0.1, 0.2), "True" -> True), anything else as a string. A single-env session
is one env column of an actor; a batched session (hello.num_envs = N, what
Proxima's actors ask for) builds N envs and steps all of them per request,
auto-resetting a column whose episode ended in the same step
(proxima_env_batch.EnvBatch, usable on its own). Sessions run concurrently,
each in its own thread (at most --max-sessions).

The protocol is documented in proto/proxima/v1/env_service.proto. The gRPC
stubs are generated from proto/ at start-up into a cache directory (see
proxima_stubs.py beside this file); --stubs-dir uses a directory of your own.

Embedding: EnvServer({"MyEnv-v0": make_env}).start("127.0.0.1:0") returns the
bound address; serve(make_env, "0.0.0.0:50061") blocks.
"""

import argparse
import ast
import concurrent.futures
import importlib
import importlib.util
import logging
import os
import platform
import signal
import sys
import threading

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxima_stubs  # noqa: E402
from proxima_env_session import (PROTOCOL_VERSION, _Abort, _BatchSession,  # noqa: E402
                                 _lookup, _Session)

# Env columns one batched session may ask for (EnvHandshakeRequest.num_envs).
MAX_BATCH_ENVS = 65536
_MAX_MESSAGE_BYTES = 64 << 20
# Actors ping every 30 s on open sessions; permit that even when idle.
_SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10000),
    ("grpc.http2.max_ping_strikes", 0),
    ("grpc.so_reuseport", 0),
]

log = logging.getLogger("proxima-env-server")


def parse_option(value):
    """An option value: the Python literal it spells, else the string itself."""
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value


def load_factory(spec):
    """'module:attr' or 'path/to/file.py:attr' -> the callable."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ValueError("expected MODULE:FACTORY, got %r" % spec)
    if module_name.endswith(".py") or os.sep in module_name:
        path = os.path.abspath(module_name)
        name = "_proxima_env_" + os.path.splitext(os.path.basename(path))[0]
        loader_spec = importlib.util.spec_from_file_location(name, path)
        if loader_spec is None:
            raise ValueError("cannot load %s" % path)
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module
        loader_spec.loader.exec_module(module)
    else:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        module = importlib.import_module(module_name)
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ValueError("%s has no callable %r" % (module_name, attr))
    return factory


class _Stubs:
    """The generated modules, loaded once per process."""

    def __init__(self, stubs_dir=None, proto_dir=None):
        proxima_stubs.load(stubs_dir, proto_dir)
        from proxima.v1 import env_service_pb2, env_service_pb2_grpc, space_pb2, tensor_pb2
        self.env_service_pb2 = env_service_pb2
        self.env_service_pb2_grpc = env_service_pb2_grpc
        self.space_pb2 = space_pb2
        self.tensor_pb2 = tensor_pb2


class EnvServer:
    """A gRPC server for the proxima.v1.Env service.

    envs: {id: factory} (the first id is the default) or a single factory.
    gymnasium: build ids not in `envs` with gymnasium.make(id, **options).
    max_sessions: sessions served at once (each holds a thread); more are
    refused with RESOURCE_EXHAUSTED."""

    def __init__(self, envs, gymnasium=False, max_sessions=256, stubs_dir=None, proto_dir=None):
        if callable(envs):
            envs = {"": envs}
        if not envs and not gymnasium:
            raise ValueError("no env to serve: give at least one factory or gymnasium=True")
        self._envs = dict(envs)
        self._default = next(iter(self._envs), None)
        self._gymnasium = gymnasium
        self._max_sessions = max_sessions
        self._pb = _Stubs(stubs_dir, proto_dir)
        self._server = None
        self._sessions = 0
        self._lock = threading.Lock()
        self.server_name = "proxima_env_server.py / python %s / grpcio %s" % (
            platform.python_version(), grpc.__version__)

    # grpc's servicer method: one call = one session.
    def Session(self, request_iterator, context):
        session = None
        peer = context.peer()
        try:
            for request in request_iterator:
                kind = request.WhichOneof("kind")
                if session is None:
                    if kind != "hello":
                        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT,
                                     "the first request of a session must be hello (got %s)"
                                     % (kind or "an empty request"))
                    session = self._open(request.hello, peer)
                    yield session.hello(self.server_name)
                elif kind in ("reset", "step") and session.num_envs:
                    raise _Abort(grpc.StatusCode.FAILED_PRECONDITION,
                                 "%s in a batched session of %d env columns; send batch_%s"
                                 % (kind, session.num_envs, kind))
                elif kind in ("batch_reset", "batch_step") and not session.num_envs:
                    raise _Abort(grpc.StatusCode.FAILED_PRECONDITION,
                                 "%s in a single-env session; ask for num_envs >= 1 in hello"
                                 % kind)
                elif kind == "batch_step":
                    yield session.batch_step(request.batch_step)
                elif kind == "batch_reset":
                    yield session.batch_reset(request.batch_reset)
                elif kind == "reset":
                    yield session.reset(request.reset)
                elif kind == "step":
                    yield session.step(request.step)
                elif kind == "hello":
                    raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "a second hello")
                else:
                    raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "an empty request")
        except _Abort as e:
            log.warning("session from %s ends: %s: %s", peer, e.code.name, e.message)
            context.abort(e.code, e.message)
        finally:
            if session is not None:
                session.close()
                with self._lock:
                    self._sessions -= 1
                log.debug("session from %s closed", peer)

    def _open(self, hello, peer):
        if hello.protocol_version != PROTOCOL_VERSION:
            raise _Abort(grpc.StatusCode.FAILED_PRECONDITION,
                         "protocol_version %d is not supported; this server speaks %d"
                         % (hello.protocol_version, PROTOCOL_VERSION))
        env_id = hello.env_id or self._default
        options = {k: parse_option(v) for k, v in hello.env_options.items()}
        factory = self._envs.get(env_id)
        if factory is None and self._gymnasium and env_id:
            import gymnasium
            factory = lambda **kw: gymnasium.make(env_id, **kw)  # noqa: E731
        if factory is None:
            raise _Abort(grpc.StatusCode.NOT_FOUND, "unknown env_id %r; this server has %s" % (
                hello.env_id, ", ".join(repr(k) for k in self._envs if k) or "only its default"))
        num_envs = hello.num_envs
        if num_envs > MAX_BATCH_ENVS:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "num_envs %d is over this server's "
                         "limit of %d env columns per session" % (num_envs, MAX_BATCH_ENVS))
        envs = []
        try:
            for _ in range(max(num_envs, 1)):
                try:
                    envs.append(factory(**options))
                except Exception as e:
                    raise _Abort(grpc.StatusCode.INTERNAL,
                                 "building env %r with options %r raised %s: %s"
                                 % (env_id, options, type(e).__name__, e)) from e
            spec_id = _lookup(envs[0], "id")
            name = env_id or (str(spec_id) if spec_id else "env")
            if num_envs:
                session = _BatchSession(self._pb, envs, name)
            else:
                session = _Session(self._pb, envs[0], name)
        except BaseException:
            for env in envs:
                close = getattr(env, "close", None)
                if callable(close):
                    close()
            raise
        with self._lock:
            self._sessions += 1
        log.info("session from %s (%s): %s%s %s", peer, hello.client_name or "unnamed",
                 session.id, " x %d" % num_envs if num_envs else "", options or "")
        return session

    def start(self, listen="127.0.0.1:0"):
        """Starts serving; returns the bound HOST:PORT."""
        self._server = grpc.server(
            concurrent.futures.ThreadPoolExecutor(max_workers=self._max_sessions,
                                                  thread_name_prefix="env-session"),
            options=_SERVER_OPTIONS, maximum_concurrent_rpcs=self._max_sessions)
        self._pb.env_service_pb2_grpc.add_EnvServicer_to_server(self, self._server)
        port = self._server.add_insecure_port(listen)
        if port == 0:
            raise RuntimeError("cannot listen on %s" % listen)
        self._server.start()
        host = listen.rsplit(":", 1)[0]
        return "%s:%d" % (host, port)

    def stop(self, grace=None):
        if self._server is not None:
            self._server.stop(grace).wait()

    def wait(self):
        self._server.wait_for_termination()


def serve(envs, listen="127.0.0.1:0", **kwargs):
    """Serves until SIGINT/SIGTERM. envs as in EnvServer."""
    server = EnvServer(envs, **kwargs)
    address = server.start(listen)
    print("proxima-env-server: listening on %s" % address, flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    log.info("stopping")
    server.stop(grace=2)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Serve Gymnasium-style Python envs to Proxima (proxima.v1.Env).",
        epilog="example: %(prog)s --listen 127.0.0.1:50061 --env mypkg.envs:make "
               "&& proxima train --env remote://127.0.0.1:50061 --in-process")
    parser.add_argument("--listen", default="127.0.0.1:50061",
                        help="HOST:PORT to serve on; port 0 picks a free one [%(default)s]")
    parser.add_argument("--env", action="append", default=[], metavar="[ID=]MODULE:FACTORY",
                        help="an env factory (repeatable; the first is the default)")
    parser.add_argument("--gymnasium", action="store_true",
                        help="build other ids with gymnasium.make(id, **options)")
    parser.add_argument("--max-sessions", type=int, default=256,
                        help="sessions (env instances) served at once [%(default)s]")
    parser.add_argument("--stubs-dir", help="generated stubs directory [a cache dir]")
    parser.add_argument("--proto-dir", help="directory holding proxima/v1/*.proto [../../proto]")
    parser.add_argument("--log-level", default="INFO", help="[%(default)s]")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="proxima-env-server: %(levelname)s %(message)s")
    envs = {}
    try:
        for item in args.env:
            name, sep, factory_spec = item.partition("=")
            if not sep:
                name, factory_spec = "", item
            factory = load_factory(factory_spec)
            if not name:
                name = factory_spec.rpartition(":")[2]
                spec_id = _lookup(factory, "id")  # a class may carry its id
                if isinstance(spec_id, str) and spec_id:
                    name = spec_id
            if name in envs:
                raise ValueError("env id %r given twice" % name)
            envs[name] = factory
        if not envs and not args.gymnasium:
            raise ValueError("give at least one --env [ID=]MODULE:FACTORY (or --gymnasium)")
        if args.max_sessions < 1:
            raise ValueError("--max-sessions must be >= 1")
        serve(envs, args.listen, gymnasium=args.gymnasium, max_sessions=args.max_sessions,
              stubs_dir=args.stubs_dir, proto_dir=args.proto_dir)
    except (ValueError, ImportError, proxima_stubs.StubsError, RuntimeError) as e:
        print("proxima-env-server: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

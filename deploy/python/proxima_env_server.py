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

Each session (one gRPC stream, one env column of an actor) calls
FACTORY(**options) once, where options are the remote id's ?KEY=VALUE pairs:
a value that is a Python literal is passed as that literal ("500" -> 500,
"0.1,0.2" -> (0.1, 0.2), "True" -> True), anything else as a string.
Sessions run concurrently, each in its own thread (at most --max-sessions).

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
import math
import os
import platform
import signal
import sys
import threading

import grpc
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxima_stubs  # noqa: E402

PROTOCOL_VERSION = 1
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


class _Abort(Exception):
    """Ends a session with a gRPC status."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


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


def _lookup(env, name):
    """env.spec.<name>, else env.<name>, else None."""
    spec = getattr(env, "spec", None)
    value = getattr(spec, name, None) if spec is not None else None
    if value is None:
        value = getattr(env, name, None)
    return value


class _Session:
    """One env instance and its episode state, driven by one stream."""

    def __init__(self, pb, env, env_id):
        self.pb = pb
        self.env = env
        self.id = env_id
        self.obs_shape, self.obs_space_proto = self._describe(env.observation_space, "observation")
        self.action_kind = None
        self.action_shape, self.action_space_proto = self._describe(env.action_space, "action")
        self.action_dtype = getattr(env.action_space, "dtype", np.float32)
        max_steps = _lookup(env, "max_episode_steps")
        self.max_steps = int(max_steps) if max_steps else 0
        self.reward_threshold = _lookup(env, "reward_threshold")
        self.steps = 0
        self.episode_open = False

    def _describe(self, space, what):
        """(shape, Space proto) of a Discrete- or Box-like space."""
        pb = self.pb
        if hasattr(space, "n"):
            start = int(getattr(space, "start", 0))
            if start != 0:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT,
                             "%s space: Discrete with start=%d; v1 needs start 0" % (what, start))
            if what == "action":
                self.action_kind = "discrete"
            return (), pb.space_pb2.Space(discrete=pb.space_pb2.DiscreteSpace(n=int(space.n)))
        if hasattr(space, "low") and hasattr(space, "high"):
            shape = tuple(int(d) for d in getattr(space, "shape", np.shape(space.low)))
            low = np.broadcast_to(np.asarray(space.low, dtype=np.float64), shape).astype(np.float32)
            high = np.broadcast_to(np.asarray(space.high, dtype=np.float64), shape).astype(np.float32)
            if what == "action":
                self.action_kind = "box"
            box = pb.space_pb2.BoxSpace(shape=list(shape), dtype=pb.tensor_pb2.DTYPE_FLOAT32,
                                        low=low.ravel().tolist(), high=high.ravel().tolist())
            return shape, pb.space_pb2.Space(box=box)
        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT,
                     "%s space %r is neither Discrete-like (n) nor Box-like (low, high, shape)"
                     % (what, space))

    def hello(self, server_name):
        pb = self.pb
        spec = pb.space_pb2.EnvSpec(id=self.id, observation_space=self.obs_space_proto,
                                    action_space=self.action_space_proto,
                                    max_episode_steps=self.max_steps)
        if self.reward_threshold is not None:
            spec.reward_threshold = float(self.reward_threshold)
        return pb.env_service_pb2.EnvResponse(hello=pb.env_service_pb2.EnvHandshakeResponse(
            protocol_version=PROTOCOL_VERSION, spec=spec, server_name=server_name))

    def _observation(self, obs, what):
        arr = np.asarray(obs, dtype=np.float32)
        if arr.shape != self.obs_shape:
            if arr.size == int(np.prod(self.obs_shape)):
                arr = arr.reshape(self.obs_shape)
            else:
                raise _Abort(grpc.StatusCode.INTERNAL,
                             "env %s returned an observation of shape %s from %s; its space has "
                             "shape %s" % (self.id, arr.shape, what, self.obs_shape))
        return self.pb.tensor_pb2.TensorProto(
            dtype=self.pb.tensor_pb2.DTYPE_FLOAT32, shape=list(self.obs_shape),
            data=np.ascontiguousarray(arr, dtype="<f4").tobytes())

    def reset(self, request):
        try:
            if request.HasField("seed"):
                result = self.env.reset(seed=int(request.seed))
            else:
                result = self.env.reset()
        except Exception as e:  # the env's own failure
            raise _Abort(grpc.StatusCode.INTERNAL, "env %s raised in reset: %s: %s"
                         % (self.id, type(e).__name__, e)) from e
        if not (isinstance(result, tuple) and len(result) == 2):
            raise _Abort(grpc.StatusCode.INTERNAL, "env %s: reset must return (obs, info) "
                         "(Gymnasium API)" % self.id)
        self.steps = 0
        self.episode_open = True
        pb = self.pb
        return pb.env_service_pb2.EnvResponse(reset=pb.env_service_pb2.EnvResetResponse(
            observation=self._observation(result[0], "reset")))

    def _action(self, tensor):
        t = self.pb.tensor_pb2
        shape = tuple(tensor.shape)
        if self.action_kind == "discrete":
            if tensor.dtype != t.DTYPE_INT64 or shape != () or len(tensor.data) != 8:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT,
                             "a Discrete action must be a DTYPE_INT64 scalar (shape [], 8 bytes); "
                             "got dtype %d, shape %s, %d bytes" % (tensor.dtype, list(shape),
                                                                   len(tensor.data)))
            a = int.from_bytes(tensor.data, "little", signed=True)
            n = self.action_space_proto.discrete.n
            if not 0 <= a < n:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT,
                             "action %d is outside Discrete(%d)" % (a, n))
            return a
        count = int(np.prod(self.action_shape))
        if tensor.dtype != t.DTYPE_FLOAT32 or shape != self.action_shape or \
                len(tensor.data) != 4 * count:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT,
                         "a Box action must be a DTYPE_FLOAT32 tensor of shape %s (%d bytes); got "
                         "dtype %d, shape %s, %d bytes" % (list(self.action_shape), 4 * count,
                                                           tensor.dtype, list(shape),
                                                           len(tensor.data)))
        a = np.frombuffer(tensor.data, dtype="<f4").reshape(self.action_shape)
        if not np.all(np.isfinite(a)):
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "the action has non-finite values")
        return a.astype(self.action_dtype, copy=True)

    def step(self, request):
        if not self.episode_open:
            raise _Abort(grpc.StatusCode.FAILED_PRECONDITION,
                         "step before the first reset or after the episode ended; send reset")
        action = self._action(request.action)
        try:
            result = self.env.step(action)
        except Exception as e:
            raise _Abort(grpc.StatusCode.INTERNAL, "env %s raised in step: %s: %s"
                         % (self.id, type(e).__name__, e)) from e
        if not (isinstance(result, tuple) and len(result) == 5):
            raise _Abort(grpc.StatusCode.INTERNAL,
                         "env %s: step must return (obs, reward, terminated, truncated, info) "
                         "(Gymnasium API; %s values is the old Gym API?)"
                         % (self.id, len(result) if isinstance(result, tuple) else "not a tuple"))
        obs, reward, terminated, truncated, _ = result
        reward = float(reward)
        if not math.isfinite(reward):
            raise _Abort(grpc.StatusCode.INTERNAL, "env %s returned reward %r" % (self.id, reward))
        self.steps += 1
        truncated = bool(truncated) or (self.max_steps > 0 and self.steps >= self.max_steps)
        terminated = bool(terminated)
        if terminated or truncated:
            self.episode_open = False
        pb = self.pb
        return pb.env_service_pb2.EnvResponse(step=pb.env_service_pb2.EnvStepResponse(
            observation=self._observation(obs, "step"), reward=reward, terminated=terminated,
            truncated=truncated))

    def close(self):
        close = getattr(self.env, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # closing must not hide the session's outcome
                log.exception("env %s raised in close()", self.id)


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
        try:
            env = factory(**options)
        except Exception as e:
            raise _Abort(grpc.StatusCode.INTERNAL, "building env %r with options %r raised %s: %s"
                         % (env_id, options, type(e).__name__, e)) from e
        spec_id = _lookup(env, "id")
        try:
            session = _Session(self._pb, env, env_id or (str(spec_id) if spec_id else "env"))
        except BaseException:
            close = getattr(env, "close", None)
            if callable(close):
                close()
            raise
        with self._lock:
            self._sessions += 1
        log.info("session from %s (%s): %s %s", peer, hello.client_name or "unnamed",
                 session.id, options or "")
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

"""One proxima.v1.Env session on the server side: the env instance(s) it
drives and the replies it builds (protocol: proto/proxima/v1/env_service.proto).

_Session serves one env (hello, reset, step); _BatchSession serves N env
columns (hello with num_envs = N, batch_reset, batch_step; same-step
auto-reset by proxima_env_batch.EnvBatch). Both read the spaces, time limit
and reward threshold from the (first) env as proxima_env_server.py's module
comment describes, and end the session by raising _Abort(code, message);
proxima_env_server.EnvServer turns that into the gRPC status. Internal to
proxima_env_server.py.
"""

import logging
import math

import grpc
import numpy as np

from proxima_env_batch import EnvBatch, EnvBatchError

PROTOCOL_VERSION = 1

log = logging.getLogger("proxima-env-server")


class _Abort(Exception):
    """Ends a session with a gRPC status."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message

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

    num_envs = 0  # a single-env session

    def hello(self, server_name):
        pb = self.pb
        spec = pb.space_pb2.EnvSpec(id=self.id, observation_space=self.obs_space_proto,
                                    action_space=self.action_space_proto,
                                    max_episode_steps=self.max_steps)
        if self.reward_threshold is not None:
            spec.reward_threshold = float(self.reward_threshold)
        return pb.env_service_pb2.EnvResponse(hello=pb.env_service_pb2.EnvHandshakeResponse(
            protocol_version=PROTOCOL_VERSION, spec=spec, server_name=server_name,
            num_envs=self.num_envs))

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


class _BatchSession(_Session):
    """N env instances (env columns) stepped together by one stream: a batched
    session, same-step auto-reset (proxima_env_batch.EnvBatch)."""

    def __init__(self, pb, envs, env_id):
        super().__init__(pb, envs[0], env_id)
        self.num_envs = len(envs)
        self.batch = EnvBatch(envs, self.obs_shape, self.max_steps)
        self.rows_shape = [self.num_envs] + list(self.obs_shape)
        self.action_rows_shape = (self.num_envs,) + tuple(self.action_shape)
        self.reset_done = False

    def _tensor(self, tensor, array, shape):
        tensor.dtype = self.pb.tensor_pb2.DTYPE_FLOAT32
        tensor.shape.extend(shape)
        tensor.data = array.tobytes()

    def batch_reset(self, request):
        try:
            obs = self.batch.reset(int(request.seed) if request.HasField("seed") else None)
        except EnvBatchError as e:
            raise _Abort(grpc.StatusCode.INTERNAL, "env %s, %s" % (self.id, e)) from e
        self.reset_done = True
        response = self.pb.env_service_pb2.EnvResponse()
        self._tensor(response.batch_reset.observations, obs, self.rows_shape)
        return response

    def _actions(self, tensor):
        t = self.pb.tensor_pb2
        shape = tuple(tensor.shape)
        n = self.num_envs
        if self.action_kind == "discrete":
            if tensor.dtype != t.DTYPE_INT64 or shape != (n,) or len(tensor.data) != 8 * n:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT,
                             "batch_step actions for Discrete must be DTYPE_INT64 of shape [%d] "
                             "(one per env column, %d bytes); got dtype %d, shape %s, %d bytes"
                             % (n, 8 * n, tensor.dtype, list(shape), len(tensor.data)))
            a = np.frombuffer(tensor.data, dtype="<i8")
            space_n = self.action_space_proto.discrete.n
            bad = np.flatnonzero((a < 0) | (a >= space_n))
            if bad.size:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT,
                             "column %d: action %d is outside Discrete(%d)"
                             % (bad[0], a[bad[0]], space_n))
            return a.tolist()
        count = int(np.prod(self.action_rows_shape))
        if tensor.dtype != t.DTYPE_FLOAT32 or shape != self.action_rows_shape or \
                len(tensor.data) != 4 * count:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT,
                         "batch_step actions for a Box must be DTYPE_FLOAT32 of shape %s (one row "
                         "per env column, %d bytes); got dtype %d, shape %s, %d bytes"
                         % (list(self.action_rows_shape), 4 * count, tensor.dtype, list(shape),
                            len(tensor.data)))
        a = np.frombuffer(tensor.data, dtype="<f4").reshape(self.action_rows_shape)
        finite = np.isfinite(a).reshape(n, -1).all(axis=1)
        if not finite.all():
            column = int(np.flatnonzero(~finite)[0])
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT,
                         "column %d: the action has non-finite values (%s)"
                         % (column, a[column].tolist()))
        return a.astype(self.action_dtype, copy=True)

    def batch_step(self, request):
        if not self.reset_done:
            raise _Abort(grpc.StatusCode.FAILED_PRECONDITION,
                         "batch_step before the first batch_reset; send batch_reset")
        actions = self._actions(request.actions)
        try:
            obs, rewards, terminated, truncated, final_obs = self.batch.step(actions)
        except EnvBatchError as e:
            raise _Abort(grpc.StatusCode.INTERNAL, "env %s, %s" % (self.id, e)) from e
        response = self.pb.env_service_pb2.EnvResponse()
        out = response.batch_step
        self._tensor(out.observations, obs, self.rows_shape)
        n = [self.num_envs]
        dtypes = self.pb.tensor_pb2
        out.rewards.dtype = dtypes.DTYPE_FLOAT64
        out.rewards.shape.extend(n)
        out.rewards.data = rewards.tobytes()
        out.terminated.dtype = dtypes.DTYPE_BOOL
        out.terminated.shape.extend(n)
        out.terminated.data = terminated.tobytes()
        out.truncated.dtype = dtypes.DTYPE_BOOL
        out.truncated.shape.extend(n)
        out.truncated.data = truncated.tobytes()
        self._tensor(out.final_observations, final_obs, [len(final_obs)] + list(self.obs_shape))
        return response

    def close(self):
        error = self.batch.close()
        if error is not None:  # closing must not hide the session's outcome
            log.error("env %s raised in close(): %s: %s", self.id, type(error).__name__, error)

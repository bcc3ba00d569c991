"""N copies of a Gymnasium-style env stepped together (the server side of a
batched proxima.v1.Env session; see proto/proxima/v1/env_service.proto).

EnvBatch is a small Gymnasium-style vector env without Gymnasium: it holds N
env objects (reset(seed=None) -> (obs, info); step(action) -> (obs, reward,
terminated, truncated, info)) and steps them in column order with SAME-STEP
auto-reset (Gymnasium's AutoresetMode.SAME_STEP):

    batch = EnvBatch([make_env() for _ in range(16)], obs_shape=(4,),
                     max_episode_steps=500)
    obs = batch.reset(seed=7)              # column i reseeded with 7 + i
    obs, rewards, terminated, truncated, final_obs = batch.step(actions)

After step(), for a column whose episode ended (terminated, truncated, or its
step count reached max_episode_steps, which EnvBatch applies itself), obs[i]
is the first observation of its next episode (env.reset() without a seed,
continuing its RNG) and the ended episode's last observation is a row of
final_obs, which holds one row per ended column in column order. Observations
are float32 arrays [N, *obs_shape] (a row the env returns in another shape
with the same number of values is reshaped), rewards float64 [N] (finite),
the flags bool [N]. The arrays are reused: step() and reset() overwrite
them, so copy what must outlive the next call.

Errors: an env that raises, returns a non-finite reward, a result that is not
the Gymnasium 5-tuple, or an observation of another size raises
EnvBatchError naming the column and what it did; the batch is then unusable.
Actions are passed to env.step as given (actions[i]); validating them is the
caller's job (proxima_env_server.py checks dtype, shape, range and
finiteness before stepping).

Per step this costs one env.step call plus a row copy per column; nothing
else is done in Python per column.
"""

import numpy as np


class EnvBatchError(Exception):
    """A column's env failed; `column` is its index."""

    def __init__(self, column, message):
        super().__init__("column %d: %s" % (column, message))
        self.column = column


class EnvBatch:
    def __init__(self, envs, obs_shape, max_episode_steps=0):
        if not envs:
            raise ValueError("EnvBatch needs at least one env")
        self.envs = list(envs)
        self.num_envs = len(self.envs)
        self.obs_shape = tuple(int(d) for d in obs_shape)
        self.max_steps = int(max_episode_steps or 0)
        n = self.num_envs
        self.obs = np.zeros((n,) + self.obs_shape, dtype="<f4")
        self.rewards = np.zeros(n, dtype="<f8")
        self.terminated = np.zeros(n, dtype=np.bool_)
        self.truncated = np.zeros(n, dtype=np.bool_)
        self._finals = np.zeros((n,) + self.obs_shape, dtype="<f4")
        self._steps = [0] * n
        self._size = int(np.prod(self.obs_shape))

    def _put(self, out, row, obs, i, what):
        try:
            out[row] = obs
        except (ValueError, TypeError):
            try:
                arr = np.asarray(obs, dtype=np.float32)
            except (ValueError, TypeError) as e:
                raise EnvBatchError(i, "%s returned an observation that is not an array of "
                                    "numbers: %s" % (what, e)) from None
            if arr.size != self._size:
                raise EnvBatchError(i, "%s returned an observation of shape %s; the space has "
                                    "shape %s" % (what, arr.shape, self.obs_shape)) from None
            out[row] = arr.reshape(self.obs_shape)

    def _reset(self, i, seed, out):
        env = self.envs[i]
        try:
            result = env.reset() if seed is None else env.reset(seed=seed)
        except Exception as e:  # the env's own failure
            raise EnvBatchError(i, "raised in reset: %s: %s" % (type(e).__name__, e)) from e
        if not (isinstance(result, tuple) and len(result) == 2):
            raise EnvBatchError(i, "reset must return (obs, info) (Gymnasium API)")
        self._steps[i] = 0
        self._put(out, i, result[0], i, "reset")

    def reset(self, seed=None):
        """Resets every column (column i with seed + i if a seed is given)."""
        for i in range(self.num_envs):
            self._reset(i, None if seed is None else int(seed) + i, self.obs)
        return self.obs

    def step(self, actions):
        """Steps column i with actions[i]; returns (obs, rewards, terminated,
        truncated, final_obs) as described in the module comment."""
        obs, rewards, terminated, truncated = self.obs, self.rewards, self.terminated, self.truncated
        steps, max_steps = self._steps, self.max_steps
        ended = 0
        finals = self._finals
        for i, env in enumerate(self.envs):
            try:
                result = env.step(actions[i])
            except Exception as e:
                raise EnvBatchError(i, "raised in step: %s: %s" % (type(e).__name__, e)) from e
            try:
                o, r, te, tr, _ = result
                rewards[i] = r
            except (TypeError, ValueError):
                raise EnvBatchError(i, "step must return (obs, reward, terminated, truncated, info)"
                                    " with a numeric reward (Gymnasium API; the old Gym API "
                                    "returns 4 values)") from None
            steps[i] += 1
            tr = bool(tr) or (max_steps > 0 and steps[i] >= max_steps)
            te = bool(te)
            terminated[i] = te
            truncated[i] = tr
            if te or tr:
                self._put(finals, ended, o, i, "step")
                ended += 1
                self._reset(i, None, obs)
            else:
                self._put(obs, i, o, i, "step")
        if not np.isfinite(rewards).all():
            i = int(np.flatnonzero(~np.isfinite(rewards))[0])
            raise EnvBatchError(i, "returned reward %r" % float(rewards[i]))
        return obs, rewards, terminated, truncated, finals[:ended]

    def close(self):
        """Calls close() on every env that has one; returns the first error."""
        error = None
        for env in self.envs:
            close = getattr(env, "close", None)
            if callable(close):
                try:
                    close()
                except Exception as e:  # keep closing the others
                    error = error or e
        return error


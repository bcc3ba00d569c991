"""CartPole-v1 and Pendulum-v1 in pure Python, served to the remote-env tests.

The dynamics, constants and time limits are Gymnasium's classic_control ones
(the same facts common/envs/cartpole.cc and pendulum.cc implement), written
with Python floats (IEEE doubles, like the C++ state) and math's libm calls,
so a trajectory from the same state and actions matches the C++ envs to the
last float32 bit. The spaces are plain stand-ins for Gymnasium's Discrete and
Box (gymnasium itself is not needed).

Test-only option: initial_state=(...) makes every reset start there (after
drawing from the RNG as usual), so a test can line a remote episode up with
a local env's SetState().
"""

import math

import numpy as np


class Discrete:
    def __init__(self, n):
        self.n = n
        self.start = 0


class Box:
    def __init__(self, low, high):
        self.low = np.asarray(low, dtype=np.float32)
        self.high = np.asarray(high, dtype=np.float32)
        self.shape = self.low.shape
        self.dtype = np.float32


class CartPole:
    id = "CartPole-v1"
    max_episode_steps = 500
    reward_threshold = 475.0

    gravity = 9.8
    masscart = 1.0
    masspole = 0.1
    total_mass = masspole + masscart
    length = 0.5  # half the pole's length
    polemass_length = masspole * length
    force_mag = 10.0
    tau = 0.02
    theta_threshold_radians = 12 * 2 * math.pi / 360
    x_threshold = 2.4

    def __init__(self, initial_state=None):
        high = np.array([self.x_threshold * 2, np.finfo(np.float32).max,
                         self.theta_threshold_radians * 2, np.finfo(np.float32).max],
                        dtype=np.float32)
        self.observation_space = Box(-high, high)
        self.action_space = Discrete(2)
        self._initial = None if initial_state is None else [float(v) for v in initial_state]
        if self._initial is not None and len(self._initial) != 4:
            raise ValueError("initial_state needs 4 values")
        self._rng = np.random.default_rng()
        self.state = None
        self._terminated_before = False
        self.closed = False

    def reset(self, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        drawn = [float(v) for v in self._rng.uniform(-0.05, 0.05, size=4)]
        self.state = list(self._initial) if self._initial is not None else drawn
        self._terminated_before = False
        return np.array(self.state, dtype=np.float32), {}

    def step(self, action):
        assert action in (0, 1), action
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if action == 1 else -self.force_mag
        costheta = math.cos(theta)
        sintheta = math.sin(theta)
        temp = (force + self.polemass_length * theta_dot**2 * sintheta) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * costheta**2 / self.total_mass))
        xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass
        x = x + self.tau * x_dot
        x_dot = x_dot + self.tau * xacc
        theta = theta + self.tau * theta_dot
        theta_dot = theta_dot + self.tau * thetaacc
        self.state = [x, x_dot, theta, theta_dot]
        terminated = bool(x < -self.x_threshold or x > self.x_threshold or
                          theta < -self.theta_threshold_radians or
                          theta > self.theta_threshold_radians)
        if not terminated:
            reward = 1.0
        elif not self._terminated_before:
            reward = 1.0
            self._terminated_before = True
        else:
            reward = 0.0
        # The time limit (500) is applied by the server from max_episode_steps.
        return np.array(self.state, dtype=np.float32), reward, terminated, False, {}

    def close(self):
        self.closed = True


def _angle_normalize(x):
    return ((x + math.pi) % (2 * math.pi)) - math.pi


class Pendulum:
    id = "Pendulum-v1"
    max_episode_steps = 200

    max_speed = 8.0
    max_torque = 2.0
    dt = 0.05
    g = 10.0
    m = 1.0
    l = 1.0  # noqa: E741  (Gymnasium's name)

    def __init__(self, initial_state=None):
        high = np.array([1.0, 1.0, self.max_speed], dtype=np.float32)
        self.observation_space = Box(-high, high)
        self.action_space = Box([-self.max_torque], [self.max_torque])
        self._initial = None if initial_state is None else [float(v) for v in initial_state]
        self._rng = np.random.default_rng()
        self.state = None

    def _obs(self):
        th, thdot = self.state
        return np.array([math.cos(th), math.sin(th), thdot], dtype=np.float32)

    def reset(self, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        drawn = [float(self._rng.uniform(-math.pi, math.pi)), float(self._rng.uniform(-1.0, 1.0))]
        self.state = list(self._initial) if self._initial is not None else drawn
        return self._obs(), {}

    def step(self, action):
        th, thdot = self.state
        u = min(max(float(np.asarray(action).reshape(-1)[0]), -self.max_torque), self.max_torque)
        costs = _angle_normalize(th) ** 2 + 0.1 * thdot**2 + 0.001 * (u**2)
        newthdot = thdot + (3 * self.g / (2 * self.l) * math.sin(th) +
                            3.0 / (self.m * self.l**2) * u) * self.dt
        newthdot = min(max(newthdot, -self.max_speed), self.max_speed)
        newth = th + newthdot * self.dt
        self.state = [newth, newthdot]
        return self._obs(), -costs, False, False, {}


class Broken:
    """An env whose step raises after `fail_after` steps (error-path tests)."""

    id = "Broken-v0"
    max_episode_steps = 0

    def __init__(self, fail_after=3):
        self.observation_space = Box([-1.0], [1.0])
        self.action_space = Discrete(2)
        self.fail_after = int(fail_after)
        self.t = 0

    def reset(self, seed=None, options=None):
        self.t = 0
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        if self.t > self.fail_after:
            raise RuntimeError("the simulator crashed at step %d" % self.t)
        return np.zeros(1, dtype=np.float32), 0.5, False, False, {}


class NoOp:
    """The cheapest env: a constant observation, no arithmetic (measures what
    the server and the protocol cost per step). Episodes last 50 steps (the
    server's time limit)."""

    id = "NoOp-v0"
    max_episode_steps = 50

    def __init__(self):
        self.observation_space = Box([-1.0] * 4, [1.0] * 4)
        self.action_space = Discrete(2)
        self._obs = np.zeros(4, dtype=np.float32)

    def reset(self, seed=None, options=None):
        return self._obs, {}

    def step(self, action):
        return self._obs, 0.0, False, False, {}


def make_cartpole(**options):
    return CartPole(**options)


def make_pendulum(**options):
    return Pendulum(**options)


def make_broken(**options):
    return Broken(**options)


def make_noop(**options):
    return NoOp(**options)
